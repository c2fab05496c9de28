"""The outbox's sending side: send one delivery (locked, once, retried with backoff) and re-drive
what is due, as Celery tasks. ``service.notify`` writes the deliveries; this module sends them.

The senders and the tasks that run them live together, so that a retry (``enqueue``) and the
task it enqueues (``deliver``) need no import cycle."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.beat import fan_out
from duban.notifications import reach
from duban.notifications.channels import Recipient, Undeliverable, available_channels
from duban.notifications.models import Delivery, DeliveryAttempt
from duban.tasks import CountyTask, PlatformTask

logger = logging.getLogger(__name__)


@shared_task(base=CountyTask, name="duban.notifications.deliver")
def deliver(delivery_id: int) -> str:
    return deliver_one(delivery_id)


@shared_task(base=PlatformTask, name="duban.notifications.fan_out_redrive")
def fan_out_redrive() -> int:
    return fan_out("outbox-redrive", settings.DUBAN_OUTBOX_REDRIVE_SECONDS, lambda county: redrive_county.delay())


@shared_task(base=CountyTask, name="duban.notifications.redrive_county")
def redrive_county() -> int:
    return redrive()


def enqueue(delivery_ids: list[int], countdown: float | None = None) -> None:
    for pk in delivery_ids:
        try:
            deliver.apply_async((pk,), countdown=countdown)
        except Exception:  # the broker is down: the periodic re-drive will send it
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
        # The person's quiet hours (SMS, WeCom, DingTalk): a delivery that comes due in them — a
        # retry, a notice written just before they began — waits for their end, no attempt spent.
        until = None if channel is None or note.urgent else reach.quiet_until_for(user, channel, now)
        if until is not None:
            delivery.next_attempt_at = until
            delivery.save(update_fields=["next_attempt_at"])
            return "quiet"
        delivery.attempts += 1
        number = delivery.attempts
        error = ""
        try:
            if channel is None:
                raise Undeliverable(_("发送方式“%(channel)s”已不再可用。") % {"channel": delivery.channel})
            ids = reach.settings_of(user)
            recipient = Recipient(user.username, user.display_name, user.email, user.phone,
                                  wecom_userid=ids.wecom_userid, dingtalk_userid=ids.dingtalk_userid)
            extra = {"link": reach.link_for(note)} if reach.carries_link(channel) else {}
            channel.send(recipient=recipient.as_dict(), subject=note.title, body=note.body,
                         idempotency_key=delivery.idempotency_key, **extra)
        except Undeliverable as exc:
            delivery.status, error = Delivery.Status.SKIPPED, str(exc)
        except Exception as exc:  # any failure of the outside world: retry later
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
