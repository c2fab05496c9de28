"""notify(): write inbox entries and outbox deliveries inside the caller's transaction; the
deliveries are sent by Celery after commit (``tasks.deliver``), retried with backoff, and re-driven
by a periodic job (``tasks.redrive_county``) until sent or given up."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from duban.notifications.channels import available_channels
from duban.notifications.events import EVENTS
from duban.notifications.models import Delivery, Notification, Preference
from duban.notifications.tasks import enqueue

logger = logging.getLogger(__name__)


def enabled_channels(user, event: str, channels: Iterable[str]) -> list[str]:
    """Channels this person gets this event on: every available one unless they turned it off."""
    off = set(Preference.objects.filter(user=user, event=event, enabled=False).values_list("channel", flat=True))
    return [code for code in channels if code not in off]


def notify(event: str, *, recipients: Iterable, title: str, body: str = "", url: str = "", matter=None,
           actor=None, dedupe_key: str = "") -> list[Notification]:
    """Tell ``recipients`` about ``event``. Call inside the action's transaction: the inbox rows
    and the deliveries commit (or roll back) with the action itself."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not people:
        return []
    try:
        channel_codes = list(available_channels())
    except Exception:  # a broken plugin must not stop the action; the inbox still works
        logger.exception("notification channels unavailable; inbox only")
        channel_codes = []
    now = timezone.now()
    created: list[Notification] = []
    with transaction.atomic():
        for user in people.values():
            try:
                with transaction.atomic():
                    note = Notification.objects.create(recipient=user, event=event, title=title[:200], body=body,
                                                       url=url[:300], matter=matter, dedupe_key=dedupe_key[:150])
            except IntegrityError:  # this person already has this reminder
                continue
            created.append(note)
            Delivery.objects.bulk_create([Delivery(notification=note, channel=code, next_attempt_at=now)
                                          for code in enabled_channels(user, event, channel_codes)])
        if created:
            ids = list(Delivery.objects.filter(notification__in=created).values_list("pk", flat=True))
            if ids:
                transaction.on_commit(lambda: enqueue(ids))
    return created
