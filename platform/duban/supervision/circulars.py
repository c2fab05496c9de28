"""Circulars (通报, the seed's 五(三)): how units did on leader-assigned matters in a period.

Supervision staff draft a circular — the system ranks every active unit over the period — and
name the units to praise and to criticise (鼓励先进，批评后进). Nothing goes out before the
office leader has reviewed it (办公室主管领导审核): publishing is theirs alone. Publishing
numbers the circular as an official document and posts, for every criticised unit, the pack's
"county-wide criticism" deduction (六(七)) to the points ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import transaction
from django.utils import timezone

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.matters import access
from duban.matters.actions import MatterError, county_pack, next_notice_number
from duban.matters.models import MatterUnit, Notice, Review
from duban.matters.states import NotAllowed, State
from duban.supervision import ledger
from duban.supervision.models import Circular, EscalationStep
from duban.supervision.steps import UNDER_WAY
from duban.units.models import Unit
from plugins.events import ScoringEvent

CRITICISM_EVENT = "criticism_circular"  # a core event every pack's schedule declares (全县通报批评, 六(七))
NAMED_EVENT = "named_criticism"  # 点名批评 (五(三)): deducts only if the pack's schedule gives it an amount


# --- the ranking -------------------------------------------------------------------------------
def _rate(on_time: int, assigned: int) -> float | None:
    return round(on_time / assigned, 4) if assigned else None


def ranking(period_start: date, period_end: date, *, on: date | None = None) -> list[dict]:
    """Every active unit's record over the period, best first.

    Per unit (as the lead unit of a matter): the matters assigned to it in the period (cancelled
    ones left out: they were withdrawn, not failed), how many of those are closed, how many
    were closed on time (the local date of closing on or before the deadline), the on-time rate
    (on time ÷ assigned; None when nothing was assigned), the matters overdue ``on`` (today
    by default; all its matters, not only this period's), the ladder steps recorded against it
    in the period by tier, and the results sent back for redo in the period.

    Best first: on-time rate high to low (units with nothing assigned last), then fewer steps,
    fewer overdue matters, the unit code.
    """
    on = on or clock.today()
    tier_order = {tier.code: index for index, tier in enumerate(county_pack().tiers)}
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    leads = (MatterUnit.objects.filter(role=MatterUnit.Role.LEAD, unit__in=units)
             .select_related("matter"))
    in_period = [link for link in leads
                 if link.matter.assigned_on and period_start <= link.matter.assigned_on <= period_end
                 and link.matter.state != State.CANCELLED]
    overdue = Counter(MatterUnit.objects.filter(
        role=MatterUnit.Role.LEAD, unit__in=units, matter__state__in=UNDER_WAY, matter__deadline__lt=on)
        .values_list("unit_id", flat=True))
    steps: dict[int, Counter] = {}
    for unit_id, tier in EscalationStep.objects.filter(
            unit__in=units, status=EscalationStep.Status.RECORDED,
            recorded_on__range=(period_start, period_end)).values_list("unit_id", "tier"):
        steps.setdefault(unit_id, Counter())[tier] += 1
    redos = Counter(Review.objects.filter(
        decision=Review.Decision.REDO, report__unit__in=units,
        reviewed_at__date__range=(period_start, period_end)).values_list("report__unit_id", flat=True))

    rows = []
    for unit in units:
        mine = [link.matter for link in in_period if link.unit_id == unit.pk]
        closed = [m for m in mine if m.state == State.CLOSED]
        on_time = [m for m in closed if m.closed_at and m.deadline
                   and timezone.localtime(m.closed_at).date() <= m.deadline]
        by_tier = steps.get(unit.pk, Counter())
        rows.append({
            "unit": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "assigned": len(mine),
            "completed": len(closed),
            "on_time": len(on_time),
            "on_time_rate": _rate(len(on_time), len(mine)),
            "overdue": overdue.get(unit.pk, 0),
            "steps": dict(sorted(by_tier.items(), key=lambda item: (tier_order.get(item[0], 99), item[0]))),
            "steps_total": sum(by_tier.values()),
            "redos": redos.get(unit.pk, 0),
        })
    rows.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["steps_total"], r["overdue"],
                             r["unit"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


# --- actions -----------------------------------------------------------------------------------
def _staff_only(actor, what: str):
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(f"only supervision staff {what}")


def _locked_circular(circular_id) -> Circular:
    try:
        circular_id = int(circular_id)
    except (TypeError, ValueError):
        raise access.MatterNotFound(f"no circular {circular_id!r}") from None
    circular = Circular.objects.select_for_update().filter(pk=circular_id).first()
    if circular is None:
        raise access.MatterNotFound(f"no circular {circular_id}")
    return circular


def _draft_only(circular: Circular):
    if circular.status != Circular.Status.DRAFT:
        raise MatterError(f"circular {circular.pk} is already {circular.get_status_display()} "
                          f"({circular.notice.number if circular.notice else '—'}); it can no longer change",
                          field="status")


@transaction.atomic
def do_draft_circular(*, actor, title: str, period_start: date, period_end: date) -> Circular:
    """Draft a circular over ``period_start``..``period_end`` with the units' ranking."""
    _staff_only(actor, "draft circulars")
    title = (title or "").strip()
    if not title:
        raise MatterError("title is required", field="title")
    if len(title) > 200:
        raise MatterError("title is longer than 200 characters", field="title")
    if not isinstance(period_start, date):
        raise MatterError("period_start must be a date", field="period_start")
    if not isinstance(period_end, date):
        raise MatterError("period_end must be a date", field="period_end")
    if period_end < period_start:
        raise MatterError(f"the period ends ({period_end}) before it starts ({period_start})", field="period_end")
    if period_start > clock.today():
        raise MatterError(f"the period starts in the future ({period_start})", field="period_start")
    rows = ranking(period_start, period_end)
    circular = Circular.objects.create(title=title, period_start=period_start, period_end=period_end, ranking=rows,
                                       drafted_by=actor)
    audit.record(actor=actor, action="circular.draft", obj=circular, after={
        "title": title, "period_start": period_start, "period_end": period_end,
        "ranking": [row["unit"] for row in rows]})
    return circular


def _codes(codes, field: str) -> list[Unit]:
    if isinstance(codes, str):
        raise MatterError(f"{field} is a list of unit codes", field=field)
    wanted = list(dict.fromkeys((code or "").strip() for code in (codes or [])))
    units = {u.code: u for u in Unit.objects.filter(code__in=wanted, is_active=True)}
    unknown = [code for code in wanted if code not in units]
    if unknown:
        raise MatterError(f"no active unit with code {', '.join(repr(c) for c in unknown)}", field=field)
    return [units[code] for code in wanted]


@transaction.atomic
def do_set_circular_lists(circular_id: int, *, actor, praised: list[str], criticised: list[str],
                          body: str = "", named: list[str] = ()) -> Circular:
    """Name the units praised, criticised county-wide (全县通报批评, deducts) and criticised by
    name (点名批评, no deduction unless the pack says so) — each unit in one list at most — and
    the circular's text."""
    _staff_only(actor, "edit circulars")
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    good = _codes(praised, "praised")
    bad = _codes(criticised, "criticised")
    mentioned = _codes(named, "named")
    both = [u.code for u in good if u in bad]
    if both:
        raise MatterError(f"a unit cannot be both praised and criticised: {', '.join(both)}", field="criticised")
    twice = [u.code for u in mentioned if u in good or u in bad]
    if twice:
        raise MatterError(f"a unit named for criticism cannot also be praised or criticised county-wide: "
                          f"{', '.join(twice)}", field="named")
    before = {"praised": sorted(circular.praised.values_list("code", flat=True)),
              "criticised": sorted(circular.criticised.values_list("code", flat=True)),
              "named": sorted(circular.named.values_list("code", flat=True)), "body": circular.body}
    circular.praised.set(good)
    circular.criticised.set(bad)
    circular.named.set(mentioned)
    circular.body = (body or "").strip()
    circular.save(update_fields=["body"])
    audit.record(actor=actor, action="circular.lists", obj=circular, before=before, after={
        "praised": sorted(u.code for u in good), "criticised": sorted(u.code for u in bad),
        "named": sorted(u.code for u in mentioned), "body": circular.body})
    return circular


@transaction.atomic
def do_publish_circular(circular_id: int, *, actor) -> Circular:
    """The office leader reviews and publishes (审核后印发): the circular is numbered, and each
    criticised unit bears the pack's county-wide-criticism deduction, once."""
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed("only the office leader publishes circulars (they review them before they go out)")
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    day = clock.today()
    seq, number = next_notice_number("circular", day.year)
    circular.notice = Notice.objects.create(kind="circular", year=day.year, seq=seq, number=number, issued_by=actor)
    circular.status = Circular.Status.PUBLISHED
    circular.published_by, circular.published_at, circular.published_on = actor, clock.now(), day
    circular.save(update_fields=["notice", "status", "published_by", "published_at", "published_on"])
    criticised = list(circular.criticised.order_by("code"))
    named = list(circular.named.order_by("code"))
    audit.record(actor=actor, action="circular.publish", obj=circular, before={"status": Circular.Status.DRAFT},
                 after={"status": circular.status, "notice": number, "published_on": day,
                        "praised": sorted(circular.praised.values_list("code", flat=True)),
                        "criticised": [u.code for u in criticised], "named": [u.code for u in named]})
    for unit in criticised:
        ledger.post(ScoringEvent(code=CRITICISM_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                 matter=None, ref=f"circular:{circular.pk}"), actor=actor, circular=circular)
    named_rule = county_pack().schedule.rule(NAMED_EVENT)
    if named_rule is not None and named_rule.amount > 0:
        for unit in named:
            ledger.post(ScoringEvent(code=NAMED_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                     matter=None, ref=f"circular:{circular.pk}:named"), actor=actor, circular=circular)
    from duban.notifications import recipients
    from duban.notifications.service import notify

    notify("circular.published", recipients=recipients.everyone(), title=f"{number}：{circular.title}",
           body=f"表扬{len(circular.praised.all())}个单位，全县通报批评{len(criticised)}个单位，点名批评{len(named)}个单位。",
           url=f"/circulars/{circular.pk}/")
    return circular

