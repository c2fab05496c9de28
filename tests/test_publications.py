"""Publications a county signs say only what is true (issue 17): no PDF is numbered, stored or sent
unless its fonts are embedded and its Chinese is there; a circular praises and criticises from
the facts of its period (五(三) 鼓励先进，批评后进), under the pack's criterion, and its ranking
does not count a matter that is not yet due as late."""

from __future__ import annotations

import json
from datetime import date as date_
from datetime import datetime, time, timedelta

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, led_by, make_cast, to_state

from duban.core import clock
from duban.core.clock import as_of
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Invalid
from duban.documents import fonts
from duban.documents.pdf import DocumentNotPrinted, check_pdf, render_pdf
from duban.matters import actions
from duban.reports import documents as report_documents
from duban.reports.actions import do_edit_weekly_report, do_issue_weekly_report, do_return_weekly_report, do_submit_weekly_report
from duban.supervision import documents as supervision_documents
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_inspection,
    do_record_manual_step,
    do_set_circular_lists,
)

pytestmark = pytest.mark.django_db

PHONE = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-31"}


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def draft(cast, days: int = 30):
    today = clock.today()
    return do_draft_circular(actor=cast.staff, title="关于督办事项落实情况的通报",
                                       period_start=today - timedelta(days=days), period_end=today)


def text_of(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str)


def row(circular, code: str) -> dict:
    return next(r for r in circular.ranking if r["unit"] == code)


# --- 1. no blank document is ever issued ------------------------------------------------------------
def embedded_families(pdf: bytes) -> set[str]:
    import io

    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    families = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile3") or descriptor.get("/FontFile2")
            families.add(TTFont(io.BytesIO(program.get_object().get_data()))["name"].getDebugName(1))
    return families


def test_1_documents_name_their_simplified_chinese_faces_by_file(cast, settings, tmp_path):
    settings.DUBAN_FONT_DIR = tmp_path / "fonts"
    css = fonts.font_face_css()
    assert css.count("@font-face") == 4 and str(tmp_path / "fonts") in css and "fontconfig" not in css
    pdf = render_pdf({"kind": "circular", "title": "关于督办事项落实情况的通报", "office": "甲县人民政府办公室",
                      "blocks": [{"type": "p", "text": "骨直返"}]}, None)
    assert embedded_families(pdf) <= {"Noto Serif CJK SC", "Noto Sans CJK SC"}  # never the JP face of the .ttc


def test_1_a_pdf_without_its_chinese_fonts_or_text_is_refused(cast):
    from weasyprint import HTML

    dejavu = HTML(string='<html><body style="font-family: DejaVu Sans"><h1>督查专报</h1></body></html>').write_pdf()
    with pytest.raises(DocumentNotPrinted) as refused:
        check_pdf(dejavu, "督查专报")
    assert "简体中文字体" in str(refused.value)
    good = render_pdf({"kind": "circular", "title": "关于督办事项落实情况的通报", "office": "甲县人民政府办公室",
                       "blocks": []}, None)
    check_pdf(good, "关于督办事项落实情况的通报")
    with pytest.raises(DocumentNotPrinted) as missing:
        check_pdf(good, "另一个标题")
    assert "另一个标题" in str(missing.value)


def test_1_a_weekly_report_whose_pdf_cannot_carry_its_chinese_is_not_numbered(cast, settings, tmp_path):
    """The incident: an issued 督查专报 with DejaVu only. Without the faces, issuing is refused with
    a clear message, and no number, document or notification is left behind."""
    from duban.documents.models import Document
    from duban.matters.models import Notice
    from duban.notifications.models import Notification
    from duban.reports.actions import do_issue_weekly_report, do_submit_weekly_report
    from duban.reports.weekly import draft_weekly_report

    after_its_week = friday_after(clock.today()) + timedelta(days=1)
    with as_of(after_its_week):
        report = draft_weekly_report(actor=cast.staff).report
        do_submit_weekly_report(report.pk, actor=cast.staff)
    settings.DUBAN_FONT_DIR = tmp_path / "no-fonts"
    settings.DUBAN_CJK_FONT_SOURCE = tmp_path / "nowhere"
    numbers, notes = Notice.objects.count(), Notification.objects.count()
    with as_of(after_its_week), pytest.raises(DocumentNotPrinted) as refused:
        do_issue_weekly_report(report.pk, actor=cast.office)
    assert "未编号" in str(refused.value) and refused.value.field == "document"
    report.refresh_from_db()
    assert report.seq is None and not Document.objects.filter(kind="weekly_report").exists()
    assert (Notice.objects.count(), Notification.objects.count()) == (numbers, notes)


