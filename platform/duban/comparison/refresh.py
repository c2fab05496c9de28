"""Refreshing a county's snapshots: load its records once (a handful of queries in its schema),
compute every month, quarter and year from its first assigned matter (at most
``HISTORY_YEARS`` back) to today, and upsert the rows in the public schema."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from duban.audit.models import AuditEvent
from duban.comparison import metrics, periods
from duban.comparison.models import CityComparisonSettings, CountySnapshot
from duban.core import clock
from duban.core.connections import bounded
from duban.core.county import county_calendar
from duban.matters.models import Feedback, Matter, ResultReport, Review
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.supervision.rescoring import events_for, replay_as_ledger
from duban.units.models import Unit
from plugins.manager import PackUnavailable, get_pack, pack_for_county
from tenants.models import County

logger = logging.getLogger(__name__)
HISTORY_YEARS = 5


def _local_date(value) -> date | None:
    return timezone.localtime(value).date() if value else None


def reference_pack_for(city_id: int):
    """(pack, "name==version") of the city's reference pack, or (None, "") when none is chosen
    or the chosen one is not installed."""
    chosen = CityComparisonSettings.objects.filter(city_id=city_id).first()
    if chosen is None:
        return None, ""
    try:
        return get_pack(chosen.reference_pack_name, chosen.reference_pack_version), chosen.reference_pack
    except PackUnavailable as exc:
        logger.warning("comparison: reference pack of city %s unavailable: %s", city_id, exc)
        return None, ""


def load(county, today: date, reference_pack) -> tuple[metrics.CountyData, int]:
    """The county's records the metrics need, and its last audit event id (call in public)."""
    own_pack = pack_for_county(county)
    with tenant_context(county):
        max_event = AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0
        matters = [metrics.MatterRow(id=m["id"], category=m["category"], state=m["state"],
                                     assigned_on=m["assigned_on"], deadline=m["deadline"],
                                     closed_on=_local_date(m["closed_at"]),
                                     feedback_every=m["feedback_every_working_days"])
                   for m in Matter.objects.exclude(assigned_on=None).values(
                       "id", "category", "state", "assigned_on", "deadline", "closed_at",
                       "feedback_every_working_days")]
        steps = list(EscalationStep.objects.filter(status=EscalationStep.Status.RECORDED, recorded_on__isnull=False)
                     .values_list("tier", "recorded_on"))
        reviews = [(d, _local_date(at)) for d, at in Review.objects.values_list("decision", "reviewed_at")]
        feedback: dict[int, list[date]] = defaultdict(list)
        for matter_id, at in Feedback.objects.order_by("given_at", "id").values_list("matter_id", "given_at"):
            feedback[matter_id].append(_local_date(at))
        reports: dict[int, list] = defaultdict(list)
        for matter_id, at, reviewed in (ResultReport.objects.order_by("attempt")
                                        .values_list("matter_id", "reported_at", "review__reviewed_at")):
            reports[matter_id].append((_local_date(at), _local_date(reviewed)))
        units = list(Unit.objects.filter(is_active=True).order_by("code").values_list("code", flat=True))
        own = [(u, y, on, amount) for u, y, on, amount in
               LedgerEntry.objects.values_list("unit__code", "year", "occurred_on", "amount")]
        reference = []
        if reference_pack is not None:
            # The what-if rescoring of the supervision issue: the county's scoring events rebuilt
            # from its source records and replayed through the reference pack.
            events = events_for(reference_pack)
            when = {e.ref: e.occurred_on for e in events}
            result = replay_as_ledger(reference_pack, events)
            reference = [(d.unit, d.year, when.get(d.ref, date(d.year, 12, 31)), d.amount) for d in result.deductions]
        calendar = county_calendar()
    data = metrics.CountyData(
        today=today, matters=matters, steps=steps, reviews=reviews, feedback=dict(feedback), reports=dict(reports),
        units=units, own_pack=own_pack, own_deductions=own, reference_pack=reference_pack,
        reference_deductions=reference, tier_codes=[t.code for t in own_pack.tiers], calendar=calendar)
    return data, max_event


def refresh_county(county, *, kind: str = "full", today: date | None = None, reference=None) -> int:
    """Recompute and store every snapshot of ``county``; returns the number of rows written.

    ``reference``: (pack, label) if the caller already resolved the city's reference pack."""
    today = today or clock.today()
    with schema_context("public"):
        pack, pack_label = reference if reference is not None else reference_pack_for(county.city_id)
    data, max_event = load(county, today, pack)
    first = min([m.assigned_on for m in data.matters] + [today])
    first = max(first, date(today.year - HISTORY_YEARS, 1, 1))
    now = timezone.now()
    own_label = f"{county.rulepack_name}=={county.rulepack_version}"
    rows = []
    for period_kind in periods.KINDS:
        for start, end in periods.periods_between(period_kind, first, today):
            values, own, ref = metrics.compute(data, period_kind, start, end)
            rows.append(CountySnapshot(
                county_id=county.pk, period_kind=period_kind, period_start=start, period_end=end,
                as_of=min(end, today), metrics=values, own_pack=own_label, own_pack_scores=own,
                reference_pack=pack_label, reference_pack_scores=ref, refresh_kind=kind, refreshed_at=now,
                source_max_event_id=max_event))
    with schema_context("public"), transaction.atomic():
        CountySnapshot.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["county", "period_kind", "period_start"],
            update_fields=["period_end", "as_of", "metrics", "own_pack", "own_pack_scores", "reference_pack",
                           "reference_pack_scores", "refresh_kind", "refreshed_at", "source_max_event_id"])
    return len(rows)


def refresh_all(counties=None, *, kind: str = "full", today: date | None = None, progress=None) -> tuple[int, float]:
    """Refresh every (or the given) active county in this process: (rows, seconds)."""
    connection.set_schema_to_public()
    started = time.perf_counter()
    if counties is None:
        counties = list(County.objects.filter(status=County.Status.ACTIVE).order_by("slug"))
    references: dict[int, tuple] = {}
    written = 0
    for county in bounded(counties):
        if county.city_id not in references:
            references[county.city_id] = reference_pack_for(county.city_id)
        written += refresh_county(county, kind=kind, today=today, reference=references[county.city_id])
        if progress:
            progress(county)
    connection.set_schema_to_public()
    return written, time.perf_counter() - started
