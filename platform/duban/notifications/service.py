"""notify(): write inbox entries and outbox deliveries inside the caller's transaction; the
deliveries are sent by Celery after commit (``tasks.deliver``), retried with backoff, and re-driven
by a periodic job (``tasks.redrive_county``) until sent or given up.

A delivery on a channel that keeps to quiet hours (SMS, WeCom, DingTalk) for a person whose quiet
hours it is now is written with ``next_attempt_at`` at their end and left to the re-drive; an
urgent notice goes at once. A notice with any delivery on a channel that carries the short link
gets its link (``PhoneLink``) here, in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from duban.notifications import reach
from duban.notifications.channels import available_channels, channel_default
from duban.notifications.events import EVENTS
from duban.notifications.models import Delivery, Notification, Preference
from duban.notifications.tasks import enqueue

logger = logging.getLogger(__name__)


def enabled_channels(user, event: str, channels: dict) -> list[str]:
    """Channels (code → channel) this person gets this event on: their choice where they made
    one, else the channel's default (every channel but SMS sends every event)."""
    chosen = dict(Preference.objects.filter(user=user, event=event).values_list("channel", "enabled"))
    return [code for code, channel in channels.items() if chosen.get(code, channel_default(channel, event))]


def notify(event: str, *, recipients: Iterable, title: str, body: str = "", url: str = "", matter=None,
           actor=None, dedupe_key: str = "", urgent: bool = False) -> list[Notification]:
    """Tell ``recipients`` about ``event``. Call inside the action's transaction: the inbox rows
    and the deliveries commit (or roll back) with the action itself. ``urgent`` notices ignore
    the recipients' quiet hours."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not people:
        return []
    try:
        channels = available_channels()
    except Exception:  # a broken plugin must not stop the action; the inbox still works
        logger.exception("notification channels unavailable; inbox only")
        channels = {}
    now = timezone.now()
    created: list[Notification] = []
    due_now: list[Delivery] = []
    with transaction.atomic():
        quiet = reach.quiet_hours_of(people.values())
        for user in people.values():
            try:
                with transaction.atomic():
                    note = Notification.objects.create(recipient=user, event=event, title=title[:200], body=body,
                                                       url=url[:300], matter=matter, dedupe_key=dedupe_key[:150],
                                                       urgent=urgent)
            except IntegrityError:  # this person already has this reminder
                continue
            created.append(note)
            rows = []
            for code in enabled_channels(user, event, channels):
                until = None if urgent else reach.quiet_until(quiet.get(user.pk), channels[code], now)
                rows.append(Delivery(notification=note, channel=code, next_attempt_at=until or now))
            Delivery.objects.bulk_create(rows)
            due_now += [row for row in rows if row.next_attempt_at <= now]
            if any(reach.carries_link(channels[row.channel]) for row in rows):
                reach.make_link(note)
        if due_now:
            ids = list(Delivery.objects.filter(notification__in=created, next_attempt_at__lte=now)
                       .values_list("pk", flat=True))
            if ids:
                transaction.on_commit(lambda: enqueue(ids))
    return created
