"""Supervision work in the browser (issue 20, points 4–7), driven with Django's test client on
real PostgreSQL: the steps and the ledger in the menu; a step started by staff on their own
initiative, withdrawn by the office leader and skipped, each with its reason; the assign form
pre-filled from the leader's proposal; closing a matter whose co-unit never signed or reported
only after a confirmation; the weekly report drafted and previewed on any day; the timeline's
content and effective dates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state
from test_web_supervision import EVIDENCE, body, browser, due_special_meeting, overdue_matter

from duban.audit.models import AuditEvent
from duban.core.clock import as_of
from duban.core.county import county_pack
from duban.matters import actions
from duban.reports.models import WeeklyReport
from duban.supervision.actions import do_record_manual_step, withdrawing_kind
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.web.views_steps import step_view_context

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

@pytest.fixture
def cast(world, settings, tmp_path):
    """The people of test_web_supervision (county alpha), files under a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


START_FORM = {"reason": "县长批示要求加快，主动电话督办", "ev_contact": "王科长", "ev_contacted_at": "2026-11-25T10:00",
              "ev_promised_date": "2026-12-10", "ev_note": "", "on": "2026-11-25"}


# --- point 4: the menu; start, withdraw and skip a step, each with its reason -------------------------
def test_steps_and_ledger_are_in_the_menu_of_the_office_the_leader_and_the_units(world, cast):
    for user in (cast.staff, cast.office, cast.leader, cast.lead_clerk):
        page = body(browser(world, user).get("/matters/"))
        assert 'href="/steps/"' in page and "督办措施" in page, user.username
        assert 'href="/ledger/"' in page and "扣分台账" in page, user.username


def test_staff_start_a_step_on_their_own_initiative_with_a_reason(world, cast):
    matter = overdue_matter(cast)
    client = browser(world, cast.staff)
    detail = body(client.get(f"/matters/{matter.pk}/"))
    assert f'href="/steps/new/{matter.pk}/"' in detail and "主动督办" in detail
    choose = body(client.get(f"/steps/new/{matter.pk}/"))
    assert "下一步" in choose and "电话、口头督办" in choose
    # the ladder is climbed in order: the on-site step cannot come first
    refused = client.get(f"/steps/new/{matter.pk}/?unit=D01&tier=onsite")
    assert "督办须逐级进行" in body(refused) and "电话、口头督办" in body(refused)
    url = f"/steps/new/{matter.pk}/?unit=D01&tier=phone"
    form = body(client.get(url))
    assert 'name="reason"' in form and 'name="ev_contact"' in form
    missing = client.post(url, {**START_FORM, "reason": ""})
    assert missing.status_code == 400 and "请填写主动督办的理由" in body(missing)
    assert not EscalationStep.objects.filter(matter=matter).exists()
    done = client.post(url, START_FORM)
    assert done.status_code == 302
    step = EscalationStep.objects.get(matter=matter)
    assert (step.tier, step.unit.code, step.status, step.source) == ("phone", "D01", "recorded", "manual")
    assert step.recorded_on == date(2026, 11, 25)
    page = body(client.get(done["Location"]))
    assert "主动督办理由" in page and START_FORM["reason"] in page
    timeline = body(client.get(f"/matters/{matter.pk}/"))
    assert "主动督办" in timeline and START_FORM["reason"] in timeline


def test_only_staff_start_steps(world, cast):
    matter = overdue_matter(cast)
    assert browser(world, cast.office).get(f"/steps/new/{matter.pk}/").status_code == 403
    assert browser(world, cast.lead_clerk).get(f"/steps/new/{matter.pk}/").status_code == 403
    assert "主动督办" not in body(browser(world, cast.office).get(f"/matters/{matter.pk}/"))


