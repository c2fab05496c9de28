"""Demo supervision data: steps of every tier, a reply to a notice, a reversal, a sweep run.

Called by `duban seed_demo` after the demo matters exist; made through the real actions."""

from __future__ import annotations

from datetime import date, timedelta

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.clock import as_of
from duban.core.county import county_calendar, county_pack
from duban.matters.models import Matter
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_inspection,
    do_record_manual_step,
    do_record_reply,
    do_reverse_entry,
    do_set_circular_lists,
)
from duban.supervision.circulars import adverse_facts, praise_shortfalls
from duban.supervision.inspection import open_inspection_if_due, quarter_of, window_for
from duban.supervision.models import Circular, EscalationStep, InspectionItem, LedgerEntry
from duban.supervision.steps import sweep


def seed_supervision() -> None:
    if EscalationStep.objects.exists():
        return
    staff = User.objects.filter(role=Role.SUPERVISION_STAFF).order_by("id").first()
    office = User.objects.filter(role=Role.OFFICE_LEADER).order_by("id").first()
    today = clock.today()
    matter = Matter.objects.filter(title="中小学校舍安全排查整改").first()
    if matter is None or matter.deadline is None:
        return
    # The ladder as the regulation times it (四、五(一)): the phone call on the first working day
    # after the deadline, each later tier when the pack's gap (or the date promised on the phone)
    # has passed — working days of the county's calendar, never later than today.
    calendar = county_calendar()

    def working_day(start, n):
        return min(calendar.add_working_days(start, n)[0], today)

    phone_on = working_day(matter.deadline, 1)
    promised = calendar.add_working_days(phone_on, 3)[0]
    notice_on = working_day(promised, 1)
    onsite_on = working_day(notice_on, 5)
    meeting_on = working_day(onsite_on, 10)
    ladder = [
        (phone_on, "phone", {"contact": "教育局办公室刘主任", "contacted_at": f"{phone_on}T09:30",
                             "promised_date": str(promised)}),
        (notice_on, "written_notice", {"requirements": "立即组织排查整改，五个工作日内专题答复。",
                                       "reply_due": str(calendar.add_working_days(notice_on, 5)[0])}),
        (onsite_on, "onsite", {"inspector": "张督查", "visited_at": f"{onsite_on}T10:00",
                               "findings": "三所学校整改未完成，台账不全。"}),
        (meeting_on, "special_meeting", {"self_examination": "教育局书面检查（存档）",
                                         "explanation": "局长向分管副县长当面说明情况", "minutes": "专项会议纪要"}),
    ]
    for on, tier, evidence in ladder:
        with as_of(on):
            do_record_manual_step(matter.pk, actor=staff, tier=tier, evidence=evidence, on=on)
    notice = EscalationStep.objects.get(matter=matter, tier="written_notice")
    clerk = User.objects.filter(role=Role.UNIT_STAFF, unit=notice.unit).first()
    do_record_reply(notice.pk, actor=clerk, text="专题答复：已成立整改专班，月底前全部完成。")
    # A phone urging recorded by mistake on another matter, then reversed by the office leader.
    other = Matter.objects.filter(title="财政资金直达惠企政策落实").first()
    if other is not None and other.state in ("in_progress", "redo"):
        do_record_manual_step(other.pk, actor=staff, tier="phone", on=today, evidence={
            "contact": "财政局王科长", "contacted_at": f"{today}T15:00", "promised_date": str(today + timedelta(days=5))})
        entry = LedgerEntry.objects.filter(matter=other, reverses__isnull=True).latest("id")
        do_reverse_entry(entry.pk, actor=office, reason="该事项未逾期，电话催办系误记。", kind="recorded_in_error")
    # Accountability on the special-meeting matter, as of today.
    do_record_manual_step(matter.pk, actor=staff, tier="accountability", on=today, evidence={
        "decision": "对教育局分管负责人进行约谈", "decided_by": "县政府"})
    sweep(actor="seed_demo")
    _seed_inspection_and_circular(staff, office, today)


def _seed_inspection_and_circular(staff, office, today) -> None:
    # The inspection window of this quarter if it is open today, else the last one that opened.
    opens, *_ = window_for(today, county_pack())
    if opens > today:
        year, quarter, first, _last = quarter_of(today)
        opens, *_ = window_for(first - timedelta(days=1), county_pack())
    with as_of(opens):
        round_ = open_inspection_if_due(on=opens, actor="seed_demo")
    if round_ is not None:
        items = list(InspectionItem.objects.filter(round=round_).order_by("id"))
        for item, result in zip(items, ["on_track", "done", "on_track"], strict=False):
            do_record_inspection(item.pk, actor=staff, result=result, findings="现场核查：进度与台账相符。",
                                            on=opens)
    if not Circular.objects.exists():
        first = date(today.year, today.month, 1) - timedelta(days=1)
        start = date(first.year, first.month, 1)
        circular = do_draft_circular(actor=staff, title=f"关于{start.month}月份督办事项落实情况的通报",
                                               period_start=start, period_end=first)
        ranking = circular.ranking
        # Praise only what the period's facts bear out (the pack's criterion); criticise units with
        # an adverse fact — D03, whose matter climbed the whole ladder, when the period shows it.
        praised = [row["unit"] for row in ranking if not praise_shortfalls(row)][:2]
        criticised = [row["unit"] for row in ranking if row["unit"] == "D03" and adverse_facts(row)]
        do_set_circular_lists(circular.pk, actor=staff, praised=praised, criticised=criticised,
                                        body="对按期办结的单位予以表扬，对落实不力的单位予以通报批评。")
        do_publish_circular(circular.pk, actor=office)
