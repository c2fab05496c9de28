"""What the matters area tells the areas above it, without importing them (they listen)."""

from __future__ import annotations

from django.dispatch import Signal

# A matter's deadline changed (an approved extension or adjustment, or a calendar retime), inside
# the action's transaction. Arguments: matter, old (date or None), new (date), kind (a
# DeadlineChange.Kind value), actor. The supervision ladder starts again from the new deadline.
deadline_changed = Signal()

# A result was sent back for redo (复办), inside the action's transaction, after the review is
# saved. Arguments: matter, review (the Review naming the units charged), actor, on (the county's
# date). Supervision records the redo by the pack's rule (六(五)): whether it costs points, and whom.
sent_back = Signal()