def test_the_office_leader_withdraws_a_recorded_step_with_a_reason_and_the_points_come_back(world, cast):
    matter = overdue_matter(cast)
    step = do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                 on=date(2026, 11, 2))
    assert LedgerEntry.objects.filter(step=step).count() == 1
    staff_page = body(browser(world, cast.staff).get(f"/steps/{step.pk}/"))
    assert 'id="step-withdraw"' not in staff_page
    assert browser(world, cast.staff).post(f"/steps/{step.pk}/withdraw/", {"withdraw-reason": "x"}).status_code == 403
    client = browser(world, cast.office)
    page = body(client.get(f"/steps/{step.pk}/"))
    assert 'id="step-withdraw"' in page and "系误记" in page
    empty = client.post(f"/steps/{step.pk}/withdraw/", {"withdraw-reason": ""})
    assert empty.status_code == 400 and "请填写理由" in body(empty)
    done = client.post(f"/steps/{step.pk}/withdraw/", {"withdraw-reason": "电话系误拨，未实际督办"})
    assert done.status_code == 302
    step.refresh_from_db()
    assert step.status == "withdrawn" and "电话系误拨" in step.closed_note
    assert sum(e.amount for e in LedgerEntry.objects.filter(step=step)) == 0
    page = body(client.get(f"/steps/{step.pk}/"))
    assert "撤销理由" in page and "电话系误拨，未实际督办" in page and 'id="step-withdraw"' not in page
    timeline = body(client.get(f"/matters/{matter.pk}/"))
    assert "督办措施撤销" in timeline and "电话系误拨，未实际督办" in timeline


def test_a_pack_without_a_withdrawing_correction_offers_no_withdrawal(world, cast):
    matter = overdue_matter(cast)
    step = do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                 on=date(2026, 11, 2))
    default = county_pack()
    assert withdrawing_kind(default).code == "recorded_in_error"
    assert step_view_context(cast.office, step, default)["can_withdraw"]
    # A county whose rules only give points back (情况说明属实): nothing to withdraw a step with.
    waiving = default.derive(name="county_waiving",
                             schedule={"reversal_kinds": [{"code": "recorded_in_error", "remove": True}]})
    assert withdrawing_kind(waiving) is None
    context = step_view_context(cast.office, step, waiving)
    assert not context["can_withdraw"] and context["withdraw_form"] is None


def test_a_skippable_step_is_skipped_with_its_reason_on_the_timeline(world, cast):
    step = due_special_meeting(cast)
    client = browser(world, cast.staff)
    done = client.post(f"/steps/{step.pk}/skip/", {"skip-reason": "已现场督办，直接启动问责"})
    assert done.status_code == 302
    step.refresh_from_db()
    assert step.status == "skipped"
    assert AuditEvent.objects.filter(action="matter.step_skipped", object_id=str(step.matter_id)).exists()
    timeline = body(client.get(f"/matters/{step.matter_id}/"))
    assert "跳过督办措施" in timeline and "已现场督办，直接启动问责" in timeline


# --- point 5: the assign form pre-filled; closing without a co-unit's part asks first -----------------
def test_the_assign_form_is_pre_filled_with_the_leaders_deadline_and_co_units(world, cast):
    matter = proposed(cast, proposed_units=["D01", "T01"], requested_deadline=date(2026, 12, 28))
    actions.do_register_matter(matter.pk, actor=cast.staff)
    actions.do_approve_matter(matter.pk, actor=cast.leader, comment="同意")
    page = body(browser(world, cast.staff).get(f"/matters/{matter.pk}/"))
    box = page[page.index('id="action-assign"'):]
    box = box[:box.index("</form>")]
    assert re.search(r'<option value="D01"[^>]*selected', box), box
    assert re.search(r'value="T01"[^>]*checked|checked[^>]*value="T01"', box)
    assert 'value="2026-12-28"' in box and "领导要求2026年12月28日前完成" in box
    assert not re.search(r'name="deadline_working_days"[^>]*value=', box)


def test_closing_a_matter_whose_co_unit_never_reported_needs_a_confirmation_and_says_so(world, cast):
    matter = to_state(cast, "assigned")
    actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)  # T01 never signs nor reports
    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="改造全部完成，已交付使用。")
    matter.refresh_from_db()
    client = browser(world, cast.office)
    page = body(client.get(f"/matters/{matter.pk}/"))
    assert 'name="confirm_missing_parts"' in page and "一号镇未签收" in page
    unconfirmed = client.post(f"/matters/{matter.pk}/accept/", {"expected_version": matter.version, "reasons": "同意"})
    assert unconfirmed.status_code == 400 and "请勾选确认框" in body(unconfirmed)
    matter.refresh_from_db()
    assert matter.state == "reported"
    done = client.post(f"/matters/{matter.pk}/accept/", {"expected_version": matter.version, "reasons": "同意办结",
                                                         "confirm_missing_parts": "on"})
    assert done.status_code == 302
    matter.refresh_from_db()
    assert matter.state == "closed"
    event = AuditEvent.objects.get(action="matter.accept", object_id=str(matter.pk))
    assert event.after["co_units_not_signed"] == ["T01"]
    timeline = body(client.get(f"/matters/{matter.pk}/"))
    assert "未签收的协办单位：一号镇" in timeline and "审核意见：</span>同意办结" in timeline


