"""The layout promises of architecture.md."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_platform_folder_is_not_a_package():
    assert (REPO / "platform" / "duban" / "__init__.py").is_file()
    assert not (REPO / "platform" / "__init__.py").exists()


def test_import_platform_from_repository_root_is_the_standard_library():
    # '' first on sys.path, as for `python -c` run from the repository root.
    out = subprocess.run(
        [sys.executable, "-c", "import platform, sys; print(platform.__file__); print(platform.python_version())"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert "site-packages" not in out[0] and out[0].endswith("platform.py")
    assert not out[0].startswith(str(REPO / "platform"))
    assert out[1] == ".".join(map(str, sys.version_info[:3]))


def test_packages_import_from_their_roots():
    import api
    import duban
    import plugins
    import tenants

    assert duban.__file__.endswith("platform/duban/__init__.py")
    for module in (tenants, api, plugins):
        assert module.__file__.startswith(str(REPO))


def test_duban_console_script_and_manage_py_are_the_same_cli():
    duban_script = str(Path(sys.executable).parent / "duban")
    for argv in ([duban_script, "help", "migrate_schemas"], [sys.executable, "manage.py", "help", "county"]):
        result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout


def test_nothing_points_at_files_a_clone_does_not_have():
    """The project's own docs live in docs/: the source plan, the domain and the architecture.
    A path into the steering folder (shared/…) would be a dead link in every clone."""
    import re

    dead = re.compile(r"(?:\.\./)?shared/(?:docs|seed|hooks)\b")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix not in {".md", ".py", ".toml", ".yaml", ".yml", ".html", ".txt", ".cfg", ""} or not path.is_file():
            continue
        if name == "tests/test_layout.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if dead.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "point at docs/ instead:\n" + "\n".join(offenders)
    for doc in ("docs/county-supervision-plan.zh.md", "docs/domain.md", "docs/architecture.md"):
        assert (REPO / doc).is_file(), doc
