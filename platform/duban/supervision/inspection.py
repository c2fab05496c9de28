"""The quarterly inspection window (检查制度, the seed's 五(一)).

The last weeks of every quarter (how many: the pack's ``calendar.inspection_window.weeks``)
are the dedicated supervision period: staff check on the spot all the work the units took on
that quarter and report to the leaders; units found behind are taken up the ladder, in order.

The county sweep opens the quarter's round once the window has begun (idempotent: one round
per quarter, by a database constraint) with a checklist item per matter and lead unit. Staff
record each item once; "behind" puts the next tier of the ladder on their to-do list.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.db import IntegrityError
from django.db.models import Q

from duban.audit import log as audit
from duban.core import clock
from duban.core.actions import action_scope
from duban.core.county import county_pack
from duban.matters.models import Matter, MatterUnit
from duban.matters.states import State
from duban.notifications import recipients
from duban.notifications.service import notify
from duban.supervision.models import InspectionItem, InspectionRound
from duban.units.models import Unit

# Matters still under way (reported ones too: the result may yet be sent back).
STILL_UNDER_WAY = (State.ASSIGNED, State.IN_PROGRESS, State.REDO, State.REPORTED)
RESULTS = (InspectionItem.Result.ON_TRACK, InspectionItem.Result.BEHIND, InspectionItem.Result.DONE)


def quarter_of(day: date) -> tuple[int, int, date, date]:
    """(year, quarter, first day, last day) of the quarter containing ``day``."""
    quarter = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * quarter - 2, 1)
    last = (date(day.year + 1, 1, 1) if quarter == 4 else date(day.year, 3 * quarter + 1, 1)) - timedelta(days=1)
    return day.year, quarter, first, last


def window_for(day: date, pack) -> tuple[date, date, int, int]:
    """(opens_on, closes_on, year, quarter): the last ``weeks`` weeks of the quarter of ``day``."""
    year, quarter, _first, last = quarter_of(day)
    weeks = pack.calendar.inspection_window.weeks
    return last - timedelta(days=weeks * 7 - 1), last, year, quarter


def _undertaken(first: date, last: date):
    """Matters the units took on in the quarter: assigned in it, or still under way."""
    return (Matter.objects.filter(assigned_on__isnull=False)
            .filter(Q(assigned_on__range=(first, last)) | Q(state__in=STILL_UNDER_WAY))
            .exclude(state=State.CANCELLED))


def open_inspection_if_due(*, on: date | None = None, actor="sweep") -> InspectionRound | None:
    """Open this quarter's round when ``on`` is inside its window and it is not open yet.

    Returns the new round, or None (outside the window, or already open — by this call's
    predecessor or by a concurrent sweep: the unique constraint decides)."""
    on = on or clock.today()
    pack = county_pack()
    opens_on, closes_on, year, quarter = window_for(on, pack)
    if not opens_on <= on <= closes_on:
        return None
    if InspectionRound.objects.filter(year=year, quarter=quarter).exists():
        return None
    _year, _quarter, first, last = quarter_of(on)
    try:
        with action_scope():
            round_ = InspectionRound.objects.create(year=year, quarter=quarter, opens_on=opens_on, closes_on=closes_on)
            links = (MatterUnit.objects.filter(role=MatterUnit.Role.LEAD, matter__in=_undertaken(first, last))
                     .select_related("unit").order_by("unit__code", "matter_id"))
            items = InspectionItem.objects.bulk_create(
                [InspectionItem(round=round_, matter_id=link.matter_id, unit=link.unit) for link in links])
            audit.record(actor=actor, action="inspection.open", obj=round_, after={
                "year": year, "quarter": quarter, "opens_on": opens_on, "closes_on": closes_on,
                "items": len(items), "units": len({item.unit_id for item in items}), "pack": pack.key})
            _remind(round_, actor=actor)
    except IntegrityError:
        return None  # another sweep opened it first
    return round_


def _remind(round_: InspectionRound, *, actor="sweep") -> list[str]:
    """Tell the staff of each unit with items in the round, and the supervision staff, that the
    inspection window is open (notification ``inspection.opened``; one audit row per unit)."""
    counts = Counter(round_.items.values_list("unit__code", flat=True))
    window = f"{round_.opens_on:%-m月%-d日}至{round_.closes_on:%-m月%-d日}"
    for code, count in sorted(counts.items()):
        sent = notify("inspection.opened", recipients=recipients.unit_staff(Unit.objects.filter(code=code)),
                      title=f"{round_}", body=f"本季度督查检查{window}进行，本单位有{count}项督办事项接受检查。")
        audit.record(actor=actor, action="inspection.remind", obj=round_, after={
            "unit": code, "items": count, "opens_on": round_.opens_on, "closes_on": round_.closes_on,
            "sent": len(sent)})
    notify("inspection.opened", recipients=recipients.office_staff(), title=f"{round_}",
           body=f"检查窗口{window}，共{sum(counts.values())}项、{len(counts)}个单位。")
    return sorted(counts)


def round_summary(round_: InspectionRound) -> dict:
    """What a round found: items and units, and the count of each result."""
    counts = Counter(round_.items.values_list("result", flat=True))
    return {"items": sum(counts.values()), "units": round_.items.values("unit_id").distinct().count(),
            **{result: counts.get(result, 0) for result in InspectionItem.Result.values}}


def report_inspection_if_due(*, on: date | None = None, actor="sweep") -> list[InspectionRound]:
    """Report each round whose window has closed to the county leaders (五(一) 报县政府相关领导
    审阅), once: its results are fixed in ``summary``, the leaders (and office leaders) are
    notified and may read it on the inspection pages. Items still unchecked are reported as such."""
    on = on or clock.today()
    reported = []
    for candidate in InspectionRound.objects.filter(reported_at__isnull=True, closes_on__lt=on).order_by("year", "quarter"):
        with action_scope():
            round_ = InspectionRound.objects.select_for_update().get(pk=candidate.pk)
            if round_.reported_at is not None:
                continue  # another sweep reported it first
            summary = round_summary(round_)
            round_.reported_at, round_.summary = clock.now(), summary
            round_.save(update_fields=["reported_at", "summary"])
            audit.record(actor=actor, action="inspection.report", obj=round_, after=summary)
            body = (f"共检查{summary['items']}项、{summary['units']}个单位：已完成{summary['done']}项，进度正常"
                    f"{summary['on_track']}项，滞后{summary['behind']}项"
                    + (f"，未检查{summary['pending']}项" if summary["pending"] else "") + "。请审阅。")
            notify("inspection.reported", recipients=recipients.county_leaders() + recipients.office_leaders(),
                   title=f"{round_}结果", body=body, url=f"/inspections/{round_.pk}/", actor=actor,
                   dedupe_key=f"inspection.reported:{round_.pk}")
            reported.append(round_)
    return reported


