"""Reminders the daily sweep raises: receipts still missing, feedback due today or missed, and
the lights turning yellow or red. Each person gets each reminder once (``dedupe_key``): receipt
and feedback reminders once per matter and day, lights once per matter and colour (per deadline,
so an extended deadline can warn again)."""

from __future__ import annotations

from datetime import date

from duban.core import clock
from duban.core.actions import action_scope
from duban.core.county import county_calendar, county_pack
from duban.matters.models import Matter, MatterUnit
from duban.matters.states import State
from duban.notifications import recipients
from duban.notifications.service import notify
from duban.supervision.steps import RED, YELLOW, behind, last_feedback_days, lights


def send_reminders(on: date | None = None) -> int:
    """Raise the reminders of ``on`` (default today), all in one transaction (a batch); returns
    how many notifications went out."""
    with action_scope():
        return _send_reminders(on or clock.today())


def _send_reminders(on: date) -> int:
    sent = 0
    # 签收: units that have not signed for an assigned matter.
    for link in (MatterUnit.objects.filter(received_at__isnull=True,
                                           matter__state__in=[State.ASSIGNED, State.IN_PROGRESS, State.REDO])
                 .select_related("matter", "unit").order_by("matter_id", "id")):
        matter = link.matter
        sent += len(notify("receipt.due", recipients=recipients.unit_staff([link.unit]), matter=matter,
                           url=recipients.matter_url(matter), title=f"请签收：{matter.title}",
                           body=f"{matter.number} 已交办{link.unit.name}，尚未签收。",
                           dedupe_key=f"receipt.due:{matter.pk}:{on.isoformat()}"))
    # 反馈: due today (the lead unit) or missed (the lead unit and the office).
    for matter in (Matter.objects.filter(state__in=[State.IN_PROGRESS, State.REDO], feedback_due_on__lte=on)
                   .order_by("id")):
        lead = matter.lead_unit
        if lead is None:
            continue
        if matter.feedback_due_on == on:
            sent += len(notify("feedback.due", recipients=recipients.unit_staff([lead]), matter=matter,
                               url=recipients.matter_url(matter), title=f"今日应反馈：{matter.title}",
                               body=f"{matter.number} 今天（{on:%-m月%-d日}）应反馈办理进展。",
                               dedupe_key=f"feedback.due:{matter.pk}:{on.isoformat()}"))
        else:
            sent += len(notify("feedback.missed", recipients=[*recipients.unit_staff([lead]), *recipients.office_staff()],
                               matter=matter, url=recipients.matter_url(matter), title=f"反馈逾期：{matter.title}",
                               body=f"{matter.number} 应于{matter.feedback_due_on:%-m月%-d日}反馈，{lead.name}尚未反馈。",
                               dedupe_key=f"feedback.missed:{matter.pk}:{matter.feedback_due_on.isoformat()}"))
    # 时效性强: a time-sensitive matter unchecked for the pack's cadence — a reminder (催报) to the
    # lead unit and the office; whether it also opens a ladder step is the pack's choice (四(一)).
    sent += _check_reminders(on)
    # 亮灯: yellow to the lead unit; red to the lead unit, the office and the approving leader.
    board = lights(on)
    for colour, event in ((YELLOW, "light.yellow"), (RED, "light.red")):
        for matter in board[colour]:
            lead = matter.lead_unit
            people = recipients.unit_staff([lead]) if lead else []
            if colour == RED:
                people += recipients.office_staff() + ([matter.approved_by] if matter.approved_by_id else [])
            label = "黄灯预警" if colour == YELLOW else "红灯警示"
            sent += len(notify(event, recipients=people, matter=matter, url=recipients.matter_url(matter),
                               title=f"{label}：{matter.title}",
                               body=f"{matter.number} 办结时限{matter.deadline:%Y年%-m月%-d日}。",
                               dedupe_key=f"{event}:{matter.pk}:{matter.deadline.isoformat()}"))
    return sent


def _check_reminders(on: date) -> int:
    matters = list(Matter.objects.filter(state__in=[State.IN_PROGRESS, State.REDO], time_sensitive=True).order_by("id"))
    if not matters:
        return 0
    calendar, pack, sent = county_calendar(), county_pack(), 0
    last = last_feedback_days([m.pk for m in matters])
    for matter in matters:
        check_on = behind(matter, on, calendar, pack, last.get(matter.pk)).get("check_due")
        lead = matter.lead_unit
        if check_on is None or lead is None:
            continue
        sent += len(notify("check.due", recipients=[*recipients.unit_staff([lead]), *recipients.office_staff()],
                           matter=matter, url=recipients.matter_url(matter), title=f"到期检查：{matter.title}",
                           body=f"{matter.number} 为时效性强的事项，应于{check_on:%-m月%-d日}前检查落实情况，"
                                f"请{lead.name}报送最新进展。",
                           dedupe_key=f"check.due:{matter.pk}:{check_on.isoformat()}"))
    return sent
