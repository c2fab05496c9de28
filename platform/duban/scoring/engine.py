"""The scoring engine, free of storage: events in, deductions and scores out.

The points ledger (persisted, append-only) is built on this; `duban rulepack check` and the
what-if rescoring replay events through it without writing anything. Every number comes from
the pack: base, floor, amounts, counting modes, bearer and assessment year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal

from plugins.events import Deduction, ScenarioResult, ScoringEvent
from plugins.manager import active_plugin_manager
from plugins.pack import RulePack


def _hook():
    return active_plugin_manager().hook


def compute_deductions(pack: RulePack, event: ScoringEvent, history: list[ScoringEvent]) -> list[Deduction]:
    """The deductions ``event`` causes under ``pack``, given its matter's earlier events."""
    result = _hook().duban_compute_deductions(pack=pack, event=event, history=list(history))
    return list(result or [])


def score(pack: RulePack, amounts: Iterable[Decimal]) -> Decimal:
    """base − the sum of deductions, never below the floor (the floor applies to the sum)."""
    total = sum(amounts, Decimal(0))
    return max(pack.schedule.floor, pack.schedule.base - total)


def by_matter(event: ScoringEvent) -> Hashable:
    """The earlier events an event is counted against: its matter's (the default)."""
    return event.matter


def replay(pack: RulePack, events: Iterable[ScoringEvent], *, units: Iterable[str] = (),
           years: Iterable[int] = (), history_key: Callable[[ScoringEvent], Hashable] = by_matter) -> ScenarioResult:
    """Score ``events`` in date order. Units and years named in ``units``/``years`` appear in
    the result even with no deductions (a unit never supervised keeps the base score).
    ``history_key`` groups the events whose earlier ones make an event's history (threshold
    counting): by matter unless the caller counts as its ledger does (``supervision.rescoring``)."""
    ordered = sorted(events, key=lambda e: (e.occurred_on, e.ref))
    history: dict[Hashable, list[ScoringEvent]] = defaultdict(list)
    deductions: list[Deduction] = []
    for event in ordered:
        key = history_key(event)
        deductions.extend(compute_deductions(pack, event, history[key]))
        history[key].append(event)
    by_unit_year: dict[tuple[str, int], list[Decimal]] = defaultdict(list)
    for year in years:
        for unit in units:
            by_unit_year[(unit, year)]
    for deduction in deductions:
        by_unit_year[(deduction.unit, deduction.year)].append(deduction.amount)
    scores = {key: score(pack, amounts) for key, amounts in by_unit_year.items()}
    return ScenarioResult(deductions=deductions, scores=scores)
