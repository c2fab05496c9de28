"""The comparison's metrics: their definitions (returned by the API, written out in
docs/metrics.md) and their computation from one county's records, in plain Python.

``CountyData`` is everything one county contributes, loaded with a handful of queries
(``refresh.load``); ``compute(data, kind, start, end)`` is then pure arithmetic, so a county's
whole history of months, quarters and years costs no further queries.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from duban.scoring.engine import score

# key → label and definition, in Chinese and English. docs/metrics.md says the same at length.
DEFINITIONS: dict[str, dict[str, dict[str, str]]] = {
    "matters_by_category": {
        "label": {"zh-hans": "分类交办事项数", "en": "Matters by scope category"},
        "definition": {
            "zh-hans": "交办日期在本期内的督办事项数，按督办类别分列，并给出合计。",
            "en": "Matters whose assignment date (assigned_on) falls in the period, counted per scope "
                  "category (the scope code of the county's pack); `total` is the sum."},
    },
    "on_time_rate": {
        "label": {"zh-hans": "按期办结率", "en": "On-time completion rate"},
        "definition": {
            "zh-hans": "办结时限（现行时限，含已批准的延期）在本期内且不晚于统计日的已交办、未取消事项中，"
                       "办结日期不晚于时限的比例；分母为0时为空。",
            "en": "Of the assigned, not cancelled matters whose current deadline (after approved extensions) "
                  "falls in the period and not after the as-of date, the share closed on or before the "
                  "deadline; null when there are none."},
    },
    "avg_overdue_working_days": {
        "label": {"zh-hans": "平均逾期工作日", "en": "Average working days overdue"},
        "definition": {
            "zh-hans": "上述分母中逾期的事项（办结晚于时限，或至统计日仍未办结），其时限次日起至办结日"
                       "（未办结的至统计日）的工作日数（按本县工作日历）的平均值；无逾期事项时为空。",
            "en": "Of the same matters, those late (closed after the deadline, or still open at the as-of "
                  "date): the mean number of working days (the county's calendar) after the deadline up to "
                  "and including the closing date (the as-of date if still open); null when none is late."},
    },
    "steps_per_100": {
        "label": {"zh-hans": "每百件事项各级督办次数", "en": "Ladder steps per tier per 100 matters"},
        "definition": {
            "zh-hans": "督办日期在本期内的已督办记录数（按督办方式分列）÷ 本期在办事项数 × 100。"
                       "在办事项：交办日期不晚于期末、未取消、且未办结或办结日期不早于期初。",
            "en": "Recorded ladder steps whose recorded date falls in the period, per tier code, divided by "
                  "the matters under way in the period, times 100. Under way: assigned on or before the "
                  "period's end, not cancelled, and not closed before the period's start."},
    },
    "redo_rate": {
        "label": {"zh-hans": "退回复办率", "en": "Redo rate"},
        "definition": {
            "zh-hans": "审核日期在本期内的落实结果审核中，结论为“退回复办”的比例；无审核时为空。",
            "en": "Of the reviews of reported results made in the period, the share that sent the result "
                  "back for redo; null when there were no reviews."},
    },
    "feedback_punctuality": {
        "label": {"zh-hans": "进展反馈及时率", "en": "Feedback punctuality"},
        "definition": {
            "zh-hans": "对规定了反馈周期（N个工作日）的事项：每次反馈的应反馈日为上一次反馈日（首次为交办日）"
                       "后第N个工作日。及时率 = 本期内按时（不晚于应反馈日）的反馈数 ÷（本期内的反馈数 + "
                       "截至统计日仍未办结、应反馈日在本期内且已过而未反馈的事项数）；分母为0时为空。",
            "en": "For matters with a feedback cycle of N working days, each feedback is due N working days "
                  "after the previous one (the first after assignment). Punctuality = feedback given in the "
                  "period on or before its due date ÷ (all feedback given in the period + matters still "
                  "open at the as-of date whose current due date fell in the period and passed without "
                  "feedback); null when the denominator is 0."},
    },
    "unit_scores": {
        "label": {"zh-hans": "单位得分分布", "en": "Unit score distribution"},
        "definition": {
            "zh-hans": "本期所在考核年度内、截至期末（未结束的期间截至统计日）各在册单位的累计得分"
                       "（基础分减扣分，不低于下限）的最小值、下四分位数、中位数、上四分位数、最大值和平均值"
                       "（四分位数按含端点的线性插值）。分别按本县规则包（台账）和市选定的参照规则包重算给出。",
            "en": "The year-to-date score (base minus deductions, floored) of every active unit in the "
                  "period's assessment year, up to the period's end (the as-of date for a period not yet "
                  "over): min, first quartile, median, third quartile, max and mean (quartiles by inclusive "
                  "linear interpolation). Given under the county's own pack (its ledger) and rescored under "
                  "the reference pack the city chose."},
    },
    "no_answer_share": {
        "label": {"zh-hans": "逾期无回音事项占比", "en": "Share of matters with no answer past deadline"},
        "definition": {
            "zh-hans": "统计截止日（期末与统计日中较早者）在办的事项（已交办、未取消、未办结）中，"
                       "时限已过、时限之后至截止日没有任何进展反馈或落实结果报送、且没有待审核结果的事项所占比例；"
                       "分母为0时为空。",
            "en": "Of the matters open at the cut-off (the earlier of the period's end and the as-of date: "
                  "assigned, not cancelled, not closed), the share whose deadline has passed with no progress "
                  "feedback and no result report after the deadline up to the cut-off and no result awaiting "
                  "review; null when none is open."},
    },
}

RANKABLE = {
    # key → (how to read it from a row, higher is better)
    "reference_mean_score": True,
    "own_mean_score": True,
    "on_time_rate": True,
    "avg_overdue_working_days": False,
    "redo_rate": False,
    "feedback_punctuality": True,
    "no_answer_share": False,
}


@dataclass
class MatterRow:
    id: int
    category: str
    state: str
    assigned_on: date
    deadline: date | None
    closed_on: date | None
    feedback_every: int | None


@dataclass
class CountyData:
    today: date
    matters: list[MatterRow]
    steps: list[tuple[str, date]]                    # (tier code, recorded on)
    reviews: list[tuple[str, date]]                  # (decision, reviewed on)
    feedback: dict[int, list[date]]                  # matter → dates given, ascending
    reports: dict[int, list[tuple[date, date | None]]]  # matter → (reported on, reviewed on)
    units: list[str]                                 # active unit codes
    own_pack: object
    own_deductions: list[tuple[str, int, date, Decimal]]  # (unit, year, occurred on, amount) from the ledger
    reference_pack: object | None = None
    reference_deductions: list[tuple[str, int, date, Decimal]] = field(default_factory=list)
    tier_codes: list[str] = field(default_factory=list)
    calendar: object = None
    _due_cache: dict = field(default_factory=dict)

    _workday: dict = field(default_factory=dict)

    def working_days_between(self, start: date, end: date) -> int:
        """As ``WorkCalendar.working_days_between``, with each day's answer remembered (the
        calendar package's lookup is slow and a county's history asks about the same days often)."""
        count, day, one = 0, start, timedelta(days=1)
        while day < end:
            day += one
            known = self._workday.get(day)
            if known is None:
                known = self._workday[day] = self.calendar.is_workday(day)
            count += known
        return count

    def add_working_days(self, start: date, days: int) -> date:
        key = (start, days)
        if key not in self._due_cache:
            self._due_cache[key] = self.calendar.add_working_days(start, days)[0]
        return self._due_cache[key]


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def distribution(values: list[Decimal]) -> dict:
    if not values:
        return {"n": 0, "min": None, "q1": None, "median": None, "q3": None, "max": None, "mean": None}
    ordered = sorted(float(v) for v in values)
    if len(ordered) == 1:
        q1 = med = q3 = ordered[0]
    else:
        q1, med, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {"n": len(ordered), "min": round(ordered[0], 4), "q1": round(q1, 4), "median": round(med, 4),
            "q3": round(q3, 4), "max": round(ordered[-1], 4), "mean": round(statistics.fmean(ordered), 4)}


def scores_at(pack, deductions, units: list[str], year: int, cutoff: date) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for unit, y, occurred_on, amount in deductions:
        if y == year and occurred_on <= cutoff:
            totals[unit] += amount
    return {unit: score(pack, [totals.get(unit, Decimal(0))]) for unit in units}


def compute(data: CountyData, kind: str, start: date, end: date) -> tuple[dict, dict, dict | None]:
    """(metrics, own-pack score distribution, reference-pack score distribution) of one period."""
    today = data.today
    cutoff = min(end, today)
    live = [m for m in data.matters if m.state != "cancelled"]

    by_category = Counter(m.category for m in data.matters if start <= m.assigned_on <= end)
    categories = dict(sorted(by_category.items()))
    categories["total"] = sum(by_category.values())

    due = [m for m in live if m.deadline and start <= m.deadline <= cutoff]
    on_time = [m for m in due if m.closed_on and m.closed_on <= m.deadline]
    late_days = []
    for m in due:
        finished = m.closed_on if m.closed_on else today
        if finished > m.deadline:
            late_days.append(data.working_days_between(m.deadline, finished))

    under_way = [m for m in live if m.assigned_on <= end and (m.closed_on is None or m.closed_on >= start)]
    steps = Counter(tier for tier, on in data.steps if start <= on <= end)
    per_100 = {tier: (round(100 * steps.get(tier, 0) / len(under_way), 2) if under_way else None)
               for tier in sorted(set(data.tier_codes) | set(steps))}

    reviews = [d for d, on in data.reviews if start <= on <= end]
    redos = sum(1 for d in reviews if d == "redo")

    given = punctual = missed = 0
    for m in live:
        if not m.feedback_every:
            continue
        previous = m.assigned_on
        for on in data.feedback.get(m.id, ()):
            due_on = data.add_working_days(previous, m.feedback_every)
            if start <= on <= end:
                given += 1
                punctual += on <= due_on
            previous = on
            if on > cutoff:
                break
        open_at_cutoff = m.closed_on is None or m.closed_on > cutoff
        last = max([m.assigned_on] + [d for d in data.feedback.get(m.id, ()) if d <= cutoff])
        current_due = data.add_working_days(last, m.feedback_every)
        if open_at_cutoff and m.assigned_on <= cutoff and start <= current_due < cutoff:
            missed += 1

    open_at = [m for m in live if m.assigned_on <= cutoff and (m.closed_on is None or m.closed_on > cutoff)]
    silent = 0
    for m in open_at:
        if not m.deadline or m.deadline >= cutoff:
            continue
        answered = any(m.deadline < on <= cutoff for on in data.feedback.get(m.id, ()))
        reports = data.reports.get(m.id, ())
        answered = answered or any(m.deadline < rep <= cutoff for rep, _ in reports)
        pending_review = any(rep <= cutoff and (rev is None or rev > cutoff) for rep, rev in reports)
        if not answered and not pending_review:
            silent += 1

    metrics = {
        "matters_by_category": categories,
        "on_time_rate": _rate(len(on_time), len(due)),
        "on_time": {"due": len(due), "on_time": len(on_time)},
        "avg_overdue_working_days": round(statistics.fmean(late_days), 2) if late_days else None,
        "overdue": {"late": len(late_days), "working_days": sum(late_days)},
        "steps_per_100": per_100,
        "steps": dict(sorted(steps.items())),
        "matters_under_way": len(under_way),
        "redo_rate": _rate(redos, len(reviews)),
        "reviews": {"total": len(reviews), "redo": redos},
        "feedback_punctuality": _rate(punctual, given + missed),
        "feedback": {"given": given, "punctual": punctual, "missed": missed},
        "no_answer_share": _rate(silent, len(open_at)),
        "no_answer": {"open": len(open_at), "silent": silent},
        "cutoff": cutoff.isoformat(),
    }
    year = start.year
    own = distribution(list(scores_at(data.own_pack, data.own_deductions, data.units, year, cutoff).values()))
    reference = None
    if data.reference_pack is not None:
        reference = distribution(list(scores_at(data.reference_pack, data.reference_deductions, data.units, year,
                                                cutoff).values()))
    return metrics, own, reference
