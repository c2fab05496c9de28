"""The weekly 督查专报: drafted once at the pack's weekly time (by beat's fan-out and per-county
task too), sections from real records, edits kept and audited, issuing numbers it per county per
year, prints its document and notifies the leaders and the units named."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.documents import service
from duban.matters import actions
from duban.reports.actions import do_edit_weekly_report, do_issue_weekly_report, do_submit_weekly_report
from duban.reports.models import WeeklyReport, WeeklyReportRevision
from duban.reports.weekly import draft_weekly_report, week_of, weekly_moment
from duban.supervision.actions import do_record_manual_step
from duban.supervision.models import EscalationStep

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-11-25"},
    "onsite": {"inspector": "张督查", "visited_at": "2026-11-25T09:30", "findings": "现场进度滞后"},
}


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


def this_report_day() -> date:
    """The county_default report day (Friday) whose week (Saturday…Friday) contains today —
    ``closed_at`` is the real time of closing, so the week must be today's."""
    today = clock.today()
    return today + timedelta(days=(5 - today.isoweekday()) % 7)


def draft(day: date | None = None) -> WeeklyReport:
    report = draft_weekly_report(at(day or this_report_day(), 16, 1)).report
    assert report is not None
    return report


# --- when it is drafted ---------------------------------------------------------------------------
def test_drafted_once_when_the_packs_weekly_time_has_passed(cast):
    friday = date(2026, 11, 27)  # county_default: weekday 5 at 16:00, county time
    assert draft_weekly_report(date(2026, 11, 26)).report is None  # Thursday, end of the day
    not_yet = draft_weekly_report(at(friday, 15, 59, 59))
    assert not_yet.report is None and not_yet.due_at == at(friday, 16)
    assert draft_weekly_report(datetime(2026, 11, 27, 7, 59, tzinfo=ZoneInfo("UTC"))).report is None  # 15:59 here
    first = draft_weekly_report(datetime(2026, 11, 27, 8, 0, 1, tzinfo=ZoneInfo("UTC")))  # 16:00:01 here
    assert first.created
    report = first.report
    assert (report.week_of, report.period_start, report.period_end) == (date(2026, 11, 23), date(2026, 11, 21), friday)
    assert (report.status, report.seq, report.number, report.drafted_by_label) == ("draft", None, "", "beat")
    for later in (at(friday, 23), at(date(2026, 11, 29), 22), date(2026, 11, 28)):  # the rest of the week
        again = draft_weekly_report(later)
        assert not again.created and again.report == report
    assert WeeklyReport.objects.count() == 1
    assert AuditEvent.objects.filter(action="weekly_report.draft").count() == 1
    assert draft_weekly_report(at(date(2026, 12, 4), 16, 30)).created  # the next week: its own report
    assert WeeklyReport.objects.count() == 2
    assert weekly_moment(date(2026, 12, 1)) == at(date(2026, 12, 4), 16) and week_of(friday) == date(2026, 11, 23)


def test_the_county_task_drafts_once(world, settings, tmp_path):
    from duban.reports.tasks import draft_weekly_report_county

    settings.MEDIA_ROOT = tmp_path
    headers = {"_schema_name": world.alpha.schema_name}
    early = draft_weekly_report_county.apply(kwargs={"on": "2026-11-27T15:00:00+08:00"}, headers=headers)
    assert early.result is None
    first = draft_weekly_report_county.apply(kwargs={"on": "2026-11-27T16:30:00+08:00"}, headers=headers)
    second = draft_weekly_report_county.apply(kwargs={"on": "2026-11-28T09:00:00+08:00"}, headers=headers)
    assert isinstance(first.result, int) and second.result == first.result
    with tenant_context(world.alpha):
        assert list(WeeklyReport.objects.values_list("pk", flat=True)) == [first.result]
    # Sent from the public schema it refuses to run (no county).
    from duban.tasks import CountyNotFound

    assert isinstance(draft_weekly_report_county.apply().result, CountyNotFound)


def test_beat_fans_out_once_per_slot(world, settings, tmp_path):
    """Two beats in the same slot: one fan-out. The per-county tasks run in-process here
    (Celery's eager mode) so that what they draft rolls back with the test."""
    from duban.celery import app
    from duban.reports.tasks import fan_out_weekly_report

    settings.MEDIA_ROOT = tmp_path
    assert app.conf.beat_schedule["weekly-report-fan-out"]["schedule"] == float(settings.DUBAN_REPORT_CHECK_SECONDS)
    assert settings.DUBAN_REPORT_CHECK_SECONDS == 900
    app.conf.task_always_eager = True
    try:
        first = fan_out_weekly_report.apply().result
        second = fan_out_weekly_report.apply().result
    finally:
        app.conf.task_always_eager = False
    connection.set_schema_to_public()
    assert first >= 2 and second == 0
    for county in (world.alpha, world.beta):
        with tenant_context(county):
            due = clock.now() >= weekly_moment(clock.today())
            assert WeeklyReport.objects.filter(week_of=week_of(clock.today())).count() == (1 if due else 0)


