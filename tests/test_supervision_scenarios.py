"""The seed's deduction table, played through real steps, sweeps and the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state

from duban.core.clock import as_of
from duban.core.errors import Invalid, NotAllowed
from duban.matters import actions
from duban.supervision import ledger, steps
from duban.supervision.actions import do_record_manual_step, do_record_reply, do_record_step, do_reverse_entry
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.units.models import Unit

# The deduction table is played on steps of 20–25 November 2026: the tests run as of the 26th
# (a step of January 2027 is recorded as of its own day).
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-12-05"},
    "onsite": {"inspector": "张督查", "visited_at": "2026-11-25T09:30", "findings": "现场进度滞后"},
    "special_meeting": {"self_examination": "检查书.pdf", "explanation": "局长当面说明"},
    "accountability": {"decision": "约谈主要负责人", "decided_by": "县纪委监委"},
}


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def overdue_matter(cast):
    with as_of(date(2026, 9, 1)):
        return to_state(cast, "in_progress", deadline_working_days=10)


def record(cast, matter, tier, times=1, on=date(2026, 11, 20)):
    with as_of(max(on, date(2026, 11, 26))):  # recorded on ``on``, never a day in the future
        for _ in range(times):
            do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier], on=on)


def score(unit_code="D01", year=2026):
    return ledger.unit_scores(year)[Unit.objects.get(code=unit_code)]


def test_three_phone_two_notices_one_onsite_is_2_0(cast):
    matter = overdue_matter(cast)
    record(cast, matter, "phone", 3)
    record(cast, matter, "written_notice", 2)
    record(cast, matter, "onsite")
    assert score() == Decimal("2.0")  # 3.0 − 0.3 − 0.4 − 0.3
    entries = LedgerEntry.objects.filter(unit__code="D01", year=2026)
    assert sorted(e.amount for e in entries) == [Decimal("0.1")] * 3 + [Decimal("0.2")] * 2 + [Decimal("0.3")]
    assert {(e.pack_name, e.pack_version) for e in entries} == {("county_default", "1.0.0")}
    assert {e.rule_code for e in entries} == {"phone_urging", "written_notice", "onsite_urging"}
    notices = EscalationStep.objects.filter(matter=matter, tier="written_notice")
    assert all(s.notice and s.notice.number.startswith("甲政督〔2026〕") and s.reply_due_on for s in notices)


def test_seven_special_meetings_reach_zero_and_every_entry_is_kept(cast):
    matter = overdue_matter(cast)
    record(cast, matter, "phone")
    record(cast, matter, "written_notice")
    record(cast, matter, "onsite")
    record(cast, matter, "special_meeting", 7)
    assert score() == Decimal("0")
    assert LedgerEntry.objects.filter(unit__code="D01", rule_code="special_meeting").count() == 7
    base, lines, final = ledger.statement(Unit.objects.get(code="D01"), 2026)
    assert base == Decimal("3.0") and final == Decimal("0") and len(lines) == 10
    assert lines[-1].total_deducted == Decimal("4.1")  # the facts add up past the floor


def test_a_matter_redone_three_times_costs_0_1_once(cast):
    matter = to_state(cast, "reported")
    for attempt in range(3):
        actions.do_send_back(matter.pk, actor=cast.office, reasons=f"第{attempt + 1}次退回")
        actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="重报")
    redo = LedgerEntry.objects.filter(matter=matter, rule_code="redo")
    assert [e.amount for e in redo] == [Decimal("0.1")]
    assert redo.get().ref.endswith(":3")  # posted on the third redo
    assert score(year=redo.get().year) == Decimal("2.9")


def test_a_unit_never_supervised_keeps_3_0(cast):
    overdue_matter(cast)
    assert score("T01") == Decimal("3.0") and score("D01") == Decimal("3.0")
    assert set(ledger.unit_scores(2026).values()) == {Decimal("3.0")}


def test_a_step_in_january_2027_counts_for_2027(cast):
    matter = overdue_matter(cast)
    record(cast, matter, "phone", on=date(2026, 12, 31))
    record(cast, matter, "phone", on=date(2027, 1, 4))
    assert score(year=2026) == Decimal("2.9") and score(year=2027) == Decimal("2.9")


def test_a_reversal_restores_the_points_and_only_the_office_leader_may(cast):
    matter = overdue_matter(cast)
    record(cast, matter, "phone")
    entry = LedgerEntry.objects.get(matter=matter)
    with pytest.raises(NotAllowed):
        do_reverse_entry(entry.pk, actor=cast.staff, reason="误记")
    with pytest.raises(Invalid) as excinfo:
        do_reverse_entry(entry.pk, actor=cast.office, reason=" ")
    assert excinfo.value.field == "reason"
    reversal = do_reverse_entry(entry.pk, actor=cast.office, reason="电话系误拨，非督办")
    assert reversal.amount == -entry.amount and reversal.reverses == entry
    assert score() == Decimal("3.0")
    with pytest.raises(Invalid, match="已经冲正"):
        do_reverse_entry(entry.pk, actor=cast.office, reason="again")
    assert LedgerEntry.objects.filter(pk=entry.pk, amount=entry.amount).exists()  # the original stays


def test_update_and_delete_on_the_ledger_are_refused_by_the_database(cast):
    matter = overdue_matter(cast)
    record(cast, matter, "phone")
    entry = LedgerEntry.objects.get(matter=matter)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending in this test
    for statement in (f"UPDATE supervision_ledgerentry SET amount = 0 WHERE id = {entry.id}",
                      f"DELETE FROM supervision_ledgerentry WHERE id = {entry.id}",
                      "TRUNCATE supervision_ledgerentry CASCADE"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert LedgerEntry.objects.filter(pk=entry.pk, amount=entry.amount).exists()


def test_sweep_opens_the_ladder_in_order_once(cast):
    matter = overdue_matter(cast)
    on = date(2026, 10, 20)
    with as_of(on):
        fresh = to_state(cast, "in_progress")  # assigned on the sweep's day, not overdue: nothing to do
    opened = steps.sweep(on=on)
    assert [(o.step.matter_id, o.step.tier, o.recorded) for o in opened] == [(matter.pk, "phone", False)]
    assert steps.sweep(on=on) == []  # run again: nothing new
    assert not EscalationStep.objects.filter(matter=fresh).exists()
    step = opened[0].step
    # Due on the first working day after the deadline (四(一)), not on the deadline itself.
    assert step.unit.code == "D01" and step.status == "due" and step.due_on == date(2026, 9, 16) > matter.deadline
    # Missing evidence is refused naming the field; nothing is recorded.
    with pytest.raises(Invalid) as excinfo:
        do_record_step(step.pk, actor=cast.staff, evidence={"contact": "王科长"}, on=on)
    assert excinfo.value.field == "evidence.contacted_at"
    assert not LedgerEntry.objects.exists()
    do_record_step(step.pk, actor=cast.staff, evidence=EVIDENCE["phone"], on=on)
    # The written notice falls due 5 working days (the pack's choice) after the phone call.
    assert steps.sweep(on=date(2026, 10, 26)) == []
    second = steps.sweep(on=date(2026, 10, 27))  # opened by the sweep of its due day
    assert [o.step.tier for o in second] == ["written_notice"]


def test_ladder_cannot_be_skipped_except_where_the_pack_allows(cast):
    matter = overdue_matter(cast)
    with pytest.raises(Invalid, match="须逐级采取") as excinfo:
        record(cast, matter, "onsite")
    assert excinfo.value.field == "tier"
    record(cast, matter, "phone")
    record(cast, matter, "written_notice")
    record(cast, matter, "onsite")
    record(cast, matter, "accountability")  # the special meeting is skippable (四(五))
    assert list(EscalationStep.objects.filter(matter=matter).values_list("tier", flat=True)) == [
        "phone", "written_notice", "onsite", "accountability"]


def test_only_staff_record_steps_and_the_unit_replies_to_the_notice(cast):
    matter = overdue_matter(cast)
    with pytest.raises(NotAllowed):
        do_record_manual_step(matter.pk, actor=cast.office, tier="phone", evidence=EVIDENCE["phone"])
    record(cast, matter, "phone")
    record(cast, matter, "written_notice")
    notice_step = EscalationStep.objects.get(matter=matter, tier="written_notice")
    from duban.core.errors import NotFound

    with pytest.raises(NotFound):
        do_record_reply(notice_step.pk, actor=cast.co_clerk, text="不是我们的")
    do_record_reply(notice_step.pk, actor=cast.lead_clerk, text="专题答复：已加派人手，12月底前完成。")
    notice_step.refresh_from_db()
    assert notice_step.reply_text.startswith("专题答复") and notice_step.reply_at


def test_lights(cast):
    from duban.supervision.steps import GREEN, RED, YELLOW, light

    overdue = overdue_matter(cast)
    assert light(overdue, date(2026, 10, 20)) == RED
    soon = to_state(cast, "in_progress", deadline_working_days=2)
    assert light(soon, soon.assigned_on) == YELLOW
    later = to_state(cast, "in_progress", deadline_working_days=30)
    assert light(later, later.assigned_on) == GREEN
    board = steps.lights(later.assigned_on)
    assert later in board[GREEN] and soon in board[YELLOW]


def test_opening_the_same_step_twice_inserts_it_once(cast):
    """What two sweeps racing past the in-Python check would do: the database keeps one."""
    from duban.core.county import county_pack

    matter = overdue_matter(cast)
    pack = county_pack()
    link = matter.units.get(role="lead")
    rows = [(matter.pk, link.unit_id, "phone", 0, matter.deadline, matter.deadline, "lead", link.pk)]
    first = steps._open_many(rows, pack, actor="sweep-a", on=date(2026, 10, 20))
    second = steps._open_many(rows, pack, actor="sweep-b", on=date(2026, 10, 20))
    assert len(first) == 1 and second == []
    assert EscalationStep.objects.filter(matter=matter).count() == 1
    from duban.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="step.open", object_id=str(first[0].step.pk)).count() == 1