def test_1_a_circular_is_published_with_its_checked_document_or_not_at_all(cast, settings, tmp_path):
    from duban.documents.models import Document

    circular_record(cast)
    circular = draft(cast)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
    source = settings.DUBAN_CJK_FONT_SOURCE
    settings.DUBAN_FONT_DIR, settings.DUBAN_CJK_FONT_SOURCE = tmp_path / "no-fonts", tmp_path / "nowhere"
    with pytest.raises(DocumentNotPrinted):
        do_publish_circular(circular.pk, actor=cast.office)
    circular.refresh_from_db()
    assert circular.status == "draft" and circular.notice is None and not circular.ledger.exists()
    settings.DUBAN_FONT_DIR, settings.DUBAN_CJK_FONT_SOURCE = tmp_path / "fonts", source
    published = do_publish_circular(circular.pk, actor=cast.office)
    document = Document.objects.get(kind="circular", circular=published)
    assert document.number == published.notice.number


# --- 2. praise and criticism rest on the period's facts ----------------------------------------------
def test_2_praise_for_a_unit_with_no_on_time_closure_is_refused_by_name(cast):
    circular_record(cast)
    circular = draft(cast)
    assert row(circular, "T99")["on_time"] == 0
    with pytest.raises(Invalid) as refused:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T99"], criticised=[])
    assert refused.value.field == "praised"
    message = str(refused.value)
    assert "九十九镇" in message and "按期办结督办事项0件" in message and "至少1件" in message
    assert not circular.praised.exists()


def test_2_a_unit_with_an_overdue_matter_is_not_praised_even_with_an_on_time_closure(cast):
    circular_record(cast)
    with as_of(clock.today() - timedelta(days=15)):
        led_by(cast, "T01", cast.co_clerk, deadline_working_days=2)  # overdue by today
    circular = draft(cast)
    with pytest.raises(Invalid) as refused:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=[])
    assert "一号镇" in str(refused.value) and "逾期未办结1件" in str(refused.value)


def test_2_criticism_needs_an_adverse_fact_of_the_period(cast):
    circular_record(cast)
    circular = draft(cast)
    for field, lists in (("criticised", {"criticised": ["T99"]}), ("named", {"criticised": [], "named": ["T99"]})):
        with pytest.raises(Invalid) as refused:
            do_set_circular_lists(circular.pk, actor=cast.staff, praised=[], **lists)
        assert refused.value.field == field and "九十九镇" in str(refused.value)


def test_2_the_sentences_state_each_units_own_facts(cast):
    closed, overdue = circular_record(cast)
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=clock.today())
    circular = draft(cast)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
    published = do_publish_circular(circular.pk, actor=cast.office)
    text = text_of(supervision_documents.circular_content(published))
    assert "一号镇本期承办督办事项1件，按期办结1件，予以通报表扬。" in text
    assert "一号局本期承办督办事项1件，逾期未办结1件，被采取督办措施1次（电话、口头督办1次），落实不力，予以全县通报批评" in text
    assert "领导重视、措施有力" not in text  # no fixed praise that claims what did not happen


def test_2_publishing_takes_the_facts_again_and_refuses_praise_they_no_longer_bear(cast):
    closed, _overdue = circular_record(cast)
    circular = draft(cast)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
    with as_of(clock.today() - timedelta(days=12)):
        late = led_by(cast, "T01", cast.co_clerk, deadline_working_days=2)
    do_record_manual_step(late.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=clock.today())
    with pytest.raises(Invalid) as refused:
        do_publish_circular(circular.pk, actor=cast.office)
    assert "一号镇" in str(refused.value) and refused.value.field == "praised"
    circular.refresh_from_db()
    assert circular.status == "draft" and circular.notice is None


def test_2_the_ranking_counts_only_matters_that_are_due(cast):
    """A matter still within its deadline is neither on time nor late: it is not in the rate's
    denominator, and a unit with nothing due has no rate (ranked after those that have one)."""
    closed, overdue = circular_record(cast)
    with as_of(clock.today() - timedelta(days=3)):
        led_by(cast, "T99", cast.other_clerk, deadline_working_days=30)
    circular = draft(cast)
    t01, d01, t99 = row(circular, "T01"), row(circular, "D01"), row(circular, "T99")
    assert (t01["assigned"], t01["due"], t01["on_time_rate"]) == (1, 1, 1.0)
    assert (d01["assigned"], d01["due"], d01["on_time_rate"]) == (1, 1, 0.0)
    assert (t99["assigned"], t99["due"], t99["on_time_rate"]) == (1, 0, None)
    assert t01["rank"] < d01["rank"] < t99["rank"]
    text = text_of(supervision_documents.circular_content(circular))
    assert "已到期" in text and "按期办结率＝按期办结÷已到期" in text
    assert county_pack().circulars.praise.min_closed_on_time == 1



