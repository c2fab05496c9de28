"""Ways to reach people besides the inbox: email, group-robot webhooks, and channels that rule-pack
plugins contribute (``duban_notification_channels``: SMS gateways, …).

A channel sends one message and raises on failure; it must be safe to call again with the same
``idempotency_key`` (the outbox retries). The key goes out with every attempt: as the email's
Message-ID (mail systems drop a second copy) and as the webhook's ``Idempotency-Key`` header and
``msgid`` field.

A channel may say more about itself (plugins/events.py, ``NotificationChannel``):

- ``carries_link = True``: its messages carry the notice's short link (``/m/<code>``, opened on a
  phone after the county's login); ``send`` is then called with ``link=``.
- ``quiet_hours = True``: it buzzes a person's phone, so it keeps to their quiet hours (a delivery
  falling in them waits for their end; urgent notices do not wait).
- ``enabled_by_default(event)``: whether a person who never chose gets ``event`` on it (default:
  yes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from duban.core.county import county_pack
from duban.notifications import egress
from duban.notifications.models import WebhookTarget
from plugins.manager import active_plugin_manager


class Undeliverable(Exception):
    """The recipient cannot be reached on this channel at all (no address): skipped, not retried."""


@dataclass
class Recipient:
    username: str
    name: str
    email: str
    phone: str
    wecom_userid: str = ""
    dingtalk_userid: str = ""

    def as_dict(self) -> dict:
        return {"username": self.username, "name": self.name, "email": self.email, "phone": self.phone,
                "wecom_userid": self.wecom_userid, "dingtalk_userid": self.dingtalk_userid}


def channel_default(channel, event: str) -> bool:
    """Whether a person who never chose gets ``event`` on ``channel``."""
    decide = getattr(channel, "enabled_by_default", None)
    return bool(decide(event)) if callable(decide) else True


class EmailChannel:
    code = "email"
    label = "电子邮件"

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str) -> None:
        if not recipient.get("email"):
            raise Undeliverable(_("收件人没有电子邮件地址。"))
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">") or "duban.local"
        message = EmailMessage(subject=subject, body=body, to=[recipient["email"]],
                               headers={"Message-ID": f"<{idempotency_key}@{domain}>",
                                        "X-Duban-Idempotency-Key": idempotency_key})
        message.send(fail_silently=False)


class WebhookChannel:
    """POSTs to the county's active group robots (``WebhookTarget``), in the JSON shape WeCom and
    DingTalk robots take: ``{"msgtype": "text", "text": {"content": …}}`` with the recipient's
    phone in the mention list. Only to hosts and addresses the operator allows (``egress``)."""

    code = "webhook"
    label = "群机器人"

    def __init__(self, targets):
        self.targets = list(targets)

    def send(self, *, recipient: dict, subject: str, body: str, idempotency_key: str) -> None:
        if not self.targets:
            raise Undeliverable(_("没有启用的群机器人。"))
        for target in self.targets:
            post_webhook(target, recipient=recipient, subject=subject, body=body, idempotency_key=idempotency_key)


def post_webhook(target, *, recipient: dict, subject: str, body: str, idempotency_key: str) -> None:
    content = f"【{subject}】{recipient.get('name') or recipient.get('username')}：{body}".strip()
    phones = [recipient["phone"]] if recipient.get("phone") else []
    url = target.url
    if target.kind == "dingtalk":
        payload = {"msgtype": "text", "text": {"content": content}, "at": {"atMobiles": phones},
                   "msgid": idempotency_key}
        if target.secret:  # 加签: timestamp + HMAC-SHA256 of "timestamp\nsecret"
            stamp = str(round(time.time() * 1000))
            digest = hmac.new(target.secret.encode(), f"{stamp}\n{target.secret}".encode(), hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest))
            url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={sign}"
    elif target.kind == "wecom":
        payload = {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": phones},
                   "msgid": idempotency_key}
    else:
        payload = {"msgtype": "text", "text": {"content": content}, "subject": subject, "body": body,
                   "recipient": recipient, "msgid": idempotency_key}
    data = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key,
               "User-Agent": "duban-notifications/1"}
    try:  # only where the operator allows, to the address vetted, never following a redirect
        status, raw = egress.post(url, data, headers, timeout=settings.DUBAN_WEBHOOK_TIMEOUT)
    except egress.Refused as exc:
        raise egress.Refused(f"{target.name}: {exc}") from None
    except (http.client.HTTPException, RuntimeError, OSError) as exc:  # TimeoutError is an OSError
        raise RuntimeError(f"{target.name}: {exc}") from None
    if status >= 400:
        raise RuntimeError(f"{target.name}: HTTP {status}")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise RuntimeError(f"{target.name}: errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip())


def available_channels() -> dict:
    """code → channel, for the current county: email, webhook (when a target is configured) and
    every channel the county's rule-pack plugins contribute."""
    channels: dict = {"email": EmailChannel()}
    targets = list(WebhookTarget.objects.filter(is_active=True).order_by("id"))
    if targets:
        channels["webhook"] = WebhookChannel(targets)
    pack = county_pack()
    for contributed in active_plugin_manager().hook.duban_notification_channels(pack=pack):
        for channel in contributed or ():
            channels.setdefault(channel.code, channel)
    return channels
