"""How the supervision ladder reacts to what happens to matters (the matters area sends signals;
it does not import supervision)."""

from __future__ import annotations

from django.dispatch import receiver

from duban.matters.signals import deadline_changed
from duban.supervision.ladder import take_off_ladder
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
