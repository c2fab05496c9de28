"""Read-only queries behind supervision's pages and API: nothing here writes."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.matters.models import Matter, MatterUnit
from duban.matters.states import State
from duban.supervision.models import EscalationStep


def steps_by_tier(units, year: int, labels: dict[str, str]) -> list[dict]:
    """The steps recorded against ``units`` in ``year`` by tier: each tier of the pack (``labels``:
    code → label, in ladder order), then any tier of an older pack that has steps."""
    counts = Counter(EscalationStep.objects.filter(
        status=EscalationStep.Status.RECORDED, recorded_on__year=year, unit__in=units).values_list("tier", flat=True))
    out = [{"code": code, "label": label, "count": counts.pop(code, 0)} for code, label in labels.items()]
    out += [{"code": code, "label": code, "count": n} for code, n in sorted(counts.items())]  # tiers of an older pack
    return out


def on_time_by_month(units, year: int) -> list[dict]:
    """Per month of ``year``: matters closed (by their lead unit, among ``units``), how many on
    or before their deadline, and the rate."""
    closed = Matter.objects.filter(
        state=State.CLOSED, closed_at__year=year,
        pk__in=MatterUnit.objects.filter(role=MatterUnit.Role.LEAD, unit__in=units).values("matter_id"),
    ).values_list("closed_at", "deadline")
    totals, on_time = Counter(), Counter()
    for closed_at, deadline in closed:
        day = timezone.localtime(closed_at).date()
        totals[day.month] += 1
        if deadline and day <= deadline:
            on_time[day.month] += 1
    today = clock.today()
    last = 12 if year < today.year else (today.month if year == today.year else 0)
    rows = []
    for month in range(1, last + 1):
        n = totals[month]
        rows.append({"month": month, "label": _("%(month)d月") % {"month": month}, "closed": n,
                     "on_time": on_time[month], "rate": round(on_time[month] * 100 / n, 1) if n else None})
    return rows


def start_reason(step: EscalationStep) -> str:
    """Why staff started ``step`` on their own initiative (the note of its opening; "" for a step
    the sweep or an inspection opened)."""
    if step.source != EscalationStep.Source.MANUAL:
        return ""
    return (AuditEvent.objects.filter(object_type=EscalationStep._meta.label_lower, object_id=str(step.pk),
                                      action="step.open").values_list("note", flat=True).first() or "")
