"""The weekly 督查专报's writes: staff draft it now (the web's 起草本周专报, the API's
``weekly-reports/draft/``), edit and submit it, the office leader returns or issues it. Each
public ``do_*`` is an action (``duban.core.actions``); the drafting itself, which beat runs in
every county at the pack's weekly time, and the week's facts stay in ``reports.weekly``."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from duban.accounts.models import Role, User
from duban.audit import log as audit
from duban.core import clock
from duban.core.actions import action
from duban.core.county import next_value
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.documents.content import cn_month_day
from duban.documents.texts import document_text
from duban.matters.models import Notice
from duban.notifications.service import notify
from duban.reports.documents import weekly_report_document
from duban.reports.models import WeeklyReport, WeeklyReportReview, WeeklyReportRevision
from duban.reports.weekly import MAX_TEXT, Drafted, compute_sections, draft_weekly_report, weekly_moment
from duban.units.models import Unit


def _staff_only(actor, what: str):
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(_("只有督查督办人员可以%(what)s。") % {"what": what})


def _locked(report_id, expected_version: int | None, *, status=WeeklyReport.Status.DRAFT) -> WeeklyReport:
    try:
        report_id = int(report_id)
    except (TypeError, ValueError):
        raise NotFound(_("没有找到该期《督查专报》。")) from None
    report = WeeklyReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("没有找到该期《督查专报》。"))
    if expected_version is not None and report.version != expected_version:
        raise Conflict(_("本期《督查专报》已被他人修改，请刷新页面后重试。"))
    if report.status != status:
        if report.status == WeeklyReport.Status.ISSUED:
            raise Invalid(_("本期《督查专报》已印发（%(number)s），不能再修改。") % {"number": report.number}, field="status")
        if report.status == WeeklyReport.Status.SUBMITTED:
            raise Invalid(_("本期《督查专报》已报送审核，审核退回后才能修改。"), field="status")
        raise Invalid(_("本期《督查专报》尚未报送审核，请督查督办人员先报送。"), field="status")
    return report


def _text(value, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(_("这一项应为文字。"), field=field)
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise Invalid(_("这一项不能超过%(limit)d个字。") % {"limit": MAX_TEXT}, field=field)
    return value


def _state(report: WeeklyReport) -> dict:
    return {"summary": report.summary, "attention": report.attention,
            "named_units": sorted(report.named_units.values_list("code", flat=True)), "version": report.version}


@action
def do_draft_weekly_report(*, actor) -> Drafted:
    """Supervision staff draft this week's report now, on any day, to edit and preview it (beat
    drafts it at the pack's weekly time; it is the same report, drafted once whoever asks:
    ``created`` says whether this call drafted it). Audited as ``weekly_report.draft``."""
    _staff_only(actor, _("起草督查专报"))
    return draft_weekly_report(actor=actor)


@action
def do_edit_weekly_report(report_id: int, *, actor, summary: str | None = None, attention: str | None = None,
                          named_units: list[str] | None = None, note: str = "",
                          expected_version: int | None = None) -> WeeklyReport:
    """Staff edit a draft's text (总体情况, 提请领导关注) and the units it names. Every version is
    kept (a revision row) and audited with before and after."""
    _staff_only(actor, _("修改督查专报"))
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
            raise Invalid(_("请逐个选择单位。"), field="named_units")
        wanted = list(dict.fromkeys((code or "").strip() for code in named_units))
        found = {u.code: u for u in Unit.objects.filter(code__in=wanted, is_active=True)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise Invalid(_("没有编码为%(codes)s的在用单位。") % {"codes": "、".join(f"“{c}”" for c in unknown)},
                      field="named_units")
        units = [found[code] for code in wanted]
    after_units = sorted(u.code for u in units) if units is not None else before["named_units"]
    if (all(changes.get(k, before[k]) == before[k] for k in ("summary", "attention"))
            and after_units == before["named_units"]):
        raise Invalid(_("内容没有变化。"), field="summary")
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
    return notify(event, recipients=people, title=title, body=body, url=f"/reports/weekly/{report.pk}/", actor=actor)


@action
def do_submit_weekly_report(report_id: int, *, actor, expected_version: int | None = None) -> WeeklyReport:
    """Staff submit a draft for the office leader's review (一(二) 上报前须经办公室主管领导审核)."""
    _staff_only(actor, _("报送督查专报"))
    report = _locked(report_id, expected_version)
    if not report.summary.strip():
        raise Invalid(_("请先填写“总体情况”再报送审核。"), field="summary")
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
        raise NotAllowed(_("只有督查室主任可以%(what)s（督查专报经督查室主任审核后报送）。") % {"what": what})


def _last_revision(report: WeeklyReport) -> int:
    return report.revisions.order_by("-seq").values_list("seq", flat=True).first() or 0


@action
def do_return_weekly_report(report_id: int, *, actor, reason: str, expected_version: int | None = None) -> WeeklyReport:
    """The office leader returns a submitted report to staff with a reason (退回修改)."""
    _office_leader_only(actor, _("退回督查专报"))
    report = _locked(report_id, expected_version, status=WeeklyReport.Status.SUBMITTED)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid(_("退回须写明审核意见。"), field="reason")
    if len(reason) > MAX_TEXT:
        raise Invalid(_("审核意见不能超过%(limit)d字。") % {"limit": MAX_TEXT}, field="reason")
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


@action
def do_issue_weekly_report(report_id: int, *, actor, expected_version: int | None = None) -> WeeklyReport:
    """The office leader issues a submitted report after review (审核印发), once the pack's weekly
    moment of its week has passed: its facts are taken up to the week's end, it is numbered (per
    county, per year), its PDF printed and checked (documents.pdf.check_pdf; a failure rolls the
    number back), and the leaders and the units it names are notified."""
    _office_leader_only(actor, _("印发督查专报"))
    report = _locked(report_id, expected_version, status=WeeklyReport.Status.SUBMITTED)
    now = clock.now()
    due_at = weekly_moment(report.period_end)
    if now < due_at:
        raise Invalid(_("本期《督查专报》须在%(moment)s（本周报送时间）后印发。")
                      % {"moment": date_format(timezone.localtime(due_at), "DATETIME_FORMAT")}, field="status")
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
