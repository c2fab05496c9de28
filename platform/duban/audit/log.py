"""Writing audit events. Call from action functions, inside their transaction."""

from __future__ import annotations

from typing import Any

from duban.audit.models import AuditEvent


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return f"user:{actor.username}"


def record(*, actor: Any, action: str, obj: Any = None, object_type: str | None = None,
           object_id: Any = None, before: dict | None = None, after: dict | None = None,
           note: str = "") -> AuditEvent:
    """Append an audit event. ``actor`` is a user, a label such as ``"cli"``, or None."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    return AuditEvent.objects.create(
        actor=actor if hasattr(actor, "_meta") else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        before=before,
        after=after,
        note=note,
    )
