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

from duban.accounts.models import Role, User
from duban.audit import log as audit
from duban.core import clock
from duban.core.county import county, county_calendar, county_pack, next_value
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.documents.content import cn_date, cn_month_day
from duban.matters.models import ChangeRequest, DeadlineChange, Feedback, Matter, MatterUnit, Notice, ResultReport, Review
from duban.matters.states import State
from duban.reports.annual import proposer_views
from duban.reports.models import WeeklyReport, WeeklyReportReview, WeeklyReportRevision
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
    raise Invalid(f"{on!r} is not a date or time", field="on")


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
    from duban.supervision.models import EscalationStep
    from duban.supervision.steps import GREEN, RED, YELLOW, light

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
    from duban.supervision.models import EscalationStep

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
            f"其中超期{t['overdue']}件，红灯{t['red']}件，黄灯{t['yellow']}件；本周采取督办措施{t['steps']}次。")


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
    with transaction.atomic():
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


# --- editing and issuing -------------------------------------------------------------------------
def _staff_only(actor, what: str):
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(f"only supervision staff {what}")


def _locked(report_id, expected_version: int | None, *, status=WeeklyReport.Status.DRAFT) -> WeeklyReport:
    try:
        report_id = int(report_id)
    except (TypeError, ValueError):
        raise NotFound(f"no weekly report {report_id!r}") from None
    report = WeeklyReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"no weekly report {report_id}")
    if expected_version is not None and report.version != expected_version:
        raise Conflict(f"the weekly report was changed by someone else (you saw version {expected_version}, it is "
                       f"now version {report.version}); reload and try again")
    if report.status != status:
        if report.status == WeeklyReport.Status.ISSUED:
            raise Invalid(f"本期《督查专报》已印发（{report.number}），不能再修改。", field="status")
        if report.status == WeeklyReport.Status.SUBMITTED:
            raise Invalid("本期《督查专报》已报送审核，审核退回后才能修改。", field="status")
        raise Invalid("本期《督查专报》尚未报送审核，请督查督办人员先报送。", field="status")
    return report


def _text(value, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} is text", field=field)
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise Invalid(f"{field} is longer than {MAX_TEXT} characters", field=field)
    return value


def _state(report: WeeklyReport) -> dict:
    return {"summary": report.summary, "attention": report.attention,
            "named_units": sorted(report.named_units.values_list("code", flat=True)), "version": report.version}


