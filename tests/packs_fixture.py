"""Installing the test rule-pack distributions with pip (into a folder put on sys.path)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

PACKS = Path(__file__).resolve().parent / "packs"


def pip_install(target: Path, *distributions: str) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), *(str(PACKS / d) for d in distributions)],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip install of {distributions} failed:\n{result.stdout}\n{result.stderr}")
    return target


@contextlib.contextmanager
def on_path(*folders: Path):
    """Make pip-installed distributions importable and discoverable, then forget them."""
    from plugins import manager

    for folder in folders:
        sys.path.insert(0, str(folder))
    manager.reset()
    try:
        yield manager.get_registry()
    finally:
        for folder in folders:
            sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.startswith(("duban_pack_strict", "duban_broken_packs"))]:
            del sys.modules[name]
        manager.reset()