def test_a_matter_whose_co_units_reported_closes_without_the_question(world, cast):
    matter = to_state(cast, "reported")  # T01 signed and reported its part
    client = browser(world, cast.office)
    assert 'name="confirm_missing_parts"' not in body(client.get(f"/matters/{matter.pk}/"))
    done = client.post(f"/matters/{matter.pk}/accept/", {"expected_version": matter.version, "reasons": ""})
    assert done.status_code == 302
    assert "co_units_not_signed" not in AuditEvent.objects.get(action="matter.accept", object_id=str(matter.pk)).after


# --- point 6: the weekly report drafted and previewed on any day; issued after review -----------------
def test_the_weekly_report_is_drafted_and_previewed_on_a_monday_and_issued_only_after_review(world, cast):
    staff, office = browser(world, cast.staff), browser(world, cast.office)
    with as_of(date(2026, 11, 23)):  # a Monday: the pack's weekly moment is Friday 16:00
        listing = body(staff.get("/reports/weekly/"))
        assert "也可随时起草、预览" in listing and "起草本周专报" in listing
        drafted = staff.post("/reports/weekly/draft/")
        assert drafted.status_code == 302
        report = WeeklyReport.objects.get(week_of=date(2026, 11, 23))
        assert drafted["Location"] == f"/reports/weekly/{report.pk}/"
        page = body(staff.get(drafted["Location"]))
        assert "草稿可随时修改和预览" in page and "预览PDF" in page
        preview = staff.get(f"/reports/weekly/{report.pk}/preview.pdf")
        assert preview.status_code == 200 and preview["Content-Type"] == "application/pdf"
        assert b"".join(preview.streaming_content).startswith(b"%PDF")
        assert "打开本周专报" in body(staff.get("/reports/weekly/"))
        assert staff.post("/reports/weekly/draft/")["Location"] == f"/reports/weekly/{report.pk}/"  # the same one
        saved = staff.post(f"/reports/weekly/{report.pk}/", {"summary": "本周督办工作总体平稳。", "attention": "",
                                                             "note": "", "version": report.version})
        assert saved.status_code == 302
        report.refresh_from_db()
        assert staff.post(f"/reports/weekly/{report.pk}/submit/", {"version": report.version}).status_code == 302
        report.refresh_from_db()
        early = office.post(f"/reports/weekly/{report.pk}/issue/", {"version": report.version})
        assert early.status_code == 400 and "本周报送时间" in body(early)
    report.refresh_from_db()
    assert report.status == WeeklyReport.Status.SUBMITTED
    with as_of(date(2026, 11, 28)):  # Saturday: after the week's moment, the reviewed report is issued
        issued = office.post(f"/reports/weekly/{report.pk}/issue/", {"version": report.version})
    assert issued.status_code == 302
    report.refresh_from_db()
    assert report.status == WeeklyReport.Status.ISSUED and report.number


# --- point 7: the timeline's content and effective dates ---------------------------------------------
def test_the_timeline_shows_what_was_written_and_the_date_each_act_counts_from(world, cast):
    matter = overdue_matter(cast)
    actions.do_give_feedback(matter.pk, actor=cast.lead_clerk, kind="written", text="已完成施工招标，正在进场。")
    do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                          on=date(2026, 11, 2))  # recorded on 26 November, taken on 2 November
    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="改造全部完成，已交付使用。")
    matter.refresh_from_db()
    actions.do_send_back(matter.pk, actor=cast.office, reasons="缺少验收材料")
    page = body(browser(world, cast.staff).get(f"/matters/{matter.pk}/"))
    timeline = page[page.index('id="timeline"'):]
    assert "已完成施工招标，正在进场。" in timeline  # the feedback's text
    assert "改造全部完成，已交付使用。" in timeline  # the result's text
    assert "接听人" in timeline and "王科长" in timeline  # the step's evidence
    assert "督办日期：2026年11月2日" in timeline  # the day the step was taken, not the day it was recorded
    assert "交办日期：2026年9月1日" in timeline
    assert "退回理由：</span>缺少验收材料" in timeline
