"""What a rule pack declares (its metadata, for now; the rules follow in the rule-pack issue)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    title_zh: str
    title_en: str
    vendor: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)
