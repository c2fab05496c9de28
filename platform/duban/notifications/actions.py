"""Writes to a person's notifications and the county's group robots. Each is an action
(``duban.core.actions``): validated, audited, one transaction."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from datetime import time as dt_time

from django.utils import timezone
from django.utils.translation import gettext as _

from duban.accounts.actions import do_update_user
from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.actions import action
from duban.core.errors import Invalid, NotAllowed
from duban.notifications import providers
from duban.notifications.channels import available_channels
from duban.notifications.events import EVENTS
from duban.notifications.models import ChannelAccount, Notification, PhoneLink, Preference, ReachSettings, WebhookTarget


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


# --- channels that reach a person (issue 22) -----------------------------------------------------------
ACCOUNT_FIELDS = ("app_id", "agent_id", "sign_name", "template_code", "template_params", "region")


@action
def do_save_channel_account(provider: str, *, actor, values: dict, secret: str | None = None,
                            is_active: bool) -> ChannelAccount:
    """Set the county's account with ``provider`` (the county admin's channel settings page).
    ``secret`` None or "" keeps the stored one (it is never shown again); an account is switched on
    only when every field its provider needs is there, and one SMS provider at a time. Audited
    without the secret."""
    if provider not in providers.FIELDS:
        raise Invalid(_("没有这种通知渠道。"), field="provider")
    if getattr(actor, "role", Role.COUNTY_ADMIN) != Role.COUNTY_ADMIN:
        raise NotAllowed(_("只有县管理员可以设置通知渠道。"))
    unknown = set(values) - set(ACCOUNT_FIELDS)
    if unknown:
        raise Invalid(_("这些字段不能在此修改：%(fields)s") % {"fields": "、".join(sorted(unknown))},
                      field=sorted(unknown)[0])
    account = ChannelAccount.objects.select_for_update().filter(provider=provider).first()
    before = providers.facts(account) if account else None
    if account is None:
        account = ChannelAccount(provider=provider)
    used = {field.name for field in providers.FIELDS[provider]}
    for name in ACCOUNT_FIELDS:
        if name in values:
            value = values[name]
            if name == "template_params":
                if isinstance(value, str):
                    try:
                        value = providers.parse_template_params(value, provider)
                    except ValueError as exc:
                        raise Invalid(str(exc), field="template_params") from None
            else:
                value = (value or "").strip()
                if len(value) > ChannelAccount._meta.get_field(name).max_length:
                    raise Invalid(_("内容太长。"), field=name)
            setattr(account, name, value if name in used else ([] if name == "template_params" else ""))
    if secret:
        secret = secret.strip()
        if len(secret) > ChannelAccount._meta.get_field("secret").max_length:
            raise Invalid(_("内容太长。"), field="secret")
        account.secret = secret
    account.is_active = bool(is_active)
    if account.is_active:
        missing = providers.problems(account)
        if missing:
            field, message = next(iter(missing.items()))
            raise Invalid(message, field=field)
        if account.is_sms:
            other = ChannelAccount.objects.filter(provider__in=providers.SMS_PROVIDERS, is_active=True) \
                .exclude(provider=provider).first()
            if other is not None:
                raise Invalid(_("已启用%(other)s：同一时间只能启用一家短信服务商，请先停用它。")
                              % {"other": other.get_provider_display()}, field="is_active")
    account.save()
    after = {**providers.facts(account), "secret_changed": bool(secret)}
    audit.record(actor=actor, action="notification.channel_account.changed" if before else
                 "notification.channel_account.created", obj=account, before=before, after=after)
    return account


QUIET_FIELDS = ("wecom_userid", "dingtalk_userid", "quiet_enabled", "quiet_start", "quiet_end")
USERID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")


@action
def do_set_reach_settings(user, *, actor, phone: str | None = None, **changes) -> ReachSettings:
    """A person's ids in the county's WeCom and DingTalk, quiet hours and (through the accounts'
    action) phone: by the person on their settings page, or by the county admin. Audited."""
    if hasattr(actor, "_meta") and actor.pk != user.pk and actor.role != Role.COUNTY_ADMIN:
        raise NotAllowed(_("只能修改自己的接收设置。"))
    unknown = set(changes) - set(QUIET_FIELDS)
    if unknown:
        raise Invalid(_("这些字段不能在此修改：%(fields)s") % {"fields": "、".join(sorted(unknown))},
                      field=sorted(unknown)[0])
    for name in ("wecom_userid", "dingtalk_userid"):
        if name in changes:
            value = changes[name] = (changes[name] or "").strip()
            if value and not USERID.match(value):
                raise Invalid(_("账号只能包含字母、数字和 _ . @ - 这几个符号，最长64个字符。"), field=name)
    for name in ("quiet_start", "quiet_end"):
        if name in changes and not isinstance(changes[name], dt_time):
            raise Invalid(_("时间格式应为“22:00”。"), field=name)
    if phone is not None:
        phone = phone.strip()
        if phone and not PHONE.match(phone):
            raise Invalid(_("电话号码格式不正确。"), field="phone")
        do_update_user(user, actor=actor, changes={"phone": phone})
    row = ReachSettings.objects.select_for_update().filter(user=user).first()
    before = {name: _fact(getattr(row, name)) for name in QUIET_FIELDS} if row else None
    if row is None:
        row = ReachSettings(user=user)
    for name, value in changes.items():
        setattr(row, name, value)
    if row.quiet_enabled and row.quiet_start == row.quiet_end:
        raise Invalid(_("免打扰的开始和结束时间不能相同。"), field="quiet_end")
    row.save()
    after = {name: _fact(getattr(row, name)) for name in QUIET_FIELDS}
    if before != after:
        audit.record(actor=actor, action="notification.reach_settings", obj=row, before=before,
                     after={"user": user.username, **after})
    return row


def _fact(value):
    return value.strftime("%H:%M") if isinstance(value, dt_time) else value


@action
def do_open_phone_link(link: PhoneLink, *, actor) -> PhoneLink:
    """Its recipient opened a notice's short link on their phone: the notice is read; when is kept
    on the link and in the audit."""
    do_mark_read(actor, [link.notification_id])
    link.opened_at = timezone.now()
    link.save(update_fields=["opened_at"])
    audit.record(actor=actor, action="notification.link_opened", obj=link.notification,
                 after={"code": link.code})
    return link
