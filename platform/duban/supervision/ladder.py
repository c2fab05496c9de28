"""Taking a step off the ladder: it stays (a fact, with its evidence and entries) but no longer
counts — withdrawn by a reversal as recorded in error, or superseded by a new deadline."""

from __future__ import annotations

from duban.audit import log as audit
from duban.supervision.models import EscalationStep


def take_off_ladder(step: EscalationStep, *, status: str, note: str, actor, after: dict | None = None) -> None:
    """Mark ``step`` (locked by the caller) ``status`` with ``note``; audited on the step and on
    the matter's timeline (matter.step_withdrawn / matter.step_superseded)."""
    before = step.status
    step.status, step.closed_note = status, note[:2000]
    step.save(update_fields=["status", "closed_note"])
    verb = {EscalationStep.Status.WITHDRAWN: "withdraw", EscalationStep.Status.SUPERSEDED: "supersede"}[status]
    audit.record(actor=actor, action=f"step.{verb}", obj=step, note=note,
                 before={"status": before, "deadline": step.deadline},
                 after={"status": status, "tier": step.tier, **(after or {})})
    audit.record(actor=actor, action=f"matter.step_{'withdrawn' if verb == 'withdraw' else 'superseded'}",
                 obj=step.matter, note=note, after={"tier": step.tier, "unit": step.unit.code, "step": step.pk})
