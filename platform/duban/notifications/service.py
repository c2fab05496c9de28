"""notify(): write inbox entries and outbox deliveries inside the caller's transaction; the
deliveries are sent by Celery after commit (``tasks.deliver``), retried with backoff, and re-driven
by a periodic job (``tasks.redrive``) until sent or given up."""

from __future__ import annotations

import logging
import socket
import urllib.parse
from datetime import timedelta
from typing import Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from duban.audit import log as audit
from duban.notifications.events import EVENTS
from duban.notifications.models import Delivery, DeliveryAttempt, Notification, Preference, WebhookTarget

logger = logging.getLogger(__name__)


def enabled_channels(user, event: str, channels: Iterable[str]) -> list[str]:
    """Channels this person gets this event on: every available one unless they turned it off."""
    off = set(Preference.objects.filter(user=user, event=event, enabled=False).values_list("channel", flat=True))
    return [code for code in channels if code not in off]


def notify(event: str, *, recipients: Iterable, title: str, body: str = "", url: str = "", matter=None,
           actor=None, dedupe_key: str = "") -> list[Notification]:
    """Tell ``recipients`` about ``event``. Call inside the action's transaction: the inbox rows
    and the deliveries commit (or roll back) with the action itself."""
    from duban.notifications.channels import available_channels

    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not people:
        return []
    try:
        channel_codes = list(available_channels())
    except Exception:  # noqa: BLE001 — a broken plugin must not stop the action; the inbox still works
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


def enqueue(delivery_ids: list[int], countdown: float | None = None) -> None:
    from duban.notifications.tasks import deliver

    for pk in delivery_ids:
        try:
            deliver.apply_async((pk,), countdown=countdown)
        except Exception:  # noqa: BLE001 — the broker is down: the periodic re-drive will send it
            logger.warning("could not enqueue delivery %s; the re-drive will pick it up", pk, exc_info=True)


def backoff(attempts: int) -> timedelta:
    base = settings.DUBAN_NOTIFY_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def locked_delivery(delivery_id: int):
    """The delivery, row-locked for this transaction — or None if another worker holds it.

    Only the delivery's own row is locked (``of=("self",)``): without it PostgreSQL would also
    lock the joined notification and recipient rows, and two deliveries to the same person in two
    workers would skip each other, leaving one for the periodic re-drive."""
    return (Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__recipient").filter(pk=delivery_id).first())


def deliver_one(delivery_id: int) -> str:
    """Send one delivery if it is due: lock it (another worker holding it → skip), send with its
    idempotency key, record the attempt, mark it. Returns what happened."""
    from duban.notifications.channels import Recipient, Undeliverable, available_channels

    with transaction.atomic():
        delivery = locked_delivery(delivery_id)
        if delivery is None:
            return "busy-or-missing"
        if delivery.status != Delivery.Status.PENDING:
            return delivery.status
        now = timezone.now()
        if delivery.next_attempt_at > now + timedelta(seconds=1):
            return "not-due"
        note, user = delivery.notification, delivery.notification.recipient
        channel = available_channels().get(delivery.channel)
        delivery.attempts += 1
        number = delivery.attempts
        error = ""
        try:
            if channel is None:
                raise Undeliverable(f"channel {delivery.channel!r} is no longer available")
            recipient = Recipient(user.username, user.display_name, user.email, user.phone)
            channel.send(recipient=recipient.as_dict(), subject=note.title, body=note.body,
                         idempotency_key=delivery.idempotency_key)
        except Undeliverable as exc:
            delivery.status, error = Delivery.Status.SKIPPED, str(exc)
        except Exception as exc:  # noqa: BLE001 — any failure of the outside world: retry later
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if number >= settings.DUBAN_NOTIFY_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
            else:
                delivery.next_attempt_at = now + backoff(number)
        else:
            delivery.status, delivery.sent_at = Delivery.Status.SENT, now
        delivery.last_error = error
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "sent_at"])
        DeliveryAttempt.objects.create(delivery=delivery, number=number, ok=delivery.status == Delivery.Status.SENT,
                                       error=error, worker=socket.gethostname())
        if delivery.status == Delivery.Status.FAILED:
            audit.record(actor="outbox", action="notification.failed", obj=delivery,
                         after={"channel": delivery.channel, "attempts": number, "error": error})
        retry_at = delivery.next_attempt_at if delivery.status == Delivery.Status.PENDING else None
    if retry_at is not None:
        enqueue([delivery_id], countdown=max((retry_at - timezone.now()).total_seconds(), 0))
    return delivery.status


def redrive(*, now=None) -> int:
    """Re-enqueue every pending delivery whose time has come (lost messages, a broker that was
    down, a worker killed mid-send). Sending twice is harmless: the lock and the status check
    make the second a no-op."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.DUBAN_OUTBOX_GRACE_SECONDS)
    due = list(Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now - grace)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    if due:
        logger.info("re-driving %d delivery(ies) in %s", len(due), connection.schema_name)
        enqueue(due)
    return len(due)


@transaction.atomic
def do_mark_read(user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of a person's unread notifications read; returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


@transaction.atomic
def do_set_preference(user, *, event: str, channel: str, enabled: bool) -> Preference:
    from duban.core.errors import Invalid
    from duban.notifications.channels import available_channels

    if event not in EVENTS:
        raise Invalid(f"unknown event {event!r}; events: {', '.join(EVENTS)}", field="event")
    if channel not in available_channels():
        raise Invalid(f"unknown channel {channel!r}", field="channel")
    before = Preference.objects.filter(user=user, event=event, channel=channel).values_list("enabled", flat=True).first()
    preference, _ = Preference.objects.update_or_create(user=user, event=event, channel=channel,
                                                         defaults={"enabled": enabled})
    audit.record(actor=user, action="notification.preference", obj=preference,
                 before={"enabled": before}, after={"event": event, "channel": channel, "enabled": enabled})
    return preference


def webhook_target_facts(target: WebhookTarget) -> dict:
    """What the audit keeps of a group robot: not its signing secret, nor the URL's query and
    fragment (WeCom's ``key``, DingTalk's ``access_token`` are the robot's password)."""
    parts = urllib.parse.urlsplit(target.url)
    url = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
    return {"name": target.name, "kind": target.kind, "url": url,
            "is_active": target.is_active, "signed": bool(target.secret)}


def do_save_webhook_target(target: WebhookTarget, *, actor) -> WebhookTarget:
    """Create or change a group robot (the county admin site), validated (only hosts the operator
    allows: ``WebhookTarget.clean``) and audited. Not durable: the admin site's request is already
    one transaction."""
    target.full_clean()
    with transaction.atomic():
        previous = WebhookTarget.objects.select_for_update().filter(pk=target.pk).first() if target.pk else None
        before = webhook_target_facts(previous) if previous else None
        target.save()
        audit.record(actor=actor, action="notification.webhook_target.changed" if previous else
                     "notification.webhook_target.created", obj=target, before=before,
                     after=webhook_target_facts(target))
    return target


def do_delete_webhook_target(target: WebhookTarget, *, actor) -> None:
    with transaction.atomic():
        pk, facts = target.pk, webhook_target_facts(target)
        target.delete()
        audit.record(actor=actor, action="notification.webhook_target.deleted",
                     object_type=WebhookTarget._meta.label_lower, object_id=pk, before=facts)
