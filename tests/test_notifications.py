"""Notifications: inbox rows and outbox deliveries written with the action, channels (email
through Django's backend, a webhook robot against a local server, a plugin's channel), retries
with backoff, preferences, reminders from the sweep."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state
from notify_helpers import WebhookReceiver

from duban.core.actions import action_scope
from duban.core.clock import as_of
from duban.notifications.actions import do_mark_read, do_set_preference
from duban.notifications.models import Delivery, DeliveryAttempt, Notification, WebhookTarget
from duban.notifications.tasks import deliver_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        cast = make_cast()
        cast.lead_clerk.email, cast.lead_clerk.phone = "clerk@d01.example.gov.cn", "13800000001"
        cast.lead_clerk.save(update_fields=["email", "phone"])
        yield cast


def test_an_assignment_writes_inbox_and_outbox_rows_with_the_action(cast):
    matter = to_state(cast, "assigned")
    notes = Notification.objects.filter(event="matter.assigned", matter=matter)
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["clerk", "clerk1"]
    note = notes.get(recipient=cast.lead_clerk)
    assert note.title == f"交办：{matter.title}" and matter.notices.get().number in note.body
    assert note.read_at is None and note.url == f"/matters/{matter.pk}/"
    # One email delivery per person (no webhook robot configured in this county yet).
    assert sorted(Delivery.objects.filter(notification__in=notes).values_list("channel", flat=True)) == ["email"] * 2
    # The same action rolled back leaves no notification behind.
    before = Notification.objects.count()
    with pytest.raises(RuntimeError), action_scope():  # a request's flow of actions, failing after them
        to_state(cast, "assigned")
        raise RuntimeError("the request failed after the action")
    assert Notification.objects.count() == before


def test_email_goes_through_djangos_backend_once_with_the_key_as_message_id(cast):
    matter = to_state(cast, "assigned")
    delivery = Delivery.objects.get(notification__recipient=cast.lead_clerk, notification__matter=matter)
    mail.outbox.clear()
    assert deliver_one(delivery.pk) == "sent"
    assert deliver_one(delivery.pk) == "sent"  # a re-delivered message: nothing sent again
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["clerk@d01.example.gov.cn"] and message.subject == f"交办：{matter.title}"
    assert message.extra_headers["Message-ID"].startswith(f"<{delivery.idempotency_key}@")
    # No address: skipped, not retried.
    other = Delivery.objects.get(notification__recipient=cast.co_clerk, notification__matter=matter)
    assert deliver_one(other.pk) == "skipped"
    assert DeliveryAttempt.objects.filter(delivery=other).get().error == "收件人没有电子邮件地址。"


def test_webhook_robot_failing_then_recovering_gets_each_message_once(cast):
    with WebhookReceiver(fail_first=2) as receiver:
        WebhookTarget.objects.create(name="督查群", kind="wecom", url=receiver.url)
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="webhook", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        assert deliver_one(delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and "HTTP 500" in delivery.last_error
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)  # backoff
        assert deliver_one(delivery.pk) == "not-due"
        for expected in ("pending", "sent"):  # the second retry fails too, the third gets through
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            assert deliver_one(delivery.pk) == expected
        delivery.refresh_from_db()
        assert delivery.status == "sent" and delivery.attempts == 3
        assert list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("number", "ok")) == [
            (1, False), (2, False), (3, True)]
        mine = [r for r in receiver.received if r["key"] == delivery.idempotency_key]
        assert len(mine) == 3  # every attempt carried the same key…
        assert receiver.accepted[delivery.idempotency_key]["msgtype"] == "text"  # …and it was processed once
        text = mine[-1]["payload"]["text"]
        assert text["mentioned_mobile_list"] == ["13800000001"] and matter.title in text["content"]


def test_dingtalk_robot_requests_are_signed(cast):
    with WebhookReceiver() as receiver:
        WebhookTarget.objects.create(name="钉钉群", kind="dingtalk", url=receiver.url, secret="SECxyz")
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="webhook", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        assert deliver_one(delivery.pk) == "sent"
        request = receiver.received[-1]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request["path"]).query)
        stamp, sign = query["timestamp"][0], query["sign"][0]
        expected = base64.b64encode(hmac.new(b"SECxyz", f"{stamp}\nSECxyz".encode(), hashlib.sha256).digest())
        assert sign == expected.decode()
        assert request["payload"]["at"]["atMobiles"] == ["13800000001"]


def test_a_delivery_gives_up_after_the_last_attempt_and_says_so(cast, settings):
    from duban.audit.models import AuditEvent

    settings.DUBAN_NOTIFY_MAX_ATTEMPTS = 2
    with WebhookReceiver(fail_first=99, status_when_failing=503) as receiver:
        WebhookTarget.objects.create(name="督查群", kind="wecom", url=receiver.url)
        to_state(cast, "assigned")
        delivery = Delivery.objects.filter(channel="webhook").first()
        assert deliver_one(delivery.pk) == "pending"
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert deliver_one(delivery.pk) == "failed"
    assert AuditEvent.objects.filter(action="notification.failed", object_id=str(delivery.pk)).exists()


def test_preferences_turn_a_channel_off_per_event(cast):
    from duban.core.errors import Invalid

    do_set_preference(cast.lead_clerk, event="matter.assigned", channel="email", enabled=False)
    matter = to_state(cast, "assigned")
    note = Notification.objects.get(recipient=cast.lead_clerk, matter=matter)
    assert not note.deliveries.exists()  # still in the inbox, no email
    assert Delivery.objects.filter(notification__recipient=cast.co_clerk, notification__matter=matter).exists()
    with pytest.raises(Invalid) as error:
        do_set_preference(cast.lead_clerk, event="nonsense", channel="email", enabled=False)
    assert error.value.field == "event"
    with pytest.raises(Invalid) as error:
        do_set_preference(cast.lead_clerk, event="matter.assigned", channel="pigeon", enabled=False)
    assert error.value.field == "channel"


def test_a_plugins_channel_is_used(cast):
    """A vendor's SMS channel (the gateway is the outside world: a stand-in records the call)."""
    from plugins.hookspecs import hookimpl
    from plugins.manager import get_plugin_manager

    sent = []

    class Sms:
        code, label = "sms", "短信"

        def send(self, *, recipient, subject, body, idempotency_key):
            sent.append((recipient["phone"], subject, idempotency_key))

    class SmsPlugin:
        @hookimpl
        def duban_notification_channels(self, pack):
            return [Sms()]

    pm = get_plugin_manager()
    pm.register(SmsPlugin(), name="test-sms")
    try:
        matter = to_state(cast, "assigned")
        delivery = Delivery.objects.get(channel="sms", notification__recipient=cast.lead_clerk,
                                        notification__matter=matter)
        assert deliver_one(delivery.pk) == "sent"
    finally:
        pm.unregister(name="test-sms")
    assert sent == [("13800000001", f"交办：{matter.title}", delivery.idempotency_key)]


