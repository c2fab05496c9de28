"""The points ledger: posting deductions by the county's pack, reversals, scores, statements.

A unit's score for a year = base − the sum of its entries, never below the floor (both from the
pack); a unit never supervised keeps the base. Entries are facts: after the floor they are
still recorded, they just change nothing; a wrong one is reversed, never edited or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from duban.audit import log as audit
from duban.core.county import county_pack
from duban.matters.models import Review
from duban.scoring.engine import compute_deductions, score
from duban.supervision.models import LedgerEntry
from duban.units.models import Unit
from plugins.events import ScoringEvent


def matter_history(matter, event: ScoringEvent) -> list[ScoringEvent]:
    """Earlier scoring events of the same matter, rebuilt from the ledger's posted causes."""
    if matter is None:
        return []
    earlier = (LedgerEntry.objects.filter(matter=matter, reverses__isnull=True, reversed_by__isnull=True)
               .exclude(ref=event.ref).order_by("occurred_on", "id"))
    seen, history = set(), []
    for entry in earlier:
        if entry.ref in seen:
            continue
        seen.add(entry.ref)
        history.append(ScoringEvent(code=entry.event_code, unit=entry.unit.code, occurred_on=entry.occurred_on,
                                    matter=matter.number, ref=entry.ref))
    return history


def post(event: ScoringEvent, *, actor, matter=None, step=None, circular=None,
         history: list[ScoringEvent] | None = None) -> list[LedgerEntry]:
    """Post the deductions ``event`` causes under the county's pack. Idempotent on the cause
    (``event.ref``): posting the same cause twice adds nothing."""
    pack = county_pack()
    if history is None:
        history = matter_history(matter, event)
    entries = []
    for deduction in compute_deductions(pack, event, history):
        unit = Unit.objects.get(code=deduction.unit)
        try:
            with transaction.atomic():
                entry = LedgerEntry.objects.create(
                    unit=unit, year=deduction.year, occurred_on=event.occurred_on, amount=deduction.amount,
                    event_code=deduction.event_code, rule_code=deduction.rule_code, pack_name=deduction.pack,
                    pack_version=deduction.version, reason=deduction.reason[:300], ref=deduction.ref or event.ref,
                    matter=matter, step=step, circular=circular, created_by=actor if hasattr(actor, "_meta") else None)
        except IntegrityError:
            continue  # already posted (a re-delivered task, a second sweep)
        audit.record(actor=actor, action="ledger.post", obj=entry, after={
            "unit": unit.code, "year": entry.year, "amount": entry.amount,
            "rule": f"{entry.pack_name}=={entry.pack_version}:{entry.rule_code}",
            "ref": entry.ref})
        entries.append(entry)
    return entries


def record_redo(matter, review, *, actor, on) -> list[LedgerEntry]:
    """A matter was sent back for redo: the pack's redo rule decides whether it costs points, and
    whom — each unit the send-back names (``review.charged_units``, the lead unit by default),
    counted against that unit's earlier redos of this matter."""
    events, lead = redo_events(matter, review, on=on)
    entries = []
    for event in events:
        # The redo history is the unit's earlier redos of the matter (one per send-back naming it).
        history = [ScoringEvent(code="redo", unit=event.unit, occurred_on=on, matter=matter.number,
                                ref=f"redo:{matter.pk}:{n}") for n in _earlier_redos(matter, review, event.unit, lead)]
        entries += post(event, actor=actor, matter=matter, history=history)
    return entries


def charged_units(review, lead: str) -> list[str]:
    """The units a send-back charges: those it names, or the lead unit (send-backs before units
    were named charged the lead)."""
    return list(review.charged_units or [lead])


def redo_events(matter, review, *, on) -> tuple[list[ScoringEvent], str]:
    """The redo events of one send-back (``review``), the ``n``-th of the matter, one per unit charged."""
    lead = matter.units.filter(role="lead").values_list("unit__code", flat=True).first()
    nth = Review.objects.filter(report__matter=matter, decision=Review.Decision.REDO, pk__lte=review.pk).count()
    return [ScoringEvent(code="redo", unit=code, lead_unit=lead, occurred_on=on, matter=matter.number,
                         ref=f"redo:{matter.pk}:{nth}") for code in charged_units(review, lead)], lead


def _earlier_redos(matter, review, unit: str, lead: str) -> list[int]:
    earlier = Review.objects.filter(report__matter=matter, decision=Review.Decision.REDO, pk__lt=review.pk).order_by("pk")
    return [n for n, r in enumerate(earlier, start=1) if unit in charged_units(r, lead)]


def unit_scores(year: int) -> dict[Unit, Decimal]:
    """Every active unit's score for ``year`` (base for units never supervised), and any
    inactive unit that has entries that year."""
    pack = county_pack()
    totals = dict(LedgerEntry.objects.filter(year=year).values_list("unit").annotate(total=Sum("amount"))
                  .values_list("unit", "total"))
    units = Unit.objects.filter(Q(is_active=True) | Q(pk__in=list(totals))).order_by("kind", "code")
    return {unit: score(pack, [totals.get(unit.pk) or Decimal(0)]) for unit in units}


@dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    total_deducted: Decimal
    score: Decimal


def statement(unit: Unit, year: int) -> tuple[Decimal, list[StatementLine], Decimal]:
    """(base, lines with running totals, final score): the whole explanation of a score."""
    pack = county_pack()
    lines, running = [], Decimal(0)
    for entry in (LedgerEntry.objects.filter(unit=unit, year=year)
                  .select_related("matter", "step").order_by("occurred_on", "id")):
        running += entry.amount
        lines.append(StatementLine(entry, running, score(pack, [running])))
    return pack.schedule.base, lines, score(pack, [running])
