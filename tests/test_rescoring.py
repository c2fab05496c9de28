"""What-if rescoring: the county's year under another pack, rebuilt from the source records,
writing nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import led_by, make_cast, to_state

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.matters import actions
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_manual_step,
    do_reverse_entry,
    do_set_circular_lists,
)
from duban.supervision.models import LedgerEntry
from duban.supervision.rescoring import RescoreRow, rescore
from plugins.manager import get_registry

# Steps are recorded on 20 November 2026: the tests run as of a day after them.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-12-05"},
}
D = Decimal


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def default_pack():
    return get_registry().pack("county_default")


def whatif():
    return default_pack().derive(name="whatif", version="1",
                                 schedule={"events": [{"code": "phone_urging", "amount": "0.3"}]})


@pytest.fixture
def supervised(cast):
    """D01: two phone calls and a written notice in November 2026 (own pack: 3.0 − 0.4 = 2.6)."""
    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    for tier in ("phone", "phone", "written_notice"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 20))
    return matter


def by_code(rows: list[RescoreRow]) -> dict[str, RescoreRow]:
    return {row.code: row for row in rows}


def test_another_pack_scores_differently_and_nothing_is_written(cast, supervised):
    counts = LedgerEntry.objects.count(), AuditEvent.objects.count()
    rows = by_code(rescore(2026, whatif()))
    assert (rows["D01"].own, rows["D01"].other, rows["D01"].difference) == (D("2.6"), D("2.2"), D("-0.4"))
    assert rows["D01"].name == "一号局"
    for code in ("T01", "T99"):  # never supervised: the base under both packs
        assert (rows[code].own, rows[code].other, rows[code].difference) == (D("3.0"), D("3.0"), D("0"))
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == counts


def test_the_own_pack_reproduces_the_ledger(cast, supervised):
    rows = rescore(2026, default_pack())
    assert all(row.own == row.other and row.difference == 0 for row in rows)


def test_reversed_causes_are_left_out(cast, supervised):
    entry = LedgerEntry.objects.filter(matter=supervised, rule_code="phone_urging").first()
    do_reverse_entry(entry.pk, actor=cast.office, reason="重复登记")
    row = by_code(rescore(2026, whatif()))["D01"]
    assert (row.own, row.other) == (D("2.7"), D("2.5"))  # one call left: 0.3 + the notice's 0.2


def test_a_tier_the_other_pack_lacks_costs_nothing(cast, supervised):
    no_notice = default_pack().derive(name="no_notice", version="1",
                                      tiers=[{"code": "written_notice", "remove": True}])
    assert no_notice.tier("written_notice") is None
    row = by_code(rescore(2026, no_notice))["D01"]
    assert (row.own, row.other) == (D("2.6"), D("2.8"))  # only the two calls, 0.1 each


def test_the_other_pack_decides_the_assessment_year(cast, supervised):
    december = default_pack().derive(name="from_december", version="1", schedule={"year_starts_month": 12})
    assert by_code(rescore(2026, december))["D01"].other == D("3.0")  # November 2026 counts for 2025 there
    row = by_code(rescore(2025, december))["D01"]
    assert (row.own, row.other) == (D("3.0"), D("2.6"))


def test_redos_and_criticism_are_rescored(cast):
    matter = to_state(cast, "reported")
    for n in range(3):
        actions.do_send_back(matter.pk, actor=cast.office, reasons=f"第{n + 1}次退回")
        actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="重报")
    today = clock.today()
    with as_of(today - timedelta(days=25)):
        led_by(cast, "T01", cast.co_clerk, deadline_working_days=3)  # overdue: what criticising T01 rests on
    circular = do_draft_circular(actor=cast.staff, title="通报", period_start=date(today.year, 1, 1),
                                           period_end=today)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=[], criticised=["T01"])
    do_publish_circular(circular.pk, actor=cast.office)
    stricter = default_pack().derive(name="stricter", version="1", schedule={"events": [
        {"code": "redo", "counting": "per_occurrence_over_threshold", "threshold": 1},
        {"code": "criticism_circular", "amount": "1.0"}]})
    rows = by_code(rescore(today.year, stricter))
    assert (rows["D01"].own, rows["D01"].other) == (D("2.9"), D("2.8"))  # 0.1 once vs the 2nd and 3rd redo
    assert (rows["T01"].own, rows["T01"].other) == (D("2.5"), D("2.0"))
    assert rows["T99"].difference == 0
