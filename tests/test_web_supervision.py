"""The supervision pages, driven with Django's test client on real PostgreSQL: steps recorded
through the pack-generated evidence form land in the ledger and on the unit's statement; scores
and charts; reversals; circulars from draft to publication; the weekly report editor; documents
as files with Chinese names; the rule pack in plain words; the inbox. Each page is checked for
the roles that may use it and refused (403) or hidden (404) for the others."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, to_state

from duban.accounts.models import User
from duban.core import clock
from duban.core.clock import as_of
from duban.documents.models import Document
from duban.matters.models import Attachment
from duban.notifications.models import Notification, Preference
from duban.reports.models import WeeklyReport
from duban.reports.weekly import draft_weekly_report
from duban.supervision import ledger, steps
from duban.supervision.actions import do_record_manual_step
from duban.supervision.models import Circular, EscalationStep, LedgerEntry
from duban.units.models import Unit

# The pages are walked through a supervision history set in autumn 2026 (steps of 20 October and
# 2 November): the tests run as of 26 November 2026, whatever the real date.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

PHONE_FORM = {"ev_contact": "王科长", "ev_contacted_at": "2026-10-20T10:00", "ev_promised_date": "2026-11-30",
              "ev_note": "承诺月底前完成", "on": "2026-10-20"}
EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-02T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复，说明滞后原因和整改措施", "reply_due": "2026-11-09"},
    "onsite": {"inspector": "张督查", "visited_at": "2026-11-02T09:30", "findings": "现场进度滞后"},
}
PAGES = ["/steps/", "/scores/", "/ledger/", "/circulars/", "/reports/weekly/", "/documents/", "/rulepack/",
         "/notifications/", "/notifications/preferences/"]


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


def browser(world, user=None) -> Client:
    client = Client(HTTP_HOST=world.owner.host)
    if user is not None:
        client.force_login(user)
    return client


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def overdue_matter(cast):
    with as_of(date(2026, 9, 1)):
        return to_state(cast, "in_progress", deadline_working_days=10)


def due_phone_step(cast) -> EscalationStep:
    matter = overdue_matter(cast)
    opened = [o.step for o in steps.sweep(on=date(2026, 10, 20)) if o.step.matter_id == matter.pk]
    assert [s.tier for s in opened] == ["phone"]
    return opened[0]


def written_notice_step(cast) -> EscalationStep:
    matter = overdue_matter(cast)
    for tier in ("phone", "written_notice"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 2))
    return EscalationStep.objects.get(matter=matter, tier="written_notice")


def due_special_meeting(cast) -> EscalationStep:
    matter = overdue_matter(cast)
    for tier in ("phone", "written_notice", "onsite"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 2))
    opened = [o.step for o in steps.sweep(on=date(2026, 11, 25)) if o.step.matter_id == matter.pk]
    assert [s.tier for s in opened] == ["special_meeting"]
    return opened[0]


def a_score(code="D01", year=2026) -> Decimal:
    return ledger.unit_scores(year)[Unit.objects.get(code=code)]


# --- every page, every role ----------------------------------------------------------------------------
def test_every_page_renders_for_every_county_role_and_needs_a_login(world, cast):
    admin = User.objects.get(username="admin")
    for user in (cast.staff, cast.office, cast.leader, cast.lead_clerk, admin):
        client = browser(world, user)
        for url in PAGES:
            response = client.get(url)
            assert response.status_code == 200, (user.username, url, response.status_code)
            assert "<html" in body(response)
    anonymous = browser(world)
    for url in PAGES + ["/scores/D01/", "/steps/1/record/", "/documents/1/download/"]:
        response = anonymous.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_steps_list_shows_due_steps_with_the_record_button_for_staff_only(world, cast):
    step = due_phone_step(cast)
    page = body(browser(world, cast.staff).get("/steps/?status=due"))
    assert step.matter.number in page and "电话、口头督办" in page and "记录督办" in page
    assert f"/steps/{step.pk}/record/" in page
    clerk_page = body(browser(world, cast.lead_clerk).get("/steps/"))
    assert step.matter.number in clerk_page and f"/steps/{step.pk}/record/" not in clerk_page
    assert step.matter.number not in body(browser(world, cast.co_clerk).get("/steps/"))  # T01: not its step
    assert step.matter.number not in body(browser(world, cast.staff).get("/steps/?status=recorded"))


# --- recording a step ----------------------------------------------------------------------------------
def test_a_phone_urging_recorded_through_the_form_drops_the_score_on_the_statement(world, cast):
    step = due_phone_step(cast)
    staff = browser(world, cast.staff)
    form = staff.get(f"/steps/{step.pk}/record/")
    assert form.status_code == 200
    page = body(form)
    for label in ("接听人", "通话时间", "承诺完成日期", "通话记录", "督办日期"):  # the pack's evidence fields
        assert label in page
    assert 'type="datetime-local"' in page and 'name="ev_contacted_at"' in page
    assert f'name="on" value="{clock.today().isoformat()}"' in page  # what a date input shows

    # Missing evidence: the form comes back with the message under the field; nothing is recorded.
    missing = staff.post(f"/steps/{step.pk}/record/", {**PHONE_FORM, "ev_contacted_at": ""})
    assert missing.status_code == 400
    assert 'id="id_ev_contacted_at_error"' in body(missing) and "通话时间" in body(missing)
    step.refresh_from_db()
    assert step.status == "due" and not LedgerEntry.objects.exists()

    done = staff.post(f"/steps/{step.pk}/record/", PHONE_FORM)
    assert done.status_code == 302 and done["Location"] == f"/steps/{step.pk}/"
    step.refresh_from_db()
    assert step.status == "recorded" and step.recorded_on == date(2026, 10, 20) and step.recorded_by == cast.staff
    assert step.evidence["contact"] == "王科长" and step.evidence["promised_date"] == "2026-11-30"
    entry = LedgerEntry.objects.get(step=step)
    assert (entry.unit.code, entry.amount, entry.year, entry.rule_code) == ("D01", Decimal("0.1"), 2026,
                                                                            "phone_urging")
    detail = body(staff.get(f"/steps/{step.pk}/"))
    assert "已记录电话、口头督办" in detail and "王科长" in detail

    # The unit's own statement: base 3.00, the 0.10 entry, 2.90.
    statement = browser(world, cast.lead_clerk).get("/scores/D01/?year=2026")
    assert statement.status_code == 200
    text = body(statement)
    assert 'id="statement-base">3.00<' in text and 'id="statement-score">2.90<' in text
    assert "电话或口头催办" in text and step.matter.number in text
    assert a_score() == Decimal("2.9")

    # Recording again is refused politely (the step is no longer due).
    again = staff.post(f"/steps/{step.pk}/record/", PHONE_FORM)
    assert again.status_code == 302 and LedgerEntry.objects.filter(step=step).count() == 1


def test_an_actions_error_is_shown_under_its_field(world, cast):
    step = due_phone_step(cast)
    response = browser(world, cast.staff).post(f"/steps/{step.pk}/record/",
                                               {**PHONE_FORM, "ev_promised_date": "not a date"})
    assert response.status_code == 400 and 'id="id_ev_promised_date_error"' in body(response)
    future = browser(world, cast.staff).post(f"/steps/{step.pk}/record/", {**PHONE_FORM, "on": "2099-01-01"})
    assert future.status_code == 400 and "督办日期不能晚于今天" in body(future)
    assert not LedgerEntry.objects.exists()


def test_only_supervision_staff_record_steps_and_other_units_do_not_see_them(world, cast):
    step = due_phone_step(cast)
    for user in (cast.office, cast.lead_clerk):
        assert browser(world, user).get(f"/steps/{step.pk}/record/").status_code == 403
        assert browser(world, user).post(f"/steps/{step.pk}/record/", PHONE_FORM).status_code == 403
    assert browser(world, cast.co_clerk).get(f"/steps/{step.pk}/record/").status_code == 404
    assert browser(world, cast.other_clerk).get(f"/steps/{step.pk}/").status_code == 404
    assert browser(world, cast.staff).get("/steps/999999/record/").status_code == 404
    assert not LedgerEntry.objects.exists()


def test_a_file_evidence_field_takes_an_upload_and_the_skippable_tier_can_be_skipped(world, cast):
    step = due_special_meeting(cast)
    staff = browser(world, cast.staff)
    page = body(staff.get(f"/steps/{step.pk}/record/"))
    assert 'type="file"' in page and "跳过" in page and "越过" not in page
    no_reason = staff.post(f"/steps/{step.pk}/skip/", {"skip-reason": ""})
    assert no_reason.status_code == 400 and "请填写理由" in body(no_reason)
    upload = io.BytesIO(b"%PDF-1.4\n% self-examination\n")
    upload.name = "书面检查.pdf"
    done = staff.post(f"/steps/{step.pk}/record/", {"ev_self_examination": upload, "ev_explanation": "局长当面说明",
                                                     "on": "2026-11-25"})
    assert done.status_code == 302, body(done)
    step.refresh_from_db()
    attachment = Attachment.objects.get(matter=step.matter)
    assert attachment.original_name == "书面检查.pdf"
    assert step.status == "recorded" and step.evidence["self_examination"].startswith("书面检查.pdf")
    assert LedgerEntry.objects.get(step=step).amount == Decimal("0.5")


def test_staff_skip_a_skippable_step_with_a_reason(world, cast):
    step = due_special_meeting(cast)
    response = browser(world, cast.staff).post(f"/steps/{step.pk}/skip/", {"skip-reason": "已由县领导约谈，直接追责"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == "skipped" and step.skip_reason == "已由县领导约谈，直接追责"
    assert not LedgerEntry.objects.filter(step=step).exists()


def test_the_unit_gives_its_written_reply_to_a_supervision_notice(world, cast):
    step = written_notice_step(cast)
    clerk = browser(world, cast.lead_clerk)
    page = body(clerk.get(f"/steps/{step.pk}/reply/"))
    assert step.notice.number in page and "提交答复" in page
    assert browser(world, cast.staff).post(f"/steps/{step.pk}/reply/", {"text": "代答"}).status_code == 403
    empty = clerk.post(f"/steps/{step.pk}/reply/", {"text": ""})
    assert empty.status_code == 400 and "请填写专题答复内容" in body(empty)
    assert clerk.post(f"/steps/{step.pk}/reply/", {"text": "已制定整改方案，12月5日前完成。"}).status_code == 302
    step.refresh_from_db()
    assert step.reply_text == "已制定整改方案，12月5日前完成。" and step.reply_by == cast.lead_clerk
    assert "已制定整改方案" in body(browser(world, cast.staff).get(f"/steps/{step.pk}/"))
    assert browser(world, cast.co_clerk).get(f"/steps/{step.pk}/reply/").status_code == 404


# --- scores, statements, the ledger ------------------------------------------------------------------
@pytest.mark.today("2026-11-26")
def test_scores_rank_units_with_deductions_by_type_and_chart_data(world, cast):
    written_notice_step(cast)  # D01: phone 0.1 + notice 0.2 on 2026-11-02
    response = browser(world, cast.staff).get("/scores/?year=2026")
    text = body(response)
    assert response.status_code == 200
    assert "vendor/echarts.min.js" in text and 'id="chart-tiers"' in text and 'id="chart-on-time"' in text
    assert 'id="tier-chart-data"' in text and 'id="rate-chart-data"' in text
    chart = response.context["tier_chart"]
    counts = dict(zip(chart["labels"], chart["counts"], strict=True))
    assert counts["电话、口头督办"] == 1 and counts["书面督办"] == 1 and counts["现场督办"] == 0
    rows = {row["code"]: row for row in response.context["rows"]}
    assert rows["D01"]["score"] == Decimal("2.7") and rows["T01"]["score"] == Decimal("3.0")
    assert rows["T01"]["rank"] == 1 and rows["D01"]["rank"] > 1
    columns = [label for _, label, _ in response.context["columns"]]
    d01 = dict(zip(columns, rows["D01"]["deductions"], strict=True))
    assert d01["电话或口头催办"] == Decimal("0.1") and d01["下发《督查督办通知单》"] == Decimal("0.2")
    assert len(response.context["months"]) == 11  # January … this month (November 2026)
    assert "导出年度考评表（Excel）" in text


def test_year_chosen_by_query_picks_the_scores_and_statement_shown(world, cast):
    written_notice_step(cast)  # D01: 0.3 deducted in 2026, nothing in 2025
    staff = browser(world, cast.staff)
    last_year = staff.get("/scores/?year=2025")
    assert last_year.status_code == 200 and last_year.context["year"] == 2025
    assert "2025年度督查督办考评" in body(last_year)
    rows = {row["code"]: row for row in last_year.context["rows"]}
    assert rows["D01"]["score"] == Decimal("3.0") and rows["D01"]["deducted"] == 0
    this_year = {row["code"]: row for row in staff.get("/scores/?year=2026").context["rows"]}
    assert this_year["D01"]["score"] == Decimal("2.7")
    statement = staff.get("/scores/D01/?year=2025")
    assert statement.context["year"] == 2025 and statement.context["final"] == statement.context["base"]
    assert staff.get("/scores/?year=last").status_code == 400


def test_on_time_rate_by_month_counts_closed_matters(world, cast):
    from duban.matters import actions

    matter = to_state(cast, "reported")
    actions.do_accept_result(matter.pk, actor=cast.office)
    today = clock.today()
    months = browser(world, cast.staff).get(f"/scores/?year={today.year}").context["months"]
    this_month = months[today.month - 1]
    assert (this_month["closed"], this_month["on_time"], this_month["rate"]) == (1, 1, 100.0)


def test_unit_staff_see_only_their_own_unit_and_statement(world, cast):
    written_notice_step(cast)
    clerk = browser(world, cast.lead_clerk)
    response = clerk.get("/scores/?year=2026")
    assert [row["code"] for row in response.context["rows"]] == ["D01"]
    assert "一号镇" not in body(response) and "导出年度考评表" not in body(response)
    assert clerk.get("/scores/T01/?year=2026").status_code == 404
    assert clerk.get("/scores/NOPE/").status_code == 404
    assert clerk.get("/scores/D01/?year=2026").status_code == 200
    assert clerk.get("/scores/annual.xlsx?year=2026").status_code == 403
    assert browser(world, cast.co_clerk).get("/scores/D01/").status_code == 404
    assert browser(world, cast.leader).get("/scores/T01/?year=2026").status_code == 200  # leaders read every score


def test_only_the_office_leader_reverses_an_entry_and_the_score_comes_back(world, cast):
    step = due_phone_step(cast)
    browser(world, cast.staff).post(f"/steps/{step.pk}/record/", PHONE_FORM)
    entry = LedgerEntry.objects.get(step=step)
    for user in (cast.staff, cast.lead_clerk, cast.leader):
        response = browser(world, user).post(f"/ledger/{entry.pk}/reverse/", {"reason": "记错了"})
        assert response.status_code == 403, user.username
    assert browser(world, cast.co_clerk).post(f"/ledger/{entry.pk}/reverse/", {"reason": "x"}).status_code == 404
    office = browser(world, cast.office)
    page = body(office.get("/ledger/?year=2026"))
    assert f'id="reason-{entry.pk}"' in page and "冲正" in page
    assert f'id="reason-{entry.pk}"' not in body(browser(world, cast.staff).get("/ledger/?year=2026"))
    empty = office.post(f"/ledger/{entry.pk}/reverse/", {"reason": " ", "next": "/ledger/?year=2026"})
    assert empty.status_code == 400 and "请填写理由" in body(empty)
    assert not LedgerEntry.objects.filter(reverses=entry).exists()
    done = office.post(f"/ledger/{entry.pk}/reverse/", {"reason": "电话记录重复", "next": "/ledger/?year=2026"})
    assert done.status_code == 302 and done["Location"] == "/ledger/?year=2026"
    reversal = LedgerEntry.objects.get(reverses=entry)
    assert reversal.amount == Decimal("-0.1") and reversal.created_by == cast.office
    assert a_score() == Decimal("3.0")
    statement = body(browser(world, cast.lead_clerk).get("/scores/D01/?year=2026"))
    assert 'id="statement-score">3.00<' in statement and "已冲正" in statement
    twice = office.post(f"/ledger/{entry.pk}/reverse/", {"reason": "再冲一次"})
    assert twice.status_code == 400 and LedgerEntry.objects.filter(reverses=entry).count() == 1
    assert office.post("/ledger/999999/reverse/", {"reason": "x"}).status_code == 404


# --- circulars -------------------------------------------------------------------------------------------
def test_a_circular_from_draft_to_publication(world, cast):
    staff, office = browser(world, cast.staff), browser(world, cast.office)
    assert browser(world, cast.office).get("/circulars/new/").status_code == 403
    assert browser(world, cast.lead_clerk).get("/circulars/new/").status_code == 403
    assert staff.get("/circulars/new/").status_code == 200
    today = clock.today()
    bad = staff.post("/circulars/new/", {"title": "十一月通报", "period_start": today.isoformat(),
                                         "period_end": (today - timedelta(days=5)).isoformat()})
    assert bad.status_code == 400 and 'id="id_period_end_error"' in body(bad)
    circular_record(cast)  # T01 closed a matter on time 20 days ago; D01 has one overdue
    created = staff.post("/circulars/new/", {"title": "十一月督办事项落实情况通报",
                                             "period_start": (today - timedelta(days=60)).isoformat(),
                                             "period_end": today.isoformat()})
    assert created.status_code == 302
    circular = Circular.objects.get(title="十一月督办事项落实情况通报")
    assert created["Location"] == f"/circulars/{circular.pk}/"
    page = body(staff.get(f"/circulars/{circular.pk}/"))
    assert "单位排名" in page and "一号局" in page and "保存" in page and ">发布<" not in page

    both = staff.post(f"/circulars/{circular.pk}/lists/", {"praised": ["T01"], "criticised": ["T01"]})
    assert both.status_code == 400 and 'id="id_criticised_error"' in body(both)
    saved = staff.post(f"/circulars/{circular.pk}/lists/", {"praised": ["T01"], "criticised": ["D01"],
                                                            "body": "一号局落实不力，予以通报批评。"})
    assert saved.status_code == 302
    assert list(circular.criticised.values_list("code", flat=True)) == ["D01"]

    assert ">发布<" in body(office.get(f"/circulars/{circular.pk}/"))
    assert browser(world, cast.lead_clerk).get(f"/circulars/{circular.pk}/").status_code == 404  # a draft
    assert staff.post(f"/circulars/{circular.pk}/publish/").status_code == 403
    published = office.post(f"/circulars/{circular.pk}/publish/")
    assert published.status_code == 302
    circular.refresh_from_db()
    assert circular.status == "published" and circular.notice.number.startswith("甲政督通〔")
    assert LedgerEntry.objects.get(circular=circular).amount == Decimal("0.5")
    clerk_page = body(browser(world, cast.lead_clerk).get(f"/circulars/{circular.pk}/"))
    assert circular.notice.number in clerk_page and "一号局" in clerk_page
    again = office.post(f"/circulars/{circular.pk}/publish/")
    assert again.status_code == 400 and LedgerEntry.objects.filter(circular=circular).count() == 1
    document = staff.get(f"/circulars/{circular.pk}/document/?format=pdf")
    assert document.status_code == 302
    pdf = staff.get(document["Location"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")


# --- the weekly report -------------------------------------------------------------------------------------
def test_the_weekly_report_editor_saves_versions_and_issues(world, cast):
    zone = ZoneInfo("Asia/Shanghai")
    today = clock.today()
    friday = today + timedelta(days=(5 - today.isoweekday()) % 7)
    report = draft_weekly_report(datetime.combine(friday, time(16, 1), tzinfo=zone)).report
    staff = browser(world, cast.staff)
    page = body(staff.get(f"/reports/weekly/{report.pk}/"))
    assert "总体情况" in page and "保存" in page and "报送审核" in page
    assert browser(world, cast.leader).get(f"/reports/weekly/{report.pk}/").status_code == 404  # a draft
    assert staff.get(f"/reports/weekly/{report.pk}/preview.pdf").status_code == 200
    stale = staff.post(f"/reports/weekly/{report.pk}/", {"summary": "旧稿", "attention": "", "version": 99})
    assert stale.status_code == 409
    saved = staff.post(f"/reports/weekly/{report.pk}/", {"summary": "本周督办工作总体平稳。",
                                                         "attention": "请关注一号局超期事项。",
                                                         "named_units": ["D01"], "note": "补充",
                                                         "version": report.version})
    assert saved.status_code == 302
    report.refresh_from_db()
    assert report.summary == "本周督办工作总体平稳。" and report.version == 2
    assert browser(world, cast.lead_clerk).post(f"/reports/weekly/{report.pk}/submit/",
                                                {"version": 2}).status_code == 404  # not visible to units
    assert browser(world, cast.office).post(f"/reports/weekly/{report.pk}/submit/", {"version": 2}).status_code == 403
    office = browser(world, cast.office)
    with as_of(friday + timedelta(days=1)):  # after the pack's weekly time
        assert staff.post(f"/reports/weekly/{report.pk}/submit/", {"version": report.version}).status_code == 302
        assert staff.post(f"/reports/weekly/{report.pk}/issue/", {"version": 3}).status_code == 403  # review first
        review = body(office.get(f"/reports/weekly/{report.pk}/"))
        assert "审核通过并印发" in review and "退回修改" in review
        reasonless = office.post(f"/reports/weekly/{report.pk}/return/", {"reason": "", "version": 3})
        assert reasonless.status_code == 400 and 'id="id_reason_error"' in body(reasonless)
        assert office.post(f"/reports/weekly/{report.pk}/return/", {"reason": "请补充超期事项。",
                                                                    "version": 3}).status_code == 302
        assert "请补充超期事项。" in body(staff.get(f"/reports/weekly/{report.pk}/"))
        assert staff.post(f"/reports/weekly/{report.pk}/submit/", {"version": 4}).status_code == 302
        issued = office.post(f"/reports/weekly/{report.pk}/issue/", {"version": 5})
    assert issued.status_code == 302
    report.refresh_from_db()
    assert report.status == WeeklyReport.Status.ISSUED and report.number
    leader_page = body(browser(world, cast.leader).get(f"/reports/weekly/{report.pk}/"))
    assert report.number in leader_page and "本周督办工作总体平稳" in leader_page
    assert browser(world, cast.lead_clerk).get(f"/reports/weekly/{report.pk}/").status_code == 200  # D01 named
    assert browser(world, cast.co_clerk).get(f"/reports/weekly/{report.pk}/").status_code == 404


# --- documents ------------------------------------------------------------------------------------------------
def test_a_document_downloads_as_pdf_and_word_with_a_chinese_file_name(world, cast):
    step = written_notice_step(cast)
    staff = browser(world, cast.staff)
    redirect = staff.get(f"/steps/{step.pk}/notice/?format=pdf")
    assert redirect.status_code == 302
    document = Document.objects.get(notice=step.notice)
    assert redirect["Location"] == f"/documents/{document.pk}/download/?format=pdf"
    response = staff.get(redirect["Location"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    disposition = response["Content-Disposition"]
    name = f"{step.notice.number} 督查督办通知单.pdf"
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert 'filename="supervision_notice-2026-' in disposition  # an ASCII name for old clients
    word = staff.get(f"/documents/{document.pk}/download/?format=docx")
    assert word["Content-Type"].endswith("wordprocessingml.document")
    assert zipfile.ZipFile(io.BytesIO(b"".join(word.streaming_content))).testzip() is None
    assert staff.get(f"/documents/{document.pk}/download/?format=xlsx").status_code == 404
    inline = staff.get(f"/documents/{document.pk}/download/?format=pdf&inline=1")
    assert inline["Content-Disposition"].startswith("inline;")

    listing = body(staff.get("/documents/"))
    assert step.notice.number in listing and f"/documents/{document.pk}/download/?format=docx" in listing
    detail = body(staff.get(f"/documents/{document.pk}/"))
    assert f"/verify/{document.code}/" in detail and "督查督办通知单" in detail
    # The unit it was sent to sees it; another unit does not (the same 404 as a missing one).
    assert browser(world, cast.lead_clerk).get(f"/documents/{document.pk}/download/").status_code == 200
    assert step.notice.number in body(browser(world, cast.lead_clerk).get("/documents/"))
    assert browser(world, cast.co_clerk).get(f"/documents/{document.pk}/download/").status_code == 404
    assert browser(world, cast.co_clerk).get(f"/documents/{document.pk}/").status_code == 404
    assert staff.get("/documents/999999/download/").status_code == 404


def test_the_annual_assessment_table_as_excel_and_pdf(world, cast):
    written_notice_step(cast)
    staff = browser(world, cast.staff)
    xlsx = staff.get("/scores/annual.xlsx?year=2026")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].endswith("spreadsheetml.sheet")
    assert b"".join(xlsx.streaming_content).startswith(b"PK")
    assert "filename*=UTF-8''" + quote("2026年督查督办工作年度考评表.xlsx", safe="") in xlsx["Content-Disposition"]
    pdf = browser(world, cast.leader).get("/scores/annual.pdf?year=2026")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")


# --- the rule pack --------------------------------------------------------------------------------------------
def test_the_rule_pack_in_plain_words(world, cast):
    text = body(browser(world, cast.lead_clerk).get("/rulepack/"))
    for words in ("县政务督查督办工作方案（默认规则包）", "重大决策和重要工作部署贯彻落实", "第1级：电话、口头督办",
                  "接听人", "督查督办通知单", "5 个工作日内专题答复", "本级可以跳过", "基础分 3.0 分",
                  "依据《县政务督查督办工作方案》 · 2026年11月25日版",
                  "电话或口头催办", "每次扣0.1分", "同一事项超过2次时扣0.1分", "每季度最后 2 周",
                  "每周星期五 16:00 起草", "得分下限作用于合计"):
        assert words in text, words


# --- notifications ------------------------------------------------------------------------------------------------
def test_the_inbox_highlights_unread_and_marks_read(world, cast):
    step = due_phone_step(cast)
    browser(world, cast.staff).post(f"/steps/{step.pk}/record/", PHONE_FORM)  # tells D01's staff
    second = written_notice_step(cast)
    notes = list(Notification.objects.filter(recipient=cast.lead_clerk).order_by("-id"))
    assert len(notes) >= 2 and all(n.read_at is None for n in notes)
    clerk = browser(world, cast.lead_clerk)
    page = body(clerk.get("/notifications/"))
    assert page.index(f'id="notification-{notes[0].pk}"') < page.index(f'id="notification-{notes[-1].pk}"')
    assert 'class="sv-unread"' in page and "标为已读" in page and "全部标为已读" in page
    # htmx: one notification, the row comes back read.
    row = clerk.post("/notifications/read/", {"id": notes[0].pk}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'data-unread="0"' in body(row) and "sv-unread" not in body(row)
    notes[0].refresh_from_db()
    assert notes[0].read_at is not None and Notification.objects.get(pk=notes[1].pk).read_at is None
    # Another person's notification is not theirs to mark.
    assert browser(world, cast.staff).post("/notifications/read/", {"id": notes[1].pk},
                                           HTTP_HX_REQUEST="true").status_code == 404
    assert Notification.objects.get(pk=notes[1].pk).read_at is None
    # Opening one marks it read and goes to its page.
    opened = clerk.get(f"/notifications/{notes[1].pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == notes[1].url
    assert Notification.objects.get(pk=notes[1].pk).read_at is not None
    everything = clerk.post("/notifications/read/")
    assert everything.status_code == 302
    assert not Notification.objects.filter(recipient=cast.lead_clerk, read_at__isnull=True).exists()
    assert 'class="sv-unread"' not in body(clerk.get("/notifications/"))
    assert second.notice.number in body(clerk.get("/notifications/"))


def test_notification_preferences_turn_a_channel_off(world, cast):
    clerk = browser(world, cast.lead_clerk)
    form = clerk.get("/notifications/preferences/")
    text = body(form)
    assert form.status_code == 200 and "事项交办" in text and "电子邮件" in text
    fields = form.context["form"].cells
    data = {name: "on" for name, (event, channel) in fields.items() if event != "light.yellow"}
    assert clerk.post("/notifications/preferences/", data).status_code == 302
    assert list(Preference.objects.filter(user=cast.lead_clerk).values_list("event", "channel", "enabled")) == [
        ("light.yellow", "email", False)]
    again = clerk.get("/notifications/preferences/")
    assert again.context["form"]["light__yellow--email"].value() is False
