"""Flows of notifications made of several actions in one transaction (to be folded into the
area's actions module)."""

from __future__ import annotations

from collections.abc import Iterable

from duban.core.actions import action
from duban.notifications.service import do_set_preference


@action
def do_set_preferences(user, *, changes: Iterable[tuple[str, str, bool]]) -> None:
    """Turn channels on or off for events, ``(event, channel, enabled)`` each, all or nothing."""
    for event, channel, enabled in changes:
        do_set_preference(user, event=event, channel=channel, enabled=enabled)