def test_the_sweep_reminds_each_person_once(cast):
    from duban.supervision.reminders import send_reminders

    with as_of(date(2026, 9, 1)):
        overdue = to_state(cast, "in_progress", deadline_working_days=10)
        unsigned = to_state(cast, "assigned", deadline_working_days=60)
    with as_of(date(2026, 11, 20)):
        send_reminders()
        send_reminders()
    red = Notification.objects.filter(event="light.red", matter=overdue)
    assert sorted(red.values_list("recipient__username", flat=True)) == ["clerk", "m_leader", "staff"]
    receipts = Notification.objects.filter(event="receipt.due", matter=unsigned)
    assert sorted(receipts.values_list("recipient__username", flat=True)) == ["clerk", "clerk1"]
    with as_of(date(2026, 11, 23)):  # another day: the receipt reminder again, the red light not
        send_reminders()
    assert Notification.objects.filter(event="receipt.due", matter=unsigned, recipient=cast.lead_clerk).count() == 2
    assert red.count() == 3


def test_inbox_marks_read(cast):
    to_state(cast, "assigned")
    to_state(cast, "assigned")
    mine = Notification.objects.filter(recipient=cast.lead_clerk)
    first = mine.order_by("id").first()
    assert do_mark_read(cast.lead_clerk, [first.pk]) == 1
    assert do_mark_read(cast.lead_clerk, [first.pk]) == 0
    assert do_mark_read(cast.co_clerk, [mine.last().pk]) == 0  # not theirs
    assert do_mark_read(cast.lead_clerk) == 1
    assert not mine.filter(read_at__isnull=True).exists()


def test_every_event_is_raised_somewhere():
    from pathlib import Path

    from duban.notifications.events import EVENTS

    source = "\n".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "platform" / "duban")
                       .rglob("*.py") if "notifications/events.py" not in str(p))
    silent = [event for event in EVENTS if f'"{event}"' not in source]
    assert not silent, f"events nobody raises: {silent}"


def test_a_delivery_locks_only_its_own_row(cast):
    """Two deliveries to one person in two workers must not skip each other: the lock taken by
    ``deliver_one`` names the delivery's table only, not the joined notification and user."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    matter = to_state(cast, "assigned")
    delivery = Delivery.objects.get(notification__recipient=cast.lead_clerk, notification__matter=matter)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_one(delivery.pk) == "sent"
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    table = connection.ops.quote_name(Delivery._meta.db_table)
    assert len(locks) == 1 and locks[0].endswith(f"FOR UPDATE OF {table} SKIP LOCKED"), locks
