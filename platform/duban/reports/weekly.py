"""The weekly 督查专报 (五(二)): drafting at the pack's weekly time, editing, issuing.

``draft_weekly_report`` is what beat runs in every county (``reports.tasks``): once the
county's pack's weekly moment (``calendar.weekly_report``: ISO weekday and time, in the county's
time zone) has passed, it drafts that week's report — once: a second call, a second beat or a
re-delivered task finds it (``week_of`` is unique). The sections are facts computed when
drafting; staff edit the text (every version kept) and issue it, which numbers it per county
per year (督查专报〔2026〕第3期), prints the PDF document and notifies the leaders and the units
it names.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.core.actions import action_scope
from duban.core.county import county, county_calendar, county_pack
from duban.core.errors import Invalid
from duban.documents.content import cn_date, cn_month_day
from duban.matters.models import ChangeRequest, DeadlineChange, Feedback, Matter, MatterUnit, ResultReport, Review
from duban.matters.states import State
from duban.reports.annual import proposer_views
from duban.reports.models import WeeklyReport, WeeklyReportRevision
from duban.supervision.models import EscalationStep
from duban.supervision.steps import GREEN, RED, YELLOW, light
from duban.units.models import Unit

logger = logging.getLogger(__name__)

UNDER_WAY = (State.ASSIGNED, State.IN_PROGRESS, State.REDO)
MAX_TEXT = 5000


# --- when -----------------------------------------------------------------------------------
def county_zone() -> ZoneInfo:
    return ZoneInfo(getattr(county(), "time_zone", "") or settings.TIME_ZONE)


def _moment(on, zone: ZoneInfo) -> datetime:
    """``on`` as an aware datetime: now; a date means the end of that day in the county."""
    if on is None:
        return clock.now()
    if isinstance(on, datetime):
        return on if timezone.is_aware(on) else on.replace(tzinfo=zone)
    if isinstance(on, date):
        return datetime.combine(on, time(23, 59, 59), tzinfo=zone)
    raise Invalid(_("“%(value)s”不是有效的日期或时间。") % {"value": on}, field="on")


def week_of(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def weekly_moment(day: date, pack=None, zone: ZoneInfo | None = None) -> datetime:
    """The pack's weekly report moment in the ISO week of ``day`` (e.g. Friday 16:00)."""
    spec = (pack or county_pack()).calendar.weekly_report
    report_day = week_of(day) + timedelta(days=spec.weekday - 1)
    return datetime.combine(report_day, spec.at, tzinfo=zone or county_zone())


# --- the sections ------------------------------------------------------------------------------
def _row(matter: Matter, unit: Unit | None) -> dict:
    return {"matter": matter.pk, "number": matter.number, "title": matter.title,
            "unit": unit.code if unit else "", "unit_name": unit.name if unit else "—",
            "deadline": matter.deadline.isoformat() if matter.deadline else "",
            "deadline_cn": cn_date(matter.deadline) or "—"}


def under_way_at(cutoff: datetime) -> list[Matter]:
    """The matters under way at ``cutoff`` as they stood then: assigned by then, not closed,
    cancelled or waiting for review by then, each with the deadline it had then (its deadline
    changes are kept). Their ``state`` is set to in progress for the lights (not saved)."""
    cancelled = set(ChangeRequest.objects.filter(kind=ChangeRequest.Kind.CANCELLATION,
                                                 status=ChangeRequest.Status.APPROVED, decided_at__lte=cutoff)
                    .values_list("matter_id", flat=True))
    waiting = set()
    for report in (ResultReport.objects.filter(reported_at__lte=cutoff).select_related("review")
                   .order_by("matter_id", "attempt")):
        review = getattr(report, "review", None)
        if review is None or review.reviewed_at > cutoff:
            waiting.add(report.matter_id)
        else:
            waiting.discard(report.matter_id)
    deadlines: dict[int, date] = {}
    for change in DeadlineChange.objects.filter(changed_at__lte=cutoff).order_by("matter_id", "changed_at", "id"):
        deadlines[change.matter_id] = change.new_deadline
    matters = []
    for m in (Matter.objects.filter(assigned_at__lte=cutoff).exclude(closed_at__lte=cutoff)
              .order_by("deadline", "number")):
        if m.pk in cancelled or m.pk in waiting:
            continue
        m.deadline = deadlines.get(m.pk, m.deadline)
        m.state = State.IN_PROGRESS
        matters.append(m)
    return matters