# --- what is in it --------------------------------------------------------------------------------
def test_sections_contain_the_right_matters(cast):
    friday = this_report_day()
    start = friday - timedelta(days=6)
    # Overdue since long ago, climbed to on-site supervision this week; its notice is unanswered.
    with as_of(friday - timedelta(days=60)):
        overdue = to_state(cast, "in_progress", deadline_working_days=10, feedback_every_working_days=5)
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                on=start - timedelta(days=3))
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="written_notice", on=start - timedelta(days=2),
                                evidence=EVIDENCE["written_notice"])
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="onsite", evidence=EVIDENCE["onsite"], on=start)
    # Assigned this week (to T01), and one closed this week (today).
    with as_of(start + timedelta(days=1)):
        fresh = proposed(cast, title="新建城南停车场", proposed_units=["T01"], requested_deadline=None)
        actions.do_register_matter(fresh.pk, actor=cast.staff)
        actions.do_approve_matter(fresh.pk, actor=cast.leader)
        actions.do_assign_matter(fresh.pk, actor=cast.staff, lead_unit="T01", requirements="按期办结",
                                 deadline_working_days=20)
        done = to_state(cast, "reported")
    actions.do_accept_result(done.pk, actor=cast.office)
    # Assigned before the period and under way with an extension request waiting for a leader.
    with as_of(start - timedelta(days=10)):
        waiting = to_state(cast, "in_progress", deadline_working_days=30)
    actions.do_request_extension(waiting.pk, actor=cast.lead_clerk, new_deadline=waiting.deadline + timedelta(days=10),
                                 reason="等待上级批复")

    report = draft(friday)
    s = report.sections
    assert s["period"] == [start.isoformat(), friday.isoformat()]
    assert {row["number"] for row in s["new"]} == {fresh.number, done.number}
    assert next(row for row in s["new"] if row["number"] == fresh.number)["unit"] == "T01"
    assert [(row["number"], row["on_time"]) for row in s["closed"]] == [(done.number, True)]
    assert [row["number"] for row in s["overdue"]] == [overdue.number]
    assert s["overdue"][0]["last_step"] == "现场督办" and s["overdue"][0]["days_overdue"] > 0
    assert overdue.number in {row["number"] for row in s["red"]}
    assert fresh.number not in {row["number"] for row in s["red"]}
    assert [(row["tier"], row["unit"]) for row in s["steps"]] == [("onsite", "D01")]
    d01 = next(row for row in s["feedback"] if row["unit"] == "D01")
    assert d01["matters"] == 1 and d01["overdue"] == 1 and d01["rate"] == 0
    kinds = {(item["kind"], item["number"]) for item in s["attention"]}
    # The written reply is late once its deadline (5 working days after the notice: longer over a
    # holiday such as Spring Festival) is before the report day.
    notice = EscalationStep.objects.get(matter=overdue, tier="written_notice")
    late_reply = {("reply", overdue.number)} if notice.reply_due_on < friday else set()
    assert kinds == {("decision", waiting.number), ("ladder", overdue.number)} | late_reply
    assert s["totals"]["new"] == 2 and s["totals"]["closed"] == 1 and s["totals"]["steps"] == 1
    assert sorted(report.named_units.values_list("code", flat=True)) == ["D01", "T01"]
    assert "新交办督办事项2件，办结1件（其中按期办结1件）" in report.summary
    assert report.revisions.get().summary == report.summary


# --- editing ------------------------------------------------------------------------------------
def test_edits_are_kept_and_audited(cast):
    report = draft()
    original = report.summary
    with pytest.raises(NotAllowed):
        do_edit_weekly_report(report.pk, actor=cast.office, summary="x")
    with pytest.raises(Invalid) as excinfo:
        do_edit_weekly_report(report.pk, actor=cast.staff, named_units=["D01", "NOPE"])
    assert excinfo.value.field == "named_units"
    with pytest.raises(Invalid, match="内容没有变化"):
        do_edit_weekly_report(report.pk, actor=cast.staff, summary=original)
    edited = do_edit_weekly_report(report.pk, actor=cast.staff, summary="本周各项工作总体平稳。", note="改写概况",
                                   attention="建议分管县领导约谈一号局主要负责人。", named_units=["D01"],
                                   expected_version=1)
    assert (edited.version, edited.summary) == (2, "本周各项工作总体平稳。")
    with pytest.raises(Conflict):
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="再改", expected_version=1)
    revisions = list(WeeklyReportRevision.objects.filter(report=report).order_by("seq"))
    assert [(r.seq, r.summary) for r in revisions] == [(1, original), (2, "本周各项工作总体平稳。")]
    assert revisions[1].named_units == ["D01"] and revisions[1].edited_by == cast.staff
    event = AuditEvent.objects.get(action="weekly_report.edit")
    assert event.before["summary"] == original and event.after["summary"] == "本周各项工作总体平稳。"
    assert event.after["named_units"] == ["D01"] and event.note == "改写概况"
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        WeeklyReportRevision.objects.filter(pk=revisions[0].pk).update(summary="改掉历史")


