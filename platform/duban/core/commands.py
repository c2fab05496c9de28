"""What the management commands share: an action's errors as clear CLI messages."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management.base import CommandError


@contextmanager
def action_errors():
    """Turn the action functions' errors into ``CommandError`` naming the problem: bad input
    (``field: message``), a role that may not, a stale version, something missing."""
    from duban.matters.access import MatterNotFound
    from duban.matters.actions import Conflict, MatterError
    from duban.matters.states import InvalidTransition, NotAllowed

    try:
        yield
    except MatterError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    except NotAllowed as exc:
        raise CommandError(f"not allowed: {exc}") from None
    except (Conflict, InvalidTransition) as exc:
        raise CommandError(str(exc)) from None
    except MatterNotFound as exc:
        raise CommandError(str(exc)) from None
