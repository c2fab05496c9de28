"""Supervision work in the browser (issue 20, points 4–7), driven with Django's test client on
real PostgreSQL: the steps and the ledger in the menu; a step started by staff on their own
initiative, withdrawn by the office leader and skipped, each with its reason; the assign form
pre-filled from the leader's proposal; closing a matter whose co-unit never signed or reported
only after a confirmation; the weekly report drafted and previewed on any day; the timeline's
content and effective dates."""

from __future__ import annotations

from datetime import date

import pytest
from test_web_supervision import EVIDENCE, PHONE_FORM, body, browser, cast, due_special_meeting, overdue_matter  # noqa: F401

from duban.audit.models import AuditEvent
from duban.core.county import county_pack
from duban.supervision.actions import do_record_manual_step, withdrawing_kind
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.web.views_steps import step_view_context

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

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
    assert "越过督办措施" in timeline and "已现场督办，直接启动问责" in timeline
