"""Writes to a person's notifications and the county's group robots. Each is an action
(``duban.core.actions``): validated, audited, one transaction."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.actions import action
from duban.core.errors import Invalid
from duban.notifications.channels import available_channels
from duban.notifications.events import EVENTS
from duban.notifications.models import Notification, Preference, WebhookTarget


@action
def do_mark_read(user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of a person's unread notifications read; returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


@action
def do_set_preference(user, *, event: str, channel: str, enabled: bool) -> Preference:
    if event not in EVENTS:
        raise Invalid(_("没有这种提醒。"), field="event")
    if channel not in available_channels():
        raise Invalid(_("没有这种提醒方式。"), field="channel")
    before = Preference.objects.filter(user=user, event=event, channel=channel).values_list("enabled", flat=True).first()
    preference, _created = Preference.objects.update_or_create(user=user, event=event, channel=channel,
                                                         defaults={"enabled": enabled})
    audit.record(actor=user, action="notification.preference", obj=preference,
                 before={"enabled": before}, after={"event": event, "channel": channel, "enabled": enabled})
    return preference


@action
def do_set_preferences(user, changes: Iterable[tuple[str, str, bool]]) -> list[Preference]:
    """Several of a person's preferences at once, ``(event, channel, enabled)`` each: all or none."""
    return [do_set_preference(user, event=event, channel=channel, enabled=enabled)
            for event, channel, enabled in changes]


def webhook_target_facts(target: WebhookTarget) -> dict:
    """What the audit keeps of a group robot: not its signing secret, nor the URL's query and
    fragment (WeCom's ``key``, DingTalk's ``access_token`` are the robot's password)."""
    parts = urllib.parse.urlsplit(target.url)
    url = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
    return {"name": target.name, "kind": target.kind, "url": url,
            "is_active": target.is_active, "signed": bool(target.secret)}


@action
def do_save_webhook_target(target: WebhookTarget, *, actor) -> WebhookTarget:
    """Create or change a group robot (the county admin site), validated (only hosts the operator
    allows: ``WebhookTarget.clean``) and audited."""
    target.full_clean()
    previous = WebhookTarget.objects.select_for_update().filter(pk=target.pk).first() if target.pk else None
    before = webhook_target_facts(previous) if previous else None
    target.save()
    audit.record(actor=actor, action="notification.webhook_target.changed" if previous else
                 "notification.webhook_target.created", obj=target, before=before,
                 after=webhook_target_facts(target))
    return target


@action
def do_delete_webhook_target(target: WebhookTarget, *, actor) -> None:
    pk, facts = target.pk, webhook_target_facts(target)
    target.delete()
    audit.record(actor=actor, action="notification.webhook_target.deleted",
                 object_type=WebhookTarget._meta.label_lower, object_id=pk, before=facts)