# --- 3. the weekly 督查专报 is reviewed before it goes up, and covers its own week -----------------
def friday_after(day):
    return day + timedelta(days=(5 - day.isoweekday()) % 7)


def test_3_staff_submit_the_office_leader_returns_or_issues(cast):
    """一(二) 督办结果上报前，须经县政府办公室主管领导审核: staff draft and submit, the office
    leader returns it with a reason or issues it; only then is it numbered."""
    from duban.core.errors import NotAllowed
    from duban.notifications.models import Notification
    from duban.reports import weekly

    friday = friday_after(clock.today())
    with as_of(friday + timedelta(days=1)):
        report = weekly.draft_weekly_report(actor=cast.staff).report
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="本周新交办事项2件。")
        with pytest.raises(NotAllowed):
            do_issue_weekly_report(report.pk, actor=cast.staff)
        with pytest.raises(Invalid) as early:
            do_issue_weekly_report(report.pk, actor=cast.office)
        assert early.value.field == "status"  # not submitted yet
        do_submit_weekly_report(report.pk, actor=cast.staff)
        assert Notification.objects.filter(recipient=cast.office, event="weekly_report.submitted").exists()
        with pytest.raises(Invalid):
            do_edit_weekly_report(report.pk, actor=cast.staff, summary="审核中不能改")
        with pytest.raises(Invalid) as reasonless:
            do_return_weekly_report(report.pk, actor=cast.office, reason=" ")
        assert reasonless.value.field == "reason"
        do_return_weekly_report(report.pk, actor=cast.office, reason="请补充超期事项的督办情况。")
        report.refresh_from_db()
        assert report.status == "draft" and report.seq is None
        assert Notification.objects.filter(recipient=cast.staff, event="weekly_report.returned").exists()
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="本周新交办事项2件，超期事项已电话督办。")
        do_submit_weekly_report(report.pk, actor=cast.staff)
        issued = do_issue_weekly_report(report.pk, actor=cast.office)
    assert issued.status == "issued" and issued.seq and issued.issued_by == cast.office
    assert [(r.decision, r.reviewed_by) for r in issued.reviews.order_by("id")] == [
        ("returned", cast.office), ("issued", cast.office)]


def test_3_a_draft_and_a_preview_any_time_issuing_waits_for_the_weekly_time(cast):
    from duban.reports import weekly

    friday = friday_after(clock.today())
    wednesday = friday - timedelta(days=2)
    with as_of(wednesday):
        report = weekly.draft_weekly_report(actor=cast.staff).report  # staff may draft before the weekly time
        assert report is not None and report.period_end == friday
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="本周情况。")
        do_submit_weekly_report(report.pk, actor=cast.staff)
        with pytest.raises(Invalid) as waits:
            do_issue_weekly_report(report.pk, actor=cast.office)
    assert waits.value.field == "status" and "16:00" in str(waits.value)
    with as_of(friday + timedelta(days=1)):
        assert do_issue_weekly_report(report.pk, actor=cast.office).status == "issued"


def test_3_the_report_covers_its_own_week_whenever_it_is_drafted(cast):
    """Facts recorded after the week's end are not in it: a matter closed and a step recorded the
    Monday after are not this week's; the matter was overdue at the week's end."""
    from duban.reports import weekly

    friday = friday_after(clock.today())
    monday_after = friday + timedelta(days=3)
    with as_of(friday - timedelta(days=30)):
        overdue = to_state(cast, "in_progress", deadline_working_days=5)
    with as_of(monday_after):
        do_record_manual_step(overdue.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=monday_after)
        actions.do_report_result(overdue.pk, actor=cast.lead_clerk, text="已完成。")
        actions.do_accept_result(overdue.pk, actor=cast.office)
        report = weekly.draft_weekly_report(datetime.combine(friday, time(17), tzinfo=weekly.county_zone())).report
    s = report.sections
    assert report.period_end == friday
    assert [row["number"] for row in s["overdue"]] == [overdue.number]
    assert s["closed"] == [] and s["steps"] == []
    assert s["totals"]["under_way"] >= 1


