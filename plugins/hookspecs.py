"""Hook specifications of Duban rule packs (project name ``duban``). Markers and specs only."""

from __future__ import annotations

import pluggy

PROJECT = "duban"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def duban_rulepacks() -> list:
    """Declare the rule packs this plugin provides.

    :return: a list of :class:`plugins.pack.RulePack` (usually one).
    """