@transaction.atomic
def do_edit_weekly_report(report_id: int, *, actor, summary: str | None = None, attention: str | None = None,
                          named_units: list[str] | None = None, note: str = "",
                          expected_version: int | None = None) -> WeeklyReport:
    """Staff edit a draft's text (总体情况, 提请领导关注) and the units it names. Every version is
    kept (a revision row) and audited with before and after."""
    _staff_only(actor, "edit the weekly report")
    report = _locked(report_id, expected_version)
    before = _state(report)
    changes = {}
    if summary is not None:
        changes["summary"] = _text(summary, "summary")
    if attention is not None:
        changes["attention"] = _text(attention, "attention")
    units = None
    if named_units is not None:
        if isinstance(named_units, str):
            raise Invalid("named_units is a list of unit codes", field="named_units")
        wanted = list(dict.fromkeys((code or "").strip() for code in named_units))
        found = {u.code: u for u in Unit.objects.filter(code__in=wanted, is_active=True)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise Invalid(f"no active unit with code {', '.join(repr(c) for c in unknown)}", field="named_units")
        units = [found[code] for code in wanted]
    after_units = sorted(u.code for u in units) if units is not None else before["named_units"]
    if (all(changes.get(k, before[k]) == before[k] for k in ("summary", "attention"))
            and after_units == before["named_units"]):
        raise Invalid("nothing changed", field="summary")
    for name, value in changes.items():
        setattr(report, name, value)
    report.version += 1
    report.save(update_fields=[*changes, "version"])
    if units is not None:
        report.named_units.set(units)
    last = report.revisions.order_by("-seq").values_list("seq", flat=True).first() or 0
    note = (note or "").strip()[:200]
    WeeklyReportRevision.objects.create(report=report, seq=last + 1, summary=report.summary,
                                        attention=report.attention, named_units=after_units, note=note,
                                        edited_by=actor, edited_by_label=audit.actor_label(actor))
    audit.record(actor=actor, action="weekly_report.edit", obj=report, before=before, after=_state(report), note=note)
    return report


def recipients(report: WeeklyReport) -> list[User]:
    """Who hears of an issued report: the county and office leaders, and the staff of the units
    it names."""
    return list(User.objects.filter(is_active=True, role__in=[Role.COUNTY_LEADER, Role.OFFICE_LEADER])
                .order_by("id")) + list(User.objects.filter(is_active=True, role=Role.UNIT_STAFF,
                                                            unit__in=report.named_units.all()).order_by("id"))


def _notify(report: WeeklyReport, document, actor) -> list:
    from django.apps import apps

    if not apps.is_installed("duban.notifications"):  # pragma: no cover — always installed in Duban
        return []
    from duban.notifications.service import notify

    summary = report.summary if len(report.summary) <= 200 else report.summary[:199] + "…"
    return notify("weekly_report.issued", recipients=recipients(report), title=f"《督查专报》{report.number}已印发",
                  body=summary, url=f"/reports/weekly/{report.pk}/", actor=actor)


def _refresh_sections(report: WeeklyReport, now: datetime) -> None:
    """Take the week's facts again, up to now or the week's end, whichever comes first."""
    due_at = weekly_moment(report.period_end)
    report.sections = compute_sections(report.period_start, report.period_end, report.period_end,
                                       cutoff=min(now, due_at))


def _office_leaders() -> list[User]:
    return list(User.objects.filter(is_active=True, role=Role.OFFICE_LEADER).order_by("id"))


def _notify_people(event: str, people, report: WeeklyReport, title: str, body: str, actor) -> list:
    from duban.notifications.service import notify  # notifications build on reports' data, not the reverse

    return notify(event, recipients=people, title=title, body=body, url=f"/reports/weekly/{report.pk}/", actor=actor)


@transaction.atomic
def do_submit_weekly_report(report_id: int, *, actor, expected_version: int | None = None) -> WeeklyReport:
    """Staff submit a draft for the office leader's review (一(二) 上报前须经办公室主管领导审核)."""
    _staff_only(actor, "submit the weekly report")
    report = _locked(report_id, expected_version)
    if not report.summary.strip():
        raise Invalid("请先填写“总体情况”再报送审核。", field="summary")
    before = _state(report) | {"status": report.status}
    now = clock.now()
    _refresh_sections(report, now)
    report.status, report.submitted_at, report.submitted_by = WeeklyReport.Status.SUBMITTED, now, actor
    report.version += 1
    report.save(update_fields=["sections", "status", "submitted_at", "submitted_by", "version"])
    audit.record(actor=actor, action="weekly_report.submit", obj=report, before=before,
                 after={"status": report.status, "totals": report.sections["totals"]})
    _notify_people("weekly_report.submitted", _office_leaders(), report, "《督查专报》待审核",
                   f"{cn_month_day(report.period_start)}—{cn_month_day(report.period_end)}的《督查专报》已报送，请审核。",
                   actor)
    return report


def _office_leader_only(actor, what: str):
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed(f"only the office leader {what} (一(二): reports go up after the office leader's review)")


def _last_revision(report: WeeklyReport) -> int:
    return report.revisions.order_by("-seq").values_list("seq", flat=True).first() or 0


@transaction.atomic
def do_return_weekly_report(report_id: int, *, actor, reason: str, expected_version: int | None = None) -> WeeklyReport:
    """The office leader returns a submitted report to staff with a reason (退回修改)."""
    _office_leader_only(actor, "returns the weekly report")
    report = _locked(report_id, expected_version, status=WeeklyReport.Status.SUBMITTED)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid("退回须写明审核意见。", field="reason")
    if len(reason) > MAX_TEXT:
        raise Invalid(f"审核意见不能超过{MAX_TEXT}字。", field="reason")
    WeeklyReportReview.objects.create(report=report, decision=WeeklyReportReview.Decision.RETURNED, reason=reason,
                                      revision=_last_revision(report), reviewed_by=actor)
    report.status = WeeklyReport.Status.DRAFT
    report.version += 1
    report.save(update_fields=["status", "version"])
    audit.record(actor=actor, action="weekly_report.return", obj=report,
                 before={"status": WeeklyReport.Status.SUBMITTED}, after={"status": report.status}, note=reason)
    staff = [report.submitted_by] if report.submitted_by else list(
        User.objects.filter(is_active=True, role=Role.SUPERVISION_STAFF).order_by("id"))
    _notify_people("weekly_report.returned", staff, report, "《督查专报》被退回修改", reason, actor)
    return report


@transaction.atomic
def do_issue_weekly_report(report_id: int, *, actor, expected_version: int | None = None) -> WeeklyReport:
    """The office leader issues a submitted report after review (审核印发), once the pack's weekly
    moment of its week has passed: its facts are taken up to the week's end, it is numbered (per
    county, per year), its PDF printed and checked (documents.pdf.check_pdf; a failure rolls the
    number back), and the leaders and the units it names are notified."""
    from duban.documents.texts import document_text  # (the same direction)
    from duban.reports.documents import weekly_report_document  # documents build on reports

    _office_leader_only(actor, "issues the weekly report")
    report = _locked(report_id, expected_version, status=WeeklyReport.Status.SUBMITTED)
    now = clock.now()
    due_at = weekly_moment(report.period_end)
    if now < due_at:
        raise Invalid(f"本期《督查专报》须在{timezone.localtime(due_at):%Y年%-m月%-d日 %H:%M}（本周报送时间）后印发。",
                          field="status")
    before = _state(report) | {"status": report.status}
    _refresh_sections(report, now)
    day = clock.today()
    text = document_text("weekly_report")
    seq = next_value(f"notice:weekly_report:{day.year}")
    number = f"{text.number_prefix or text.title}〔{day.year}〕第{seq}期"
    report.notice = Notice.objects.create(kind="weekly_report", year=day.year, seq=seq, number=number, issued_by=actor)
    report.status, report.year, report.seq, report.number = WeeklyReport.Status.ISSUED, day.year, seq, number
    report.issued_at, report.issued_on, report.issued_by = now, day, actor
    report.version += 1
    report.save(update_fields=["sections", "notice", "status", "year", "seq", "number", "issued_at", "issued_on",
                               "issued_by", "version"])
    WeeklyReportReview.objects.create(report=report, decision=WeeklyReportReview.Decision.ISSUED,
                                      revision=_last_revision(report), reviewed_by=actor)
    document = weekly_report_document(report, actor=actor)
    audit.record(actor=actor, action="weekly_report.issue", obj=report, before=before,
                 after={"status": report.status, "number": number, "issued_on": day, "document": document.code,
                        "named_units": before["named_units"], "totals": report.sections["totals"]})
    _notify(report, document, actor)
    return report