# --- 5. the annual table states the rules as the pack has them, names the regulation, ranks ------
@pytest.mark.today("2026-11-26")  # a matter assigned on 2026-09-01 and urged today
def test_5_the_annual_table_states_each_rule_as_the_pack_counts_it_and_names_the_regulation(cast, tmp_path):
    """The redo row has no 'per time' (六(五)): the legend says once per matter beyond two redos,
    not 每次; the table names the regulation, never the pack's internal id; units are ranked."""
    import subprocess

    from duban.documents import service

    with as_of(date_(2026, 9, 1)):
        overdue = to_state(cast, "in_progress", deadline_working_days=10)
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=clock.today())
    document = report_documents.annual_assessment_document(clock.today().year, actor=cast.staff)
    path = tmp_path / "annual.pdf"
    path.write_bytes(service.pdf_bytes(document))
    text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
                   .split())
    assert "复办次数超过两次，同一事项超过2次时扣0.1分（每个事项一次）" in text
    assert "复办次数超过两次每次扣" not in text and "county_default" not in text and "规则包" not in text
    assert "《县政务督查督办工作方案》" in text
    table = next(block for block in document.content["blocks"] if block["type"] == "table")
    assert table["columns"][1] == "名次"
    ranks = {row[2]: str(row[1]) for row in table["rows"]}
    assert ranks["一号镇"] == "1" and ranks["一号局"] == str(len(table["rows"]))  # D01 lost 0.1; the others tie first


# --- 4. leaders hear about results; the quarter's inspection is reported to them (五(一)) ----------
def test_4_the_office_leader_hears_of_a_reported_result_and_the_assigning_leader_of_its_closing(cast):
    from duban.notifications.models import Notification

    matter = to_state(cast, "in_progress")
    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="已完成改造。")
    told = Notification.objects.get(event="result.reported", recipient=cast.office)
    assert matter.title in told.title and "一号局" in told.body
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="同意办结。")
    closing = Notification.objects.filter(event="result.accepted").values_list("recipient__username", flat=True)
    assert cast.leader.username in closing  # the county leader who proposed and approved it
    assert cast.lead_clerk.username in closing


def test_4_a_quarters_inspection_is_reported_to_the_county_leaders_when_it_closes(world, cast):
    from django.test import Client

    from duban.notifications.models import Notification
    from duban.supervision import inspection

    with as_of(date_(2026, 11, 2)):
        to_state(cast, "in_progress", deadline_working_days=10)
    round_ = inspection.open_inspection_if_due(on=date_(2026, 12, 20))
    leader = Client(HTTP_HOST=world.owner.host)
    leader.force_login(cast.leader)
    assert leader.get(f"/inspections/{round_.pk}/").status_code == 404  # not reported yet
    item = round_.items.get()
    with as_of(date_(2026, 12, 21)):
        do_record_inspection(item.pk, actor=cast.staff, result="behind", findings="进度滞后，已约谈。")
    assert inspection.report_inspection_if_due(on=date_(2026, 12, 31)) == []  # the window is still open
    reported = inspection.report_inspection_if_due(on=date_(2027, 1, 4))
    assert [r.pk for r in reported] == [round_.pk]
    assert inspection.report_inspection_if_due(on=date_(2027, 1, 5)) == []  # once
    note = Notification.objects.get(event="inspection.reported", recipient=cast.leader)
    assert "2026年第4季度督查" in note.title and "滞后1项" in note.body
    page = leader.get(f"/inspections/{round_.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "进度滞后" in text and "进度滞后，已约谈。" in text and "一号局" in text
    assert f"/inspections/{round_.pk}/" in leader.get("/inspections/").content.decode()


# --- 7. deputies' suggestions and CPPCC proposals close with the proposer's satisfaction -----------
def proposal(cast, **propose):
    matter = led_by(cast, "D01", cast.lead_clerk, category="deputy_proposal", title="关于增设农村客运班线的建议",
                    **propose)
    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="已答复代表：年内开通两条班线。")
    return matter


def test_7_a_proposal_closes_with_the_proposers_satisfaction_recorded_with_the_reply(cast):
    matter = proposal(cast)
    with pytest.raises(Invalid) as missing:
        actions.do_accept_result(matter.pk, actor=cast.office, reasons="同意办结。")
    assert missing.value.field == "satisfaction" and "满意" in str(missing.value)
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="代表表示满意。", satisfaction="satisfied")
    matter.refresh_from_db()
    review = matter.reports.get().review
    assert matter.state == "closed" and review.satisfaction == "satisfied"
    ordinary = to_state(cast, "reported")
    with pytest.raises(Invalid) as not_a_proposal:
        actions.do_accept_result(ordinary.pk, actor=cast.office, satisfaction="satisfied")
    assert not_a_proposal.value.field == "satisfaction"