def compute_sections(start: date, end: date, on: date, cutoff: datetime | None = None) -> dict:
    """The week's facts as they stood at ``cutoff`` (default: the end of ``on``): new, closed,
    overdue and red matters; steps recorded; feedback punctuality by unit; items for the leaders'
    attention. Whatever was recorded after ``cutoff`` is not in it, whenever this runs. Plain JSON."""
    cutoff = cutoff or _moment(on, county_zone())
    pack = county_pack()
    calendar = county_calendar()
    leads = {link.matter_id: link.unit for link in
             MatterUnit.objects.filter(role=MatterUnit.Role.LEAD).select_related("unit")}
    tier_label = {tier.code: tier.label.zh for tier in pack.tiers}
    cancelled_then = set(ChangeRequest.objects.filter(kind=ChangeRequest.Kind.CANCELLATION,
                                                      status=ChangeRequest.Status.APPROVED, decided_at__lte=cutoff)
                         .values_list("matter_id", flat=True))
    new = [_row(m, leads.get(m.pk)) for m in Matter.objects.filter(assigned_on__range=(start, end),
                                                                   assigned_at__lte=cutoff)
           .order_by("assigned_on", "number") if m.pk not in cancelled_then]
    closed = []
    for m in (Matter.objects.filter(state=State.CLOSED, closed_at__date__range=(start, end), closed_at__lte=cutoff)
              .order_by("closed_at")):
        day = timezone.localtime(m.closed_at).date()
        on_time = bool(m.deadline and day <= m.deadline)
        closed.append({**_row(m, leads.get(m.pk)), "closed_on": day.isoformat(), "closed_cn": cn_date(day),
                       "on_time": on_time, "on_time_cn": "是" if on_time else "否"})
    taken = EscalationStep.objects.filter(status=EscalationStep.Status.RECORDED, recorded_at__lte=cutoff)
    highest = {row["matter_id"]: row["top"] for row in taken.values("matter_id").annotate(top=Max("tier_index"))}
    under_way = under_way_at(cutoff)
    overdue = []
    for m in sorted((m for m in under_way if m.deadline and m.deadline < on), key=lambda m: (m.deadline, m.number)):
        top = highest.get(m.pk)
        overdue.append({**_row(m, leads.get(m.pk)), "days_overdue": (on - m.deadline).days,
                        "last_step": pack.tiers[top].label.zh if top is not None and top < len(pack.tiers) else "—"})
    board: dict[str, list[Matter]] = {RED: [], YELLOW: [], GREEN: []}
    for m in under_way:
        colour = light(m, on, calendar, pack)
        if colour:
            board[colour].append(m)
    red = [{**_row(m, leads.get(m.pk)), "reason": "超过办结时限" if m.deadline and m.deadline < on else "未按期反馈进展"}
           for m in board[RED]]
    recorded = []
    for step in (taken.filter(recorded_on__range=(start, end)).select_related("matter", "unit", "notice")
                 .order_by("recorded_on", "id")):
        recorded.append({"step": step.pk, "matter": step.matter_id, "number": step.matter.number,
                         "title": step.matter.title, "unit": step.unit.code, "unit_name": step.unit.name,
                         "tier": step.tier, "tier_label": tier_label.get(step.tier, step.tier),
                         "on": step.recorded_on.isoformat(), "on_cn": cn_month_day(step.recorded_on),
                         "notice": step.notice.number if step.notice else ""})
    # Feedback punctuality (反馈制度): matters under way with a feedback cadence, by lead unit.
    cadence = [m for m in under_way if m.feedback_every_working_days]
    per_unit: dict[int, list[Matter]] = defaultdict(list)
    for m in cadence:
        if m.pk in leads:
            per_unit[leads[m.pk].pk].append(m)
    given = Counter(Feedback.objects.filter(matter__in=[m.pk for m in cadence], given_at__date__range=(start, end),
                                            given_at__lte=cutoff).values_list("unit_id", flat=True))
    units = {u.pk: u for u in Unit.objects.filter(pk__in=list(per_unit))}
    feedback = []
    for unit_id, matters in per_unit.items():
        late = sum(1 for m in matters if m.feedback_due_on and m.feedback_due_on < on)
        feedback.append({"unit": units[unit_id].code, "unit_name": units[unit_id].name, "kind": units[unit_id].kind,
                         "matters": len(matters), "given": given.get(unit_id, 0), "overdue": late,
                         "rate": round((len(matters) - late) / len(matters), 4)})
    feedback.sort(key=lambda row: (-row["overdue"], row["rate"], row["kind"], row["unit"]))
    return {
        "period": [start.isoformat(), end.isoformat()],
        "as_of": on.isoformat(),
        "cutoff": cutoff.isoformat(),
        "totals": {"under_way": len(under_way), "new": len(new),
                   "closed": len(closed), "closed_on_time": sum(1 for row in closed if row["on_time"]),
                   "overdue": len(overdue), "red": len(board[RED]), "yellow": len(board[YELLOW]),
                   "green": len(board[GREEN]), "steps": len(recorded)},
        "new": new, "closed": closed, "overdue": overdue, "red": red, "steps": recorded, "feedback": feedback,
        "proposals": proposer_views(Review.objects.filter(reviewed_at__date__range=(start, end), reviewed_at__lte=cutoff)),
        "attention": _attention(on, cutoff, leads, pack, highest, under_way),
    }


