"""The quarterly inspection window (检查制度, 五(一)): its dates, opening it once, recording
results, and units found behind taken up the ladder in order."""

from __future__ import annotations

from datetime import date

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state

from duban.audit.models import AuditEvent
from duban.core.clock import as_of
from duban.core.errors import Invalid, NotAllowed
from duban.matters import actions
from duban.supervision import inspection
from duban.supervision.actions import do_record_inspection, do_record_manual_step, do_record_step
from duban.supervision.models import EscalationStep, InspectionItem, InspectionRound, LedgerEntry
from plugins.manager import get_registry

EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-12-05"},
    "onsite": {"inspector": "张督查", "visited_at": "2026-11-25T09:30", "findings": "现场进度滞后"},
    "special_meeting": {"self_examination": "检查书.pdf", "explanation": "局长当面说明"},
    "accountability": {"decision": "约谈主要负责人", "decided_by": "县纪委监委"},
}


def default_pack():
    return get_registry().pack("county_default")


# --- the window ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 1, 5), (date(2026, 3, 18), date(2026, 3, 31), 2026, 1)),
    (date(2026, 3, 31), (date(2026, 3, 18), date(2026, 3, 31), 2026, 1)),
    (date(2026, 5, 20), (date(2026, 6, 17), date(2026, 6, 30), 2026, 2)),
    (date(2026, 7, 1), (date(2026, 9, 17), date(2026, 9, 30), 2026, 3)),
    (date(2026, 12, 18), (date(2026, 12, 18), date(2026, 12, 31), 2026, 4)),
])
def test_the_window_is_the_last_two_weeks_of_each_quarter(day, expected):
    assert inspection.window_for(day, default_pack()) == expected


def test_the_window_length_comes_from_the_pack():
    three = default_pack().derive(name="three_weeks", version="1", calendar={"inspection_window": {"weeks": 3}})
    assert inspection.window_for(date(2026, 11, 1), three) == (date(2026, 12, 11), date(2026, 12, 31), 2026, 4)
    assert inspection.window_for(date(2028, 2, 1), three)[:2] == (date(2028, 3, 11), date(2028, 3, 31))  # leap year


# --- opening ---------------------------------------------------------------------------------------
@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def led_by_t01(cast):
    matter = proposed(cast, proposed_units=["T01"])
    actions.do_register_matter(matter.pk, actor=cast.staff)
    actions.do_approve_matter(matter.pk, actor=cast.leader)
    actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="T01", requirements="按期办结",
                             deadline_working_days=10)
    actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    actions.do_report_result(matter.pk, actor=cast.co_clerk, text="已完成")
    return matter


def closed(cast):
    matter = to_state(cast, "reported")
    actions.do_accept_result(matter.pk, actor=cast.office)
    return matter


@pytest.mark.django_db
def test_opening_checks_the_work_of_the_quarter_once(cast):
    with as_of(date(2026, 10, 15)):
        closed_in_q4 = closed(cast)
        reported_t01 = led_by_t01(cast)
    with as_of(date(2026, 8, 3)):
        under_way_from_q3 = to_state(cast, "in_progress")
        closed_in_q3 = closed(cast)
    assert inspection.open_inspection_if_due(on=date(2026, 12, 17)) is None  # the day before the window
    assert not InspectionRound.objects.exists()

    round_ = inspection.open_inspection_if_due(on=date(2026, 12, 20))
    assert (round_.year, round_.quarter, round_.opens_on, round_.closes_on) == (2026, 4, date(2026, 12, 18),
                                                                                date(2026, 12, 31))
    items = {(i.matter_id, i.unit.code) for i in round_.items.select_related("unit")}
    assert items == {(closed_in_q4.pk, "D01"), (reported_t01.pk, "T01"), (under_way_from_q3.pk, "D01")}
    assert closed_in_q3.pk not in {m for m, _ in items}  # finished last quarter: nothing to inspect
    assert set(round_.items.values_list("result", flat=True)) == {"pending"}

    # Again, later in the window, or concurrently: nothing new.
    assert inspection.open_inspection_if_due(on=date(2026, 12, 20)) is None
    assert inspection.open_inspection_if_due(on=date(2026, 12, 31)) is None
    assert InspectionRound.objects.filter(year=2026, quarter=4).count() == 1
    assert InspectionItem.objects.count() == 3
    opened = AuditEvent.objects.filter(action="inspection.open")
    assert opened.count() == 1 and opened.get().after["items"] == 3
    reminded = AuditEvent.objects.filter(action="inspection.remind", object_id=str(round_.pk))
    assert sorted(e.after["unit"] for e in reminded) == ["D01", "T01"]
    # Each unit's staff got an inbox entry ("sent" counts them): D01's clerk and T01's clerk1.
    from duban.notifications.models import Notification
    assert {e.after["unit"]: e.after["sent"] for e in reminded} == {"D01": 1, "T01": 1}
    assert set(Notification.objects.filter(event="inspection.opened", recipient__role="unit_staff")
               .values_list("recipient__username", flat=True)) == {"clerk", "clerk1"}


