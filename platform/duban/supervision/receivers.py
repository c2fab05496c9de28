"""How the supervision ladder reacts to what happens to matters (the matters area sends signals;
it does not import supervision)."""

from __future__ import annotations

from django.dispatch import receiver

from duban.matters.signals import deadline_changed, sent_back
from duban.supervision.ladder import take_off_ladder
from duban.supervision.ledger import record_redo
from duban.supervision.models import EscalationStep


@receiver(deadline_changed, dispatch_uid="supervision.restart_ladder")
def restart_ladder(sender, *, matter, old, new, kind, actor, **kwargs) -> int:
    """A new deadline starts the ladder again (四(一) counts from the deadline): steps still due
    against the old one lapse — kept, marked superseded, on the timeline. Recorded steps and
    their deductions stay what they are."""
    lapsed = 0
    note = f"办结时限由{old:%Y年%-m月%-d日}调整为{new:%Y年%-m月%-d日}，督办自新的时限重新起算。" if old else \
        f"办结时限调整为{new:%Y年%-m月%-d日}，督办自新的时限重新起算。"
    for step in (EscalationStep.objects.select_for_update().select_related("matter", "unit")
                 .filter(matter=matter, status=EscalationStep.Status.DUE).exclude(deadline=new)):
        take_off_ladder(step, status=EscalationStep.Status.SUPERSEDED, note=note, actor=actor,
                        after={"new_deadline": new, "kind": kind})
        lapsed += 1
    return lapsed


@receiver(sent_back, dispatch_uid="supervision.record_redo")
def charge_redo(sender, *, matter, review, actor, on, **kwargs) -> list:
    """A send-back costs points by the pack's redo rule (六(五)): posted to the ledger for each
    unit the review charges, in the send-back's own transaction."""
    return record_redo(matter, review, actor=actor, on=on)
