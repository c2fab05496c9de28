"""What-if rescoring: a county's year scored under another rule pack, writing nothing.

The ledger holds what the county's own pack deducted. To ask "what would our units have scored
under pack X?", the scoring events are rebuilt from the source records — not from the ledger,
whose amounts and event codes are the own pack's — and replayed through X:

* every recorded ladder step: its tier code is looked up in X; X's tier of the same code posts
  its ``deduction_event`` (a tier X does not have, or one that deducts nothing there, costs
  nothing);
* every redo: each review that sent a result back (``Review`` with decision ``redo``), in
  order per matter, is a ``redo`` event on the review's date for the matter's lead unit;
* every criticism in a published circular.

Causes whose ledger entries were reversed (corrected as wrong) are left out, for the unit the
reversal concerned. The assessment year of each event is X's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from duban.matters.models import MatterUnit, Review
from duban.scoring.engine import replay
from duban.supervision import ledger
from duban.supervision.circulars import CRITICISM_EVENT, NAMED_EVENT
from duban.supervision.models import Circular, EscalationStep, LedgerEntry
from duban.units.models import Unit
from plugins.events import ScoringEvent
from plugins.pack import RulePack


@dataclass(frozen=True)
class RescoreRow:
    code: str
    name: str
    own: Decimal  # under the county's own pack (the ledger)
    other: Decimal  # under the other pack
    difference: Decimal  # other − own


def _reversed_causes() -> set[tuple[str, str]]:
    return set(LedgerEntry.objects.filter(reversed_by__isnull=False).values_list("ref", "unit__code"))


def _leads() -> dict[int, str]:
    return dict(MatterUnit.objects.filter(role=MatterUnit.Role.LEAD).values_list("matter_id", "unit__code"))


def events_for(other_pack: RulePack) -> list[ScoringEvent]:
    """The county's scoring events as ``other_pack`` would see them (all years)."""
    leads = _leads()
    events: list[ScoringEvent] = []
    for step in (EscalationStep.objects.filter(status=EscalationStep.Status.RECORDED, recorded_on__isnull=False)
                 .select_related("matter", "unit").order_by("recorded_on", "id")):
        tier = other_pack.tier(step.tier)
        if tier is None or not tier.deduction_event:
            continue
        events.append(ScoringEvent(code=tier.deduction_event, unit=step.unit.code, occurred_on=step.recorded_on,
                                   matter=step.matter.number, lead_unit=leads.get(step.matter_id, step.unit.code),
                                   ref=f"step:{step.pk}"))
    counts: dict[int, int] = {}
    for review in (Review.objects.filter(decision=Review.Decision.REDO).select_related("report__matter")
                   .order_by("report__matter_id", "pk")):
        matter = review.report.matter
        lead = leads.get(matter.pk)
        if lead is None:
            continue
        counts[matter.pk] = counts.get(matter.pk, 0) + 1
        # The same causes the ledger posts (ledger.record_redo): redo:<matter>:<nth redo>, one per
        # unit the send-back charged.
        for unit in ledger.charged_units(review, lead):
            events.append(ScoringEvent(code="redo", unit=unit, lead_unit=lead,
                                       occurred_on=timezone.localtime(review.reviewed_at).date(),
                                       matter=matter.number, ref=f"redo:{matter.pk}:{counts[matter.pk]}"))
    for circular in (Circular.objects.filter(status=Circular.Status.PUBLISHED, published_on__isnull=False)
                     .prefetch_related("criticised", "named").order_by("published_on", "id")):
        # County-wide criticism (六(七)) and naming for criticism (五(三)), which another pack may price.
        # The same causes actions.do_publish_circular posts.
        for code, units, ref in ((CRITICISM_EVENT, circular.criticised.all(), f"circular:{circular.pk}"),
                                 (NAMED_EVENT, circular.named.all(), f"circular:{circular.pk}:named")):
            for unit in sorted(units, key=lambda u: u.code):
                events.append(ScoringEvent(code=code, unit=unit.code, lead_unit=unit.code,
                                           occurred_on=circular.published_on, matter=None, ref=ref))
    reversed_causes = _reversed_causes()
    return [e for e in events if (e.ref, e.unit) not in reversed_causes]


def ledger_history(event: ScoringEvent):
    """What the ledger counts an event against, so that a replay through the county's own pack
    posts what the ledger posted: a redo against the earlier redos of the same matter that
    charged the same unit (ledger.record_redo, 六(五) counted per unit charged), anything else
    against its matter's earlier events (ledger.matter_history)."""
    return (event.matter, event.unit) if event.code == "redo" else event.matter


def replay_as_ledger(other_pack: RulePack, events: list[ScoringEvent], **kwargs):
    """``scoring.engine.replay`` counting as the ledger counts (``ledger_history``)."""
    return replay(other_pack, events, history_key=ledger_history, **kwargs)


def rescore(year: int, other_pack: RulePack) -> list[RescoreRow]:
    """Every active unit's ``year`` score under the county's pack and under ``other_pack``."""
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    codes = [u.code for u in units]
    result = replay_as_ledger(other_pack, events_for(other_pack), units=codes, years=[year])
    own = {unit.code: value for unit, value in ledger.unit_scores(year).items()}
    rows = []
    for unit in units:
        mine = own.get(unit.code, Decimal(0))
        theirs = result.scores.get((unit.code, year), other_pack.schedule.base)
        rows.append(RescoreRow(code=unit.code, name=unit.name, own=mine, other=theirs, difference=theirs - mine))
    return rows
