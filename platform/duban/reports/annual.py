"""The annual assessment (年度考评, 五(四) and 六): per unit the base, the deductions by type
(the ledger's event codes, labelled by the county's pack, net of reversals) and the final score —
the same score ``ledger.unit_scores`` gives."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from duban.core import clock
from duban.core.county import county_pack
from duban.matters.models import Review, Satisfaction
from duban.supervision import ledger
from duban.supervision.models import LedgerEntry


@dataclass(frozen=True)
class Column:
    code: str  # the ledger's event code
    label: str  # the pack's label (the code itself for an event the pack no longer has)
    amount: Decimal | None  # the pack's deduction per occurrence


@dataclass
class Row:
    unit_code: str
    unit_name: str
    kind_label: str
    deductions: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = Decimal(0)
    score: Decimal = Decimal(0)
    rank: int = 0  # 名次: by score, highest first; equal scores share a rank (1, 1, 3)


@dataclass
class AnnualAssessment:
    year: int
    as_of: date
    base: Decimal
    floor: Decimal
    pack_key: str
    columns: list[Column]
    rows: list[Row]
    # 人大代表建议、政协委员提案: the proposers' views of the replies reviewed in the year.
    proposals: dict[str, int] = field(default_factory=dict)


def proposer_views(reviews) -> dict[str, int]:
    """How many replies to deputies' suggestions and CPPCC proposals the proposers found 满意,
    基本满意, 不满意 (every view recorded, the first reply's too)."""
    counts = Counter(reviews.exclude(satisfaction="").values_list("satisfaction", flat=True))
    return {value: counts.get(value, 0) for value in Satisfaction.values}


def annual_assessment(year: int, *, as_of: date | None = None) -> AnnualAssessment:
    """Every unit of ``ledger.unit_scores(year)`` (active units, and inactive ones with entries)
    with its deductions by event code."""
    pack = county_pack()
    columns = [Column(rule.code, rule.label.zh, rule.amount) for rule in pack.schedule.events]
    known = {column.code for column in columns}
    totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for unit_id, code, amount in (LedgerEntry.objects.filter(year=year).values("unit_id", "event_code")
                                  .annotate(total=Sum("amount")).values_list("unit_id", "event_code", "total")):
        totals[unit_id][code] = totals[unit_id].get(code, Decimal(0)) + amount
        if code not in known:  # an event of an earlier pack: keep it, labelled by its code
            columns.append(Column(code, code, None))
            known.add(code)
    rows = []
    for unit, score in ledger.unit_scores(year).items():
        mine = totals.get(unit.pk, {})
        rows.append(Row(unit_code=unit.code, unit_name=unit.name, kind_label=str(unit.get_kind_display()),
                        deductions=dict(mine), total=sum(mine.values(), Decimal(0)), score=score))
    ordered = sorted(rows, key=lambda r: -r.score)
    for position, row in enumerate(ordered, 1):
        row.rank = position if position == 1 or row.score != ordered[position - 2].score else ordered[position - 2].rank
    first = date(year, pack.schedule.year_starts_month, 1)
    last = date(year + 1, pack.schedule.year_starts_month, 1)
    views = proposer_views(Review.objects.filter(reviewed_at__date__gte=first, reviewed_at__date__lt=last))
    return AnnualAssessment(year=year, as_of=as_of or clock.today(), base=pack.schedule.base,
                            floor=pack.schedule.floor, pack_key=pack.key, columns=columns, rows=rows, proposals=views)
