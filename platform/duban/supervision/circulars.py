"""Circulars (通报, the seed's 五(三)): how units did on leader-assigned matters in a period.

Supervision staff draft a circular — the system ranks every active unit over the period — and
name the units to praise and to criticise (鼓励先进，批评后进). Nothing goes out before the
office leader has reviewed it (办公室主管领导审核): publishing is theirs alone. Publishing
numbers the circular as an official document and posts, for every criticised unit, the pack's
"county-wide criticism" deduction (六(七)) to the points ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core import clock
from duban.core.county import county_pack
from duban.core.errors import Invalid
from duban.matters.models import MatterUnit, Review
from duban.matters.states import State
from duban.supervision import ledger
from duban.supervision.models import EscalationStep
from duban.supervision.steps import UNDER_WAY
from duban.units.models import Unit

CRITICISM_EVENT = "criticism_circular"  # a core event every pack's schedule declares (全县通报批评, 六(七))
NAMED_EVENT = "named_criticism"  # 点名批评 (五(三)): deducts only if the pack's schedule gives it an amount


# --- the ranking -------------------------------------------------------------------------------
def _rate(on_time: int, assigned: int) -> float | None:
    return round(on_time / assigned, 4) if assigned else None


def ranking(period_start: date, period_end: date, *, on: date | None = None) -> list[dict]:
    """Every active unit's record over the period, best first.

    Per unit (as the lead unit of a matter): the matters assigned to it in the period (cancelled
    ones left out: they were withdrawn, not failed); of those, how many are due ``on`` (closed, or
    past their deadline — a matter still within its deadline is neither on time nor late yet),
    closed, closed on time (the local date of closing on or before the deadline) and closed late;
    the on-time rate (on time ÷ due; None when nothing is due); the matters overdue ``on`` (today
    by default; all its matters, not only this period's); the ladder steps recorded against it in
    the period by tier; and the redos charged to it in the period (the units a send-back named).

    Best first: on-time rate high to low (units with nothing due last), then fewer steps, fewer
    overdue matters, the unit code.
    """
    on = on or clock.today()
    tier_order = {tier.code: index for index, tier in enumerate(county_pack().tiers)}
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    leads = (MatterUnit.objects.filter(role=MatterUnit.Role.LEAD, unit__in=units)
             .select_related("matter"))
    in_period = [link for link in leads
                 if link.matter.assigned_on and period_start <= link.matter.assigned_on <= period_end
                 and link.matter.state != State.CANCELLED]
    overdue = Counter(MatterUnit.objects.filter(
        role=MatterUnit.Role.LEAD, unit__in=units, matter__state__in=UNDER_WAY, matter__deadline__lt=on)
        .values_list("unit_id", flat=True))
    steps: dict[int, Counter] = {}
    for unit_id, tier in EscalationStep.objects.filter(
            unit__in=units, status=EscalationStep.Status.RECORDED,
            recorded_on__range=(period_start, period_end)).values_list("unit_id", "tier"):
        steps.setdefault(unit_id, Counter())[tier] += 1
    codes = {unit.code: unit.pk for unit in units}
    redos: Counter = Counter()
    for review in Review.objects.filter(decision=Review.Decision.REDO).select_related("report__unit"):
        if period_start <= timezone.localtime(review.reviewed_at).date() <= period_end:
            for code in ledger.charged_units(review, review.report.unit.code):  # the units the redo was charged to
                if code in codes:
                    redos[codes[code]] += 1

    rows = []
    for unit in units:
        mine = [link.matter for link in in_period if link.unit_id == unit.pk]
        closed = [m for m in mine if m.state == State.CLOSED]
        on_time = [m for m in closed if m.closed_at and m.deadline
                   and timezone.localtime(m.closed_at).date() <= m.deadline]
        due = [m for m in mine if m.state == State.CLOSED or (m.deadline and m.deadline < on)]
        by_tier = steps.get(unit.pk, Counter())
        rows.append({
            "unit": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "assigned": len(mine),
            "due": len(due),
            "completed": len(closed),
            "on_time": len(on_time),
            "late": len(closed) - len(on_time),
            "on_time_rate": _rate(len(on_time), len(due)),
            "overdue": overdue.get(unit.pk, 0),
            "steps": dict(sorted(by_tier.items(), key=lambda item: (tier_order.get(item[0], 99), item[0]))),
            "steps_total": sum(by_tier.values()),
            "redos": redos.get(unit.pk, 0),
        })
    rows.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["steps_total"], r["overdue"],
                             r["unit"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


# --- what a circular may say of a unit ------------------------------------------------------------
def facts(row: dict, pack=None) -> str:
    """A unit's record over the period in the words of a circular, from its ranking row:
    承办督办事项3件，按期办结2件，逾期办结1件，逾期未办结1件，被采取督办措施2次（电话、口头督办1次，书面督办1次），
    退回复办1次."""
    pack = pack or county_pack()
    parts = [f"承办督办事项{row.get('assigned', 0)}件"]
    if row.get("on_time"):
        parts.append(f"按期办结{row['on_time']}件")
    if row.get("late"):
        parts.append(f"逾期办结{row['late']}件")
    if row.get("overdue"):
        parts.append(f"逾期未办结{row['overdue']}件")
    steps = [f"{_tier_label(pack, tier)}{count}次" for tier, count in (row.get("steps") or {}).items() if count]
    if steps:
        parts.append(f"被采取督办措施{sum((row.get('steps') or {}).values())}次（{'，'.join(steps)}）")
    if row.get("redos"):
        parts.append(f"退回复办{row['redos']}次")
    if len(parts) == 1 and not row.get("assigned"):
        return "无承办的督办事项"
    return "，".join(parts)


def _tier_label(pack, code: str) -> str:
    tier = pack.tier(code)
    return tier.label.zh if tier else code


def praise_shortfalls(row: dict, pack=None) -> list[str]:
    """Why the unit of ``row`` may not be praised under the pack's criterion ([] : it may)."""
    rule = (pack or county_pack()).circulars.praise
    found = []
    if row.get("on_time", 0) < rule.min_closed_on_time:
        found.append(f"本期按期办结督办事项{row.get('on_time', 0)}件（表扬须至少{rule.min_closed_on_time}件）")
    for key, limit, words in (("late", rule.max_closed_late, "逾期办结{n}件"), ("overdue", rule.max_overdue, "逾期未办结{n}件"),
                              ("steps_total", rule.max_steps, "被采取督办措施{n}次"), ("redos", rule.max_redos, "退回复办{n}次")):
        if limit is not None and row.get(key, 0) > limit:
            found.append(words.format(n=row.get(key, 0)) + (f"（表扬须不超过{limit}）" if limit else ""))
    return found


def adverse_facts(row: dict) -> bool:
    return bool(row.get("overdue") or row.get("late") or row.get("steps_total") or row.get("redos"))


def sentence(kind: str, row: dict, pack=None) -> str:
    """The praise / named-criticism / county-wide-criticism sentence for the unit of ``row``."""
    pack = pack or county_pack()
    template = getattr(pack.circulars, f"{kind}_sentence")
    return template.format(unit=row.get("name") or row.get("unit"), facts=facts(row, pack))


def check_lists(rows: list[dict], praised: list[Unit], criticised: list[Unit], named: list[Unit], pack=None) -> None:
    """Refuse a list that the period's facts do not bear out, naming the unit and the fact."""
    pack = pack or county_pack()
    by_code = {row["unit"]: row for row in rows}
    empty = {"assigned": 0}
    for unit in praised:
        shortfalls = praise_shortfalls(by_code.get(unit.code, empty), pack)
        if shortfalls:
            raise Invalid(_("%(unit)s不符合通报表扬条件：%(shortfalls)s。") % {
                "unit": unit.name, "shortfalls": "；".join(shortfalls)},
                          field="praised")
    if pack.circulars.criticism_needs_fact:
        for units, field, words in ((criticised, "criticised", _("全县通报批评")), (named, "named", _("点名批评"))):
            for unit in units:
                if not adverse_facts(by_code.get(unit.code, empty)):
                    raise Invalid(_("%(unit)s本期无逾期未办结、逾期办结、被采取督办措施或退回复办的情况"
                                    "（%(facts)s），不能%(words)s。")
                                  % {"unit": unit.name, "facts": facts(by_code.get(unit.code, empty), pack), "words": words},
                                  field=field)