def _attention(on: date, cutoff: datetime, leads: dict, pack, highest: dict, under_way: list[Matter]) -> list[dict]:
    """What the leaders should look at (as of ``cutoff``): decisions waiting for them, matters
    high on the ladder and still not done, supervision notices not answered in time."""
    open_ids = {m.pk for m in under_way}
    items = []
    for request in (ChangeRequest.objects.filter(requested_at__lte=cutoff)
                    .filter(Q(decided_at__isnull=True) | Q(decided_at__gt=cutoff))
                    .select_related("matter").order_by("requested_at")):
        m = request.matter
        unit = leads.get(m.pk)
        items.append({"kind": "decision", "matter": m.pk, "number": m.number, "unit": unit.code if unit else "",
                      "text": f"{m.number}“{m.title}”{('：' + unit.name) if unit else ''}申请"
                              f"{request.get_kind_display()}（{request.reason}），待县政府领导审批。"})
    high = len(pack.tiers) // 2
    for m in sorted((m for m in under_way if highest.get(m.pk, -1) >= high), key=lambda m: m.number):
        unit = leads.get(m.pk)
        items.append({"kind": "ladder", "matter": m.pk, "number": m.number, "unit": unit.code if unit else "",
                      "text": f"{m.number}“{m.title}”（{unit.name if unit else '—'}）已采取"
                              f"{pack.tiers[highest[m.pk]].label.zh}，仍未办结，建议领导督促协调。"})
    for step in (EscalationStep.objects.filter(notice__isnull=False, reply_due_on__lt=on, matter_id__in=open_ids,
                                               recorded_at__lte=cutoff)
                 .filter(Q(reply_at__isnull=True) | Q(reply_at__gt=cutoff))
                 .select_related("matter", "unit", "notice").order_by("reply_due_on")):
        items.append({"kind": "reply", "matter": step.matter_id, "number": step.matter.number, "unit": step.unit.code,
                      "text": f"《督查督办通知单》{step.notice.number}要求{step.unit.name}于{cn_date(step.reply_due_on)}前"
                              f"就“{step.matter.title}”专题答复，至今未答复。"})
    return items


def named_unit_codes(sections: dict) -> list[str]:
    codes = set()
    for key in ("new", "overdue", "red", "steps"):
        codes |= {row["unit"] for row in sections.get(key, []) if row.get("unit")}
    codes |= {row["unit"] for row in sections.get("feedback", []) if row.get("overdue")}
    codes |= {row["unit"] for row in sections.get("attention", []) if row.get("unit")}
    return sorted(codes)


def auto_summary(sections: dict) -> str:
    t = sections["totals"]
    start, end = sections["period"]
    return (f"本周（{cn_month_day(start)}至{cn_month_day(end)}），新交办督办事项{t['new']}件，办结{t['closed']}件"
            f"（其中按期办结{t['closed_on_time']}件）。截至{cn_date(sections['as_of'])}，在办事项{t['under_way']}件，"
            f"其中逾期{t['overdue']}件，红灯{t['red']}件，黄灯{t['yellow']}件；本周采取督办措施{t['steps']}次。")


# --- drafting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Drafted:
    report: WeeklyReport | None  # None: the week's moment has not come yet
    created: bool
    due_at: datetime


def draft_weekly_report(on: date | datetime | None = None, *, actor="beat") -> Drafted:
    """Draft the report of the week of ``on`` (default: now). Beat drafts it once the pack's
    weekly moment of that week has passed; supervision staff may draft it (and preview it) at
    any time — its facts are then those so far, taken again when it is submitted and issued.
    Idempotent: the week's report is drafted once, whoever asks."""
    zone = county_zone()
    pack = county_pack()
    now = _moment(on, zone)
    local = now.astimezone(zone)
    due_at = weekly_moment(local.date(), pack, zone)
    monday = week_of(local.date())
    existing = WeeklyReport.objects.filter(week_of=monday).first()
    if existing is not None:
        return Drafted(existing, False, due_at)
    if now < due_at and getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        return Drafted(None, False, due_at)
    end = due_at.date()
    start = end - timedelta(days=6)
    with action_scope():
        sections = compute_sections(start, end, end, cutoff=min(now, due_at))
        codes = named_unit_codes(sections)
        summary = auto_summary(sections)
        user = actor if hasattr(actor, "_meta") else None
        try:
            with transaction.atomic():
                report = WeeklyReport.objects.create(week_of=monday, period_start=start, period_end=end,
                                                     sections=sections, summary=summary, drafted_by=user,
                                                     drafted_by_label=audit.actor_label(actor))
        except IntegrityError:  # drafted at this very moment by another worker
            return Drafted(WeeklyReport.objects.get(week_of=monday), False, due_at)
        report.named_units.set(Unit.objects.filter(code__in=codes))
        WeeklyReportRevision.objects.create(report=report, seq=1, summary=summary, attention="", named_units=codes,
                                            note="起草", edited_by=user, edited_by_label=audit.actor_label(actor))
        audit.record(actor=actor, action="weekly_report.draft", obj=report, after={
            "week_of": monday, "period": [start, end], "totals": sections["totals"], "named_units": codes})
    logger.info("drafted the weekly report of %s–%s", start, end)
    return Drafted(report, True, due_at)
