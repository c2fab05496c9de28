"""Built-in behaviour of the hooks: reads the pack's data. Registered ``trylast`` so that a
pack's own code hooks, where it has any, run first."""

from __future__ import annotations

from datetime import date

import pluggy

from plugins.events import Deduction, ScoringEvent
from plugins.hookspecs import hookimpl
from plugins.pack import RulePack, Tier


class Builtin:
    """The built-in hooks of one plugin manager (``plugins.manager`` registers one in each it
    builds). A deduction asks that manager for its assessment year, so a pack's own
    ``duban_assessment_year`` decides the year, as it does everywhere else."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    @hookimpl(trylast=True)
    def duban_assessment_year(self, pack: RulePack, day: date) -> int:
        return pack.schedule.assessment_year(day)

    @hookimpl(trylast=True)
    def duban_compute_deductions(self, pack: RulePack, event: ScoringEvent, history: list[ScoringEvent]) -> list[Deduction]:
        rule = pack.schedule.rule(event.code)
        if rule is None or rule.amount == 0:
            return []
        if rule.counting == "per_occurrence":
            due = True
        else:
            ordinal = 1 + sum(1 for earlier in history if earlier.code == event.code and earlier.matter == event.matter)
            if rule.counting == "once_per_matter_over_threshold":
                due = ordinal == rule.threshold + 1
            else:  # per_occurrence_over_threshold
                due = ordinal > rule.threshold
        if not due:
            return []
        year = self.pm.hook.duban_assessment_year(pack=pack, day=event.occurred_on)
        unit = event.lead_unit if rule.bearer == "lead_unit" and event.lead_unit else event.unit
        return [Deduction(unit=unit, year=year, amount=rule.amount, event_code=event.code, rule_code=rule.code,
                          pack=pack.name, version=pack.version, matter=event.matter, ref=event.ref,
                          reason=f"{rule.label.zh}（{rule.clause}）" if rule.clause else rule.label.zh)]

    @hookimpl(trylast=True)
    def duban_next_tier(self, pack: RulePack, recorded: list[str]) -> Tier | None:
        known = [pack.tier_index(code) for code in recorded if pack.tier(code) is not None]
        if not known:  # nothing recorded, or only tiers this pack does not have (an older pack)
            return pack.tiers[0]
        highest = max(known)
        return pack.tiers[highest + 1] if highest + 1 < len(pack.tiers) else None

    @hookimpl
    def duban_notification_channels(self, pack: RulePack) -> list:
        return []

    @hookimpl
    def duban_document_context(self, pack: RulePack, document: str, context: dict) -> dict:
        text = pack.document(document)
        return {"document_text": text} if text else {}
