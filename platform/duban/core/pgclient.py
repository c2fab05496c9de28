"""The PostgreSQL client programs (``pg_dump``, ``pg_restore``) that match the server.

A dump taken by an older ``pg_dump`` is refused by the server ("aborting because of server
version mismatch"), and a newer ``pg_restore`` sends settings an older server does not know. So
the programs are chosen by the server's major version, from these folders in order:

1. ``DUBAN_PG_BIN`` (a folder holding the programs), if set;
2. the embedded server's own programs (the ``pgserver`` package that ``make demo`` and
   ``make test`` start when no ``DATABASE_URL`` is given);
3. Debian's ``/usr/lib/postgresql/<major>/bin`` (``postgresql-client-<major>``);
4. the ``PATH``.

The first program whose major version equals the server's is used; when none does, the error
names the version needed and lists what was found.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DEBIAN_ROOT = Path("/usr/lib/postgresql")


class ClientNotFound(Exception):
    """No client program of the server's major version is installed."""


@dataclass(frozen=True)
class Client:
    path: str
    major: int


def _embedded_bin() -> Path | None:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def candidate_folders() -> list[Path]:
    folders: list[Path] = []
    configured = getattr(settings, "DUBAN_PG_BIN", None)
    if configured:
        folders.append(Path(configured))
    embedded = _embedded_bin()
    if embedded is not None:
        folders.append(embedded)
    if DEBIAN_ROOT.is_dir():
        majors = sorted((p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
        folders += [p / "bin" for p in majors]
    return folders


@functools.cache
def _major_of(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=30).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out) or re.search(r"\b(\d+)(?:\.\d+)", out)
    return int(found.group(1)) if found else None


def candidates(name: str) -> list[Client]:
    """Every ``name`` program found, in the order of preference, with its major version."""
    seen: set[str] = set()
    found: list[Client] = []
    paths = [folder / name for folder in candidate_folders()]
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    for path in paths:
        if not path.is_file() or str(path.resolve()) in seen:
            continue
        seen.add(str(path.resolve()))
        major = _major_of(str(path))
        if major is not None:
            found.append(Client(str(path), major))
    return found


def client_for(name: str, server_major: int) -> Client:
    """The ``name`` program of the server's major version, or :class:`ClientNotFound`."""
    found = candidates(name)
    for client in found:
        if client.major == server_major:
            return client
    seen = "; ".join(f"{c.path} is {c.major}" for c in found) or "none found"
    raise ClientNotFound(
        f"{name} {server_major} is needed for this PostgreSQL {server_major} server ({seen}): install "
        f"postgresql-client-{server_major}, or set DUBAN_PG_BIN to the folder holding {name} {server_major}")
