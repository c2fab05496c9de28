"""The default rule pack: the county supervision plan (县政务督查督办工作方案).

Registered through the ``duban.rulepacks`` entry point in pyproject.toml, exactly as a
vendor's pack would be.
"""

from __future__ import annotations

from plugins.hookspecs import hookimpl
from plugins.pack import RulePack

NAME = "county_default"
VERSION = "1.0.0"


@hookimpl
def duban_rulepacks() -> list[RulePack]:
    return [RulePack(
        name=NAME,
        version=VERSION,
        title_zh="县政务督查督办工作方案（默认）",
        title_en="County supervision plan (default)",
        vendor="Duban",
        description="The seed document's rules: scope, escalation ladder, deduction schedule.",
    )]