def test_7_an_unsatisfied_proposer_reopens_it_for_a_second_reply_within_the_packs_period(cast):
    from duban.supervision.models import LedgerEntry

    matter = proposal(cast)
    rule = county_pack().category("deputy_proposal").proposer_satisfaction
    today = clock.today()
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="代表不满意：班线时间未明确。", satisfaction="unsatisfied")
    matter.refresh_from_db()
    expected = county_calendar().add_working_days(today, rule.second_reply_working_days)[0]
    assert matter.state == "in_progress" and matter.deadline == expected
    assert matter.deadline_changes.order_by("-id").first().kind == "second_reply"
    assert matter.redo_count == 0 and not LedgerEntry.objects.filter(matter=matter).exists()  # not a redo
    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="再次答复：明确每日两班。")
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="代表仍不满意，已作说明。", satisfaction="unsatisfied")
    matter.refresh_from_db()
    assert matter.state == "closed"  # a second reply closes it, whatever the view
    assert [r.review.satisfaction for r in matter.reports.order_by("attempt")] == ["unsatisfied", "unsatisfied"]


def test_7_the_weekly_report_and_the_annual_table_count_the_proposers_views(cast):
    from duban.reports.annual import annual_assessment
    from duban.reports.weekly import compute_sections

    first, second = proposal(cast), proposal(cast)
    actions.do_accept_result(first.pk, actor=cast.office, satisfaction="satisfied")
    actions.do_accept_result(second.pk, actor=cast.office, satisfaction="basically_satisfied")
    today = clock.today()
    sections = compute_sections(today - timedelta(days=6), today, today)
    assert sections["proposals"] == {"satisfied": 1, "basically_satisfied": 1, "unsatisfied": 0}
    from duban.reports.models import WeeklyReport

    report = WeeklyReport.objects.create(week_of=date_(2000, 1, 3), period_start=today - timedelta(days=6),
                                         period_end=today, sections=sections, summary="本周情况。")
    assert "代表委员满意1件、基本满意1件、不满意0件" in text_of(report_documents.weekly_report_content(report, leaders=[]))
    data = annual_assessment(today.year)
    assert data.proposals == {"satisfied": 1, "basically_satisfied": 1, "unsatisfied": 0}
    assert "满意1件、基本满意1件、不满意0件" in text_of(report_documents.annual_assessment_content(data))


def test_7_the_office_leader_records_the_view_on_the_matter_page(world, cast):
    from django.test import Client

    matter = proposal(cast)
    office = Client(HTTP_HOST=world.owner.host)
    office.force_login(cast.office)
    page = office.get(f"/matters/{matter.pk}/").content.decode()
    assert "代表委员对答复的意见" in page and "基本满意" in page
    matter.refresh_from_db()
    refused = office.post(f"/matters/{matter.pk}/accept/", {"reasons": "", "expected_version": matter.version})
    assert refused.status_code == 400
    done = office.post(f"/matters/{matter.pk}/accept/", {"reasons": "代表基本满意。", "satisfaction": "basically_satisfied",
                                                        "expected_version": matter.version})
    assert done.status_code in (200, 302), done.content.decode()[:300]
    matter.refresh_from_db()
    assert matter.state == "closed" and matter.reports.get().review.satisfaction == "basically_satisfied"


def test_1_no_notice_number_is_taken_while_no_chinese_pdf_can_be_printed(cast, settings, tmp_path):
    """A matter's assignment takes its notice's number (交办通知单); without the Chinese faces the
    assignment is refused and nothing is numbered or changed."""
    from duban.matters.models import Notice

    matter = to_state(cast, "approved")
    source = settings.DUBAN_CJK_FONT_SOURCE
    settings.DUBAN_FONT_DIR, settings.DUBAN_CJK_FONT_SOURCE = tmp_path / "no-fonts", tmp_path / "nowhere"
    with pytest.raises(DocumentNotPrinted) as refused:
        actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", requirements="按期办结",
                                 deadline_working_days=10)
    assert refused.value.field == "document"
    matter.refresh_from_db()
    assert matter.state == "approved" and not Notice.objects.filter(matter=matter).exists()
    settings.DUBAN_FONT_DIR, settings.DUBAN_CJK_FONT_SOURCE = tmp_path / "fonts", source
    actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", requirements="按期办结",
                             deadline_working_days=10)
    assert Notice.objects.filter(matter=matter, kind="assignment_notice").count() == 1