@pytest.mark.django_db
def test_the_county_sweep_opens_the_round(cast):
    from duban.supervision.tasks import sweep_county

    with as_of(date(2026, 8, 3)):
        to_state(cast, "in_progress")
    with as_of(date(2026, 9, 1)):
        sweep_county.run()
    assert not InspectionRound.objects.exists()
    with as_of(date(2026, 9, 21)):
        sweep_county.run()
        sweep_county.run()
    assert InspectionRound.objects.get().quarter == 3 and InspectionItem.objects.count() == 1


# --- recording -------------------------------------------------------------------------------------
def overdue(cast, tiers=()):
    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    with as_of(date(2026, 11, 20)):
        for tier in tiers:
            do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                        on=date(2026, 11, 20))
    return matter


@pytest.mark.django_db
def test_recording_is_for_staff_once_with_a_valid_result(cast):
    matter = overdue(cast)
    round_ = inspection.open_inspection_if_due(on=date(2026, 12, 20))
    item = round_.items.get(matter=matter)
    with pytest.raises(NotAllowed):
        do_record_inspection(item.pk, actor=cast.office, result="on_track")
    with pytest.raises(Invalid) as excinfo:
        do_record_inspection(item.pk, actor=cast.staff, result="late")
    assert excinfo.value.field == "result"
    do_record_inspection(item.pk, actor=cast.staff, result="on_track", findings=" 进度正常 ")
    item.refresh_from_db()
    assert (item.result, item.findings, item.inspected_by) == ("on_track", "进度正常", cast.staff)
    with pytest.raises(Invalid, match="该事项已记录为") as excinfo:
        do_record_inspection(item.pk, actor=cast.staff, result="behind")
    assert excinfo.value.field == "result"
    assert not EscalationStep.objects.filter(matter=matter).exists()  # on track: nothing queued
    event = AuditEvent.objects.get(action="inspection.record", object_id=str(item.pk))
    assert event.before == {"result": "pending"} and event.after["result"] == "on_track" and event.after["step"] is None


@pytest.mark.django_db
def test_behind_opens_the_next_tier_as_a_due_step(cast):
    fresh = overdue(cast)
    called = overdue(cast, ["phone"])
    exhausted = overdue(cast, list(EVIDENCE))
    round_ = inspection.open_inspection_if_due(on=date(2026, 12, 20))
    with as_of(date(2026, 12, 21)):
        for matter in (fresh, called, exhausted):
            do_record_inspection(round_.items.get(matter=matter).pk, actor=cast.staff, result="behind",
                                            findings="进度滞后")

    first = EscalationStep.objects.get(matter=fresh)
    assert (first.tier, first.tier_index, first.status, first.source, first.unit.code, first.due_on) == (
        "phone", 0, "due", "inspection", "D01", date(2026, 12, 21))
    assert (first.pack_name, first.pack_version) == ("county_default", "1.0.0")
    second = EscalationStep.objects.get(matter=called, status="due")
    assert (second.tier, second.source) == ("written_notice", "inspection")
    assert not EscalationStep.objects.filter(matter=exhausted, status="due").exists()  # the ladder is exhausted
    event = AuditEvent.objects.get(action="inspection.record", object_id=str(round_.items.get(matter=called).pk))
    assert (event.after["step"], event.after["tier"]) == (second.pk, "written_notice")
    assert AuditEvent.objects.filter(action="step.open", object_id=str(second.pk)).exists()

    # The to-do is recorded like any other step: the notice is issued and the deduction posted.
    before = LedgerEntry.objects.filter(matter=called).count()
    with as_of(date(2026, 12, 22)):
        do_record_step(second.pk, actor=cast.staff, evidence=EVIDENCE["written_notice"], on=date(2026, 12, 22))
    second.refresh_from_db()
    assert second.status == "recorded" and second.notice.number.startswith("甲政督〔2026〕")
    assert LedgerEntry.objects.filter(matter=called).count() == before + 1

    # Next quarter, still behind: a step is already due for the fresh matter, so nothing more opens.
    spring = inspection.open_inspection_if_due(on=date(2027, 3, 25))
    with as_of(date(2027, 3, 26)):
        do_record_inspection(spring.items.get(matter=fresh).pk, actor=cast.staff, result="behind")
    assert list(EscalationStep.objects.filter(matter=fresh).values_list("tier", "status")) == [("phone", "due")]


@pytest.mark.django_db
def test_behind_on_a_matter_no_longer_under_way_opens_nothing(cast):
    with as_of(date(2026, 10, 15)):
        matter = to_state(cast, "reported")
    round_ = inspection.open_inspection_if_due(on=date(2026, 12, 20))
    do_record_inspection(round_.items.get(matter=matter).pk, actor=cast.staff, result="behind",
                                    findings="材料不实")
    assert not EscalationStep.objects.filter(matter=matter).exists()
