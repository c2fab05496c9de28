"""The conformance kit: what a vendor runs against their own pack (and `duban rulepack check`).

    from plugins.testing import assert_conformant, run_scenarios
    assert_conformant("my_pack")             # raises AssertionError listing every problem
    for row in run_scenarios(pack): print(row)

The standard scenarios are written in terms of the pack's own ladder (the first tier, the
second…) and the core events ``redo`` and ``criticism_circular``, so they run on any pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from duban.scoring.engine import compute_deductions, replay
from plugins.events import Deduction, ScoringEvent
from plugins.manager import active_plugin_manager, get_registry
from plugins.pack import CORE_EVENTS, RulePack, _


@dataclass(frozen=True)
class Scenario:
    code: str
    description: str
    unit: str
    steps: tuple[tuple[str, int, date], ...]  # (tier index as "tier:N" or event code, matter no., day)
    years: tuple[int, ...] = (2026,)


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=7 * i) for i in range(n)]


D = date(2026, 3, 2)
STANDARD_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("ladder_mix", "3× tier 1, 2× tier 2, 1× tier 3 on one matter", "A",
             tuple([("tier:0", 1, d) for d in _days(D, 3)] + [("tier:1", 1, d) for d in _days(D + timedelta(30), 2)]
                   + [("tier:2", 1, D + timedelta(60))])),
    Scenario("seven_meetings", "7× tier 4 on seven matters", "B",
             tuple(("tier:3", n, d) for n, d in enumerate(_days(D, 7), start=10))),
    Scenario("three_redos", "one matter sent back for redo three times", "C",
             tuple(("redo", 20, d) for d in _days(D, 3))),
    Scenario("four_redos", "one matter sent back for redo four times", "G",
             tuple(("redo", 21, d) for d in _days(D, 4))),
    Scenario("never_supervised", "no events all year", "D", ()),
    Scenario("year_boundary", "tier 1 on 30 Dec 2026 and on 5 Jan 2027", "E",
             (("tier:0", 30, date(2026, 12, 30)), ("tier:0", 30, date(2027, 1, 5))), years=(2026, 2027)),
    Scenario("criticism", "criticised once in a county-wide circular", "F", (("criticism_circular", 40, D),)),
)


def scenario_events(pack: RulePack, scenario: Scenario) -> list[ScoringEvent]:
    events = []
    for index, (step, matter, day) in enumerate(scenario.steps):
        if step.startswith("tier:"):
            position = int(step.split(":")[1])
            if position >= len(pack.tiers) or not pack.tiers[position].deduction_event:
                continue
            code = pack.tiers[position].deduction_event
        else:
            code = step
        events.append(ScoringEvent(code=code, unit=scenario.unit, occurred_on=day,
                                   matter=f"{scenario.code}-{matter}", lead_unit=scenario.unit,
                                   ref=f"{scenario.code}:{index}"))
    return events


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    description: str
    unit: str
    year: int
    entries: int
    deducted: Decimal
    score: Decimal


def run_scenarios(pack: RulePack, scenarios: tuple[Scenario, ...] = STANDARD_SCENARIOS) -> list[ScenarioRow]:
    rows = []
    for scenario in scenarios:
        result = replay(pack, scenario_events(pack, scenario), units=[scenario.unit], years=scenario.years)
        for year in scenario.years:
            mine = [d for d in result.deductions if d.unit == scenario.unit and d.year == year]
            rows.append(ScenarioRow(scenario.code, scenario.description, scenario.unit, year, len(mine),
                                    sum((d.amount for d in mine), Decimal(0)), result.scores[(scenario.unit, year)]))
    return rows


def check_pack(pack: RulePack) -> list[str]:
    """Every problem found with ``pack`` as ``"field: message"`` strings (empty = conformant)."""
    problems: list[str] = []
    events = {rule.code for rule in pack.schedule.events}
    for code in CORE_EVENTS:
        if code not in events:
            problems.append(_("%(field)s: 缺少核心事件“%(code)s”") % {"field": "schedule.events", "code": code})
    # The ladder climbs in order and ends.
    hook = active_plugin_manager().hook
    recorded: list[str] = []
    for expected in pack.tiers:
        tier = hook.duban_next_tier(pack=pack, recorded=list(recorded))
        if tier is None or tier.code != expected.code:
            problems.append(_("%(field)s: 在 %(recorded)s 之后应为 %(expected)s，实际为 %(got)s")
                            % {"field": "hooks.duban_next_tier", "recorded": "、".join(recorded) or _("无"),
                               "expected": expected.code, "got": tier.code if tier else _("无")})
            break
        recorded.append(tier.code)
    else:
        if hook.duban_next_tier(pack=pack, recorded=recorded) is not None:
            problems.append(_("%(field)s: 最后一级之后催办阶梯没有结束") % {"field": "hooks.duban_next_tier"})
    for tier in pack.tiers:
        if tier.mode == "manual" and not any(e.required for e in tier.evidence):
            problems.append(_("%(field)s: 由人工登记的一级至少要有一个必填字段")
                            % {"field": f"tiers[{tier.code}].evidence"})
    # Deductions are well-formed, borne by a unit of the event, in a plausible year.
    for rule in pack.schedule.events:
        event = ScoringEvent(code=rule.code, unit="U1", lead_unit="U0", occurred_on=date(2026, 7, 1),
                             matter="M", ref="kit")
        history: list[ScoringEvent] = []
        for _round in range(max(1, rule.threshold + 2)):
            for deduction in compute_deductions(pack, event, history):
                problems.extend(_deduction_problems(pack, rule.code, event, deduction))
            history.append(event)
    # Scores stay within [floor, base] whatever happens.
    for row in run_scenarios(pack):
        if not pack.schedule.floor <= row.score <= pack.schedule.base:
            problems.append(_("%(field)s: 情形 %(scenario)s 得 %(score)s 分，超出 [%(floor)s, %(base)s]")
                            % {"field": "schedule", "scenario": row.scenario, "score": row.score,
                               "floor": pack.schedule.floor, "base": pack.schedule.base})
    for row in run_scenarios(pack):
        if row.scenario == "never_supervised" and row.score != pack.schedule.base:
            problems.append(_("%(field)s: 从未被督办的单位得 %(score)s 分，不是基础分 %(base)s")
                            % {"field": "schedule", "score": row.score, "base": pack.schedule.base})
    problems.extend(p for result in hook.duban_validate_pack(pack=pack) if result for p in result)
    return sorted(set(problems), key=problems.index)


def _deduction_problems(pack: RulePack, code: str, event: ScoringEvent, deduction: Deduction) -> list[str]:
    where = f"hooks.duban_compute_deductions[{code}]"
    problems = []
    if not isinstance(deduction, Deduction):
        return [_("%(field)s: 返回了 %(type)s，不是 Deduction") % {"field": where, "type": type(deduction).__name__}]
    if deduction.amount < 0:
        problems.append(_("%(field)s: 扣分为负数 %(amount)s") % {"field": where, "amount": deduction.amount})
    if deduction.unit not in (event.unit, event.lead_unit):
        problems.append(_("%(field)s: 扣了单位“%(unit)s”的分，但事件中没有这个单位") % {"field": where, "unit": deduction.unit})
    if (deduction.pack, deduction.version) != (pack.name, pack.version):
        problems.append(_("%(field)s: 记录的规则包是 %(recorded)s，不是 %(pack)s")
                        % {"field": where, "recorded": f"{deduction.pack}=={deduction.version}", "pack": pack.key})
    if abs(deduction.year - event.occurred_on.year) > 1:
        problems.append(_("%(field)s: %(occurred)s 的事件计入了 %(year)s 年度考评")
                        % {"field": where, "occurred": event.occurred_on, "year": deduction.year})
    if not deduction.rule_code:
        problems.append(_("%(field)s: 没有记录条款代码") % {"field": where})
    return problems


def assert_conformant(pack: RulePack | str) -> RulePack:
    """Raise AssertionError listing every problem; return the pack when it conforms."""
    if isinstance(pack, str):
        entry = get_registry().get(pack)
        if entry is None:
            raise AssertionError(_("没有安装规则包“%(name)s”") % {"name": pack})
        if not entry.ok:
            raise AssertionError(entry.error)
        pack = entry.pack
    problems = check_pack(pack)
    if problems:
        raise AssertionError(_("规则包 %(pack)s 不合规范：%(problems)s")
                             % {"pack": pack.key, "problems": "\n  " + "\n  ".join(problems)})
    return pack
