"""Circulars (通报, 五(三)): the ranking, the praise/criticism lists, the office leader's
publication and the county-wide-criticism deduction (六(七))."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, led_by, make_cast, proposed, to_state

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.core.errors import Invalid, NotAllowed
from duban.matters import actions
from duban.matters.models import Notice
from duban.supervision import ledger
from duban.supervision.actions import do_draft_circular, do_publish_circular, do_record_manual_step, do_set_circular_lists
from duban.supervision.models import Circular, LedgerEntry
from duban.units.models import Unit
from plugins.events import ScoringEvent

pytestmark = pytest.mark.django_db

PHONE = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def led_by_t01(cast, state: str):
    """A matter whose lead unit is T01 (clerk1), walked through the real workflow."""
    matter = proposed(cast, proposed_units=["T01"])
    actions.do_register_matter(matter.pk, actor=cast.staff)
    actions.do_approve_matter(matter.pk, actor=cast.leader, comment="同意")
    actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="T01", requirements="按期办结",
                             deadline_working_days=10)
    actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    if state == "reported":
        actions.do_report_result(matter.pk, actor=cast.co_clerk, text="已完成")
    matter.refresh_from_db()
    assert matter.state == state
    return matter


def score(code: str, year: int) -> Decimal:
    return ledger.unit_scores(year)[Unit.objects.get(code=code)]


@pytest.fixture
def period(cast):
    today = clock.today()
    return today - timedelta(days=100), today


@pytest.fixture
def lists_record(cast):
    """What the lists below rest on: T01 closed a matter on time; D01 and T99 each have one overdue."""
    circular_record(cast)
    with as_of(clock.today() - timedelta(days=25)):
        led_by(cast, "T99", cast.other_clerk, deadline_working_days=3)


@pytest.fixture
def record(cast, period):
    """D01: one closed on time, one closed late, one overdue with a phone call in the period.
    T01: one closed on time after a redo; one assigned before the period, still overdue."""
    start, today = period
    on_time = to_state(cast, "reported")
    actions.do_accept_result(on_time.pk, actor=cast.office)
    with as_of(today - timedelta(days=60)):
        late = to_state(cast, "reported")
        overdue = to_state(cast, "in_progress")
    actions.do_accept_result(late.pk, actor=cast.office)  # today: well past its deadline
    do_record_manual_step(overdue.pk, actor=cast.staff, tier="phone", evidence=PHONE,
                                on=today - timedelta(days=5))
    redone = led_by_t01(cast, "reported")
    actions.do_send_back(redone.pk, actor=cast.office, reasons="材料不全")
    actions.do_report_result(redone.pk, actor=cast.co_clerk, text="已补充材料")
    actions.do_accept_result(redone.pk, actor=cast.office)
    with as_of(start - timedelta(days=60)):
        led_by_t01(cast, "in_progress")  # before the period: overdue now, not counted as assigned
    return {"late": late, "overdue": overdue}


def test_the_ranking_counts_each_unit_and_puts_the_best_first(cast, period, record):
    start, end = period
    circular = do_draft_circular(actor=cast.staff, title="第四季度督办工作情况通报", period_start=start,
                                           period_end=end)
    circular.refresh_from_db()  # the ranking as stored (JSON)
    rows = {row["unit"]: row for row in circular.ranking}
    assert [row["unit"] for row in circular.ranking] == ["T01", "D01", "T99"]
    assert [row["rank"] for row in circular.ranking] == [1, 2, 3]
    d01 = rows["D01"]
    assert (d01["name"], d01["assigned"], d01["completed"], d01["on_time"], d01["overdue"]) == ("一号局", 3, 2, 1, 1)
    assert d01["on_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert d01["steps"] == {"phone": 1} and d01["steps_total"] == 1 and d01["redos"] == 0
    t01 = rows["T01"]
    assert (t01["assigned"], t01["completed"], t01["on_time"], t01["on_time_rate"]) == (1, 1, 1, 1.0)
    assert (t01["overdue"], t01["steps"], t01["redos"]) == (1, {}, 1)
    t99 = rows["T99"]  # nothing assigned: no rate, ranked after the units that had work
    assert (t99["assigned"], t99["on_time_rate"], t99["steps_total"]) == (0, None, 0)
    assert circular.status == Circular.Status.DRAFT and circular.drafted_by == cast.staff
    event = AuditEvent.objects.get(action="circular.draft", object_id=str(circular.pk))
    assert event.after["ranking"] == ["T01", "D01", "T99"]


def test_steps_outside_the_period_do_not_count(cast, period, record):
    start, end = period
    circular = do_draft_circular(actor=cast.staff, title="上月通报", period_start=start,
                                           period_end=end - timedelta(days=6))  # the call was 5 days ago
    rows = {row["unit"]: row for row in Circular.objects.get(pk=circular.pk).ranking}
    assert rows["D01"]["steps"] == {} and rows["D01"]["overdue"] == 1


def test_drafting_is_for_staff_and_checks_its_input(cast, period):
    start, end = period
    with pytest.raises(NotAllowed):
        do_draft_circular(actor=cast.office, title="通报", period_start=start, period_end=end)
    with pytest.raises(Invalid) as excinfo:
        do_draft_circular(actor=cast.staff, title="  ", period_start=start, period_end=end)
    assert excinfo.value.field == "title"
    with pytest.raises(Invalid) as excinfo:
        do_draft_circular(actor=cast.staff, title="通报", period_start=end, period_end=start)
    assert excinfo.value.field == "period_end"
    assert not Circular.objects.exists()


def test_the_lists_are_validated(cast, period, lists_record):
    circular = do_draft_circular(actor=cast.staff, title="通报", period_start=period[0],
                                           period_end=period[1])
    with pytest.raises(Invalid, match="“X01”") as excinfo:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01", "X01"], criticised=[])
    assert excinfo.value.field == "praised"
    with pytest.raises(Invalid, match="“NOPE”") as excinfo:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=[], criticised=["NOPE"])
    assert excinfo.value.field == "criticised"
    with pytest.raises(Invalid, match="同一单位不能既受表扬又被通报批评：一号局") as excinfo:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01", "D01"], criticised=["D01"])
    assert excinfo.value.field == "criticised"
    with pytest.raises(NotAllowed):
        do_set_circular_lists(circular.pk, actor=cast.lead_clerk, praised=["D01"], criticised=[])
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01", "T99"],
                                    body="  鼓励先进，鞭策后进。 ")
    circular.refresh_from_db()
    assert list(circular.praised.values_list("code", flat=True)) == ["T01"]
    assert sorted(circular.criticised.values_list("code", flat=True)) == ["D01", "T99"]
    assert circular.body == "鼓励先进，鞭策后进。"
    event = AuditEvent.objects.get(action="circular.lists", object_id=str(circular.pk))
    assert event.before["criticised"] == [] and event.after["criticised"] == ["D01", "T99"]


def test_only_the_office_leader_publishes_and_criticism_costs_0_5(cast, period, lists_record):
    circular = do_draft_circular(actor=cast.staff, title="通报", period_start=period[0],
                                           period_end=period[1])
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01", "T99"])
    year = clock.today().year
    before = {code: score(code, year) for code in ("D01", "T01", "T99")}
    for who in (cast.staff, cast.leader, cast.lead_clerk):
        with pytest.raises(NotAllowed, match="督查室主任"):
            do_publish_circular(circular.pk, actor=who)
    assert not LedgerEntry.objects.exists() and not Notice.objects.filter(kind="circular").exists()

    circular = do_publish_circular(circular.pk, actor=cast.office)
    assert circular.status == Circular.Status.PUBLISHED and circular.published_by == cast.office
    assert circular.published_on == clock.today() and circular.published_at
    assert circular.notice.kind == "circular" and circular.notice.number == f"甲政督通〔{year}〕{circular.notice.seq}号"
    entries = LedgerEntry.objects.filter(circular=circular).order_by("unit__code")
    assert [(e.unit.code, e.amount, e.rule_code, e.ref) for e in entries] == [
        ("D01", Decimal("0.50"), "criticism_circular", f"circular:{circular.pk}"),
        ("T99", Decimal("0.50"), "criticism_circular", f"circular:{circular.pk}")]
    assert {(e.pack_name, e.pack_version, e.year) for e in entries} == {("county_default", "1.0.0", year)}
    assert score("D01", year) == before["D01"] - Decimal("0.5")
    assert score("T99", year) == before["T99"] - Decimal("0.5")
    assert score("T01", year) == before["T01"]  # praise costs nothing
    actions_done = set(AuditEvent.objects.filter(object_id=str(circular.pk), object_type="supervision.circular")
                       .values_list("action", flat=True))
    assert actions_done == {"circular.draft", "circular.lists", "circular.publish"}
    assert AuditEvent.objects.filter(action="ledger.post").count() == 2


def test_a_circular_cannot_be_published_twice_or_changed_after(cast, period, lists_record):
    circular = do_draft_circular(actor=cast.staff, title="通报", period_start=period[0],
                                           period_end=period[1])
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=[], criticised=["D01"])
    do_publish_circular(circular.pk, actor=cast.office)
    with pytest.raises(Invalid, match="不能再修改") as excinfo:
        do_publish_circular(circular.pk, actor=cast.office)
    assert excinfo.value.field == "status"
    with pytest.raises(Invalid) as excinfo:
        do_set_circular_lists(circular.pk, actor=cast.staff, praised=[], criticised=["T01"])
    assert excinfo.value.field == "status"
    # And the ledger itself posts each circular's criticism of a unit once.
    event = ScoringEvent(code="criticism_circular", unit="D01", lead_unit="D01", occurred_on=clock.today(),
                         ref=f"circular:{circular.pk}")
    assert ledger.post(event, actor=cast.office, circular=circular) == []
    assert LedgerEntry.objects.filter(circular=circular).count() == 1
    assert Notice.objects.filter(kind="circular").count() == 1


def test_a_missing_circular_is_not_found(cast):
    from duban.core.errors import NotFound

    with pytest.raises(NotFound):
        do_publish_circular(999999, actor=cast.office)
