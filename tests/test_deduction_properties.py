"""Property tests (hypothesis) of the deduction counting modes and the floor."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from duban.scoring.engine import replay
from plugins.events import ScoringEvent
from plugins.manager import get_registry

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1.00"), places=2)
thresholds = st.integers(min_value=1, max_value=5)
counts = st.integers(min_value=0, max_value=12)


def pack_with(counting: str, amount: Decimal, threshold: int = 0, base="3.0", floor="0"):
    rule = {"code": "redo", "counting": counting, "amount": str(amount), "threshold": threshold}
    return get_registry().pack("county_default").derive(
        name="prop_pack", version="0.1", schedule={"base": base, "floor": floor, "events": [rule]})


def redo_events(counts_per_matter: list[int], unit="U"):
    events, day = [], date(2026, 2, 2)
    for matter, n in enumerate(counts_per_matter):
        for _ in range(n):
            day += timedelta(days=1)
            events.append(ScoringEvent(code="redo", unit=unit, occurred_on=day, matter=f"m{matter}", ref=f"r{day}"))
    return events


@settings(max_examples=60, deadline=None)
@given(amount=amounts, per_matter=st.lists(counts, max_size=5))
def test_per_occurrence_costs_every_time(amount, per_matter):
    result = replay(pack_with("per_occurrence", amount), redo_events(per_matter))
    assert len(result.deductions) == sum(per_matter)
    assert sum(d.amount for d in result.deductions) == amount * sum(per_matter)


@settings(max_examples=60, deadline=None)
@given(amount=amounts, threshold=thresholds, per_matter=st.lists(counts, max_size=5))
def test_once_per_matter_when_the_threshold_is_first_crossed(amount, threshold, per_matter):
    result = replay(pack_with("once_per_matter_over_threshold", amount, threshold), redo_events(per_matter))
    crossed = sum(1 for n in per_matter if n > threshold)
    assert len(result.deductions) == crossed
    assert len({d.matter for d in result.deductions}) == crossed  # never twice for one matter
    assert all(d.amount == amount for d in result.deductions)


@settings(max_examples=60, deadline=None)
@given(amount=amounts, threshold=thresholds, per_matter=st.lists(counts, max_size=5))
def test_per_occurrence_beyond_the_threshold(amount, threshold, per_matter):
    result = replay(pack_with("per_occurrence_over_threshold", amount, threshold), redo_events(per_matter))
    assert len(result.deductions) == sum(max(0, n - threshold) for n in per_matter)


@settings(max_examples=60, deadline=None)
@given(amount=amounts, n=st.integers(min_value=0, max_value=80),
       base=st.sampled_from(["3.0", "5", "10.5"]), floor=st.sampled_from(["0", "1.0"]))
def test_score_is_base_minus_sum_never_below_floor_and_entries_are_kept(amount, n, base, floor):
    pack = pack_with("per_occurrence", amount, base=base, floor=floor)
    result = replay(pack, redo_events([n]), units=["U"], years=[2026])
    total = amount * n
    assert len(result.deductions) == n  # kept even past the floor
    assert result.scores[("U", 2026)] == max(Decimal(floor), Decimal(base) - total)


@settings(max_examples=40, deadline=None)
@given(per_matter=st.lists(counts, min_size=1, max_size=4), extra=st.integers(min_value=1, max_value=5))
def test_more_events_never_raise_a_score(per_matter, extra):
    pack = get_registry().pack("county_default")
    events = redo_events(per_matter)
    more = events + redo_events([extra])
    before = replay(pack, events, units=["U"], years=[2026]).scores[("U", 2026)]
    after = replay(pack, more, units=["U"], years=[2026]).scores[("U", 2026)]
    assert after <= before