# --- issuing ------------------------------------------------------------------------------------
def issue(report, cast, on: date, office=None):
    """Staff submit the report and the office leader issues it, as of ``on`` (after its week)."""
    with as_of(on):
        do_submit_weekly_report(report.pk, actor=cast.staff)
        return do_issue_weekly_report(report.pk, actor=office or cast.office)


def test_issue_numbers_prints_and_notifies(cast, world, tmp_path):
    from duban.notifications.models import Notification

    with as_of(date(2026, 10, 12)):
        to_state(cast, "in_progress", deadline_working_days=5)  # overdue by the report's week: D01 is named
    report = draft(date(2026, 11, 27))
    with pytest.raises(NotAllowed):
        do_issue_weekly_report(report.pk, actor=cast.lead_clerk)
    with pytest.raises(NotFound):
        do_issue_weekly_report(987654, actor=cast.office)
    issued = issue(report, cast, date(2026, 11, 30))  # the Monday after its week
    assert (issued.status, issued.year, issued.seq, issued.number) == ("issued", 2026, 1, "督查专报〔2026〕第1期")
    assert issued.notice.kind == "weekly_report" and issued.notice.number == issued.number
    assert issued.issued_on == date(2026, 11, 30) and issued.issued_by == cast.office
    document = issued.documents.get()
    assert (document.kind, document.number, document.issued_on) == ("weekly_report", issued.number, date(2026, 11, 30))
    path = tmp_path / "report.pdf"
    path.write_bytes(service.pdf_bytes(document))
    text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
                   .split())
    for expected in ("督查专报第1期", "甲县人民政府督查室", "2026年11月30日", "一、总体情况", "四、逾期未办结事项（1件）",
                     "报：王县长。", "送：一号局。", document.display_code):
        assert expected in text, expected
    assert service.document_for("weekly_report", issued, actor=cast.leader) == document
    # Leaders and the staff of the named unit hear of it; nobody else.
    notes = Notification.objects.filter(event="weekly_report.issued")
    assert {n.recipient.username for n in notes} == {"m_leader", "m_office", "clerk"}
    assert all(n.title == "《督查专报》督查专报〔2026〕第1期已印发" for n in notes)
    # Issued: frozen.
    with pytest.raises(Invalid) as excinfo:
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="改")
    assert excinfo.value.field == "status"
    with pytest.raises(Invalid):
        do_issue_weekly_report(report.pk, actor=cast.office)
    event = AuditEvent.objects.get(action="weekly_report.issue")
    assert event.after["number"] == issued.number and event.after["document"] == document.code


def test_numbering_runs_per_county_per_year(cast, world):
    first = draft(date(2026, 11, 27))
    second = draft(date(2026, 12, 4))
    third = draft(date(2027, 1, 8))
    issue(first, cast, date(2026, 11, 30))
    issue(second, cast, date(2026, 12, 7))
    issue(third, cast, date(2027, 1, 11))
    numbers = list(WeeklyReport.objects.order_by("week_of").values_list("number", flat=True))
    assert numbers == ["督查专报〔2026〕第1期", "督查专报〔2026〕第2期", "督查专报〔2027〕第1期"]
    with tenant_context(world.beta):
        beta = make_cast()
        report = draft(date(2026, 12, 4))
        assert issue(report, beta, date(2026, 12, 7)).number == "督查专报〔2026〕第1期"


def test_an_empty_summary_cannot_be_submitted(cast):
    report = draft()
    do_edit_weekly_report(report.pk, actor=cast.staff, summary=" ")
    with pytest.raises(Invalid) as excinfo:
        do_submit_weekly_report(report.pk, actor=cast.staff)
    assert excinfo.value.field == "summary"
    assert WeeklyReport.objects.get(pk=report.pk).status == "draft"


def test_annual_assessment_data_matches_the_scores(cast):
    from decimal import Decimal

    from duban.reports.annual import annual_assessment
    from duban.supervision import ledger

    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    with as_of(date(2026, 11, 20)):
        do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                    on=date(2026, 11, 20))
    data = annual_assessment(2026)
    assert (data.base, data.floor) == (Decimal("3.0"), Decimal("0"))
    assert [c.code for c in data.columns][:3] == ["phone_urging", "written_notice", "onsite_urging"]
    scores = {unit.code: score for unit, score in ledger.unit_scores(2026).items()}
    assert {row.unit_code: row.score for row in data.rows} == scores
    d01 = next(row for row in data.rows if row.unit_code == "D01")
    assert d01.deductions == {"phone_urging": Decimal("0.10")} and d01.total == Decimal("0.1")
