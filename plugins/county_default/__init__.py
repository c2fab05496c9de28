"""The default rule pack: the county supervision plan (县政务督查督办工作方案).

Registered through the ``duban.rulepacks`` entry point in pyproject.toml, exactly as a vendor's
pack is. The rules are data (``pack.py``); the readings this pack commits to are in README.md.
"""

from __future__ import annotations

from plugins.county_default.pack import NAME, PACK, VERSION
from plugins.hookspecs import hookimpl

__all__ = ["NAME", "PACK", "VERSION", "duban_rulepacks"]


@hookimpl
def duban_rulepacks() -> list[dict]:
    return [PACK]
