"""The inbox and the outbox.

A ``Notification`` is one message to one person: it is their in-app inbox entry. Each way of
reaching them besides the inbox (email, a webhook robot, a plugin's SMS…) is a ``Delivery`` row
written in the same transaction as the action that caused it (the transactional outbox), sent by
a Celery task after commit, retried with backoff and re-driven by a periodic job until it is sent
or gives up. Each delivery carries an idempotency key that travels with every attempt, so a
receiver sees one message however often a killed worker made us try. Every attempt is appended
to ``DeliveryAttempt``; nothing is edited away.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from duban.notifications.egress import url_problem

USER = settings.AUTH_USER_MODEL


def new_key() -> str:
    return uuid.uuid4().hex


class Notification(models.Model):
    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="notifications",
                                  verbose_name=_("接收人"))
    event = models.CharField(_("事件"), max_length=50, db_index=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    matter = models.ForeignKey("matters.Matter", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="notifications")
    # Reminders that a periodic job may raise again (a light turning red, a receipt still missing
    # today) carry a key, so that each person gets each of them once.
    dedupe_key = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedupe_key"], condition=~models.Q(dedupe_key=""),
                                               name="notification_once_per_key")]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")      # gave up after the last attempt
        SKIPPED = "skipped", _("无需发送")    # e.g. no email address

    notification = models.ForeignKey(Notification, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=50)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_key)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("通知投递")
        verbose_name_plural = _("通知投递")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]


class DeliveryAttempt(models.Model):
    """One try at a delivery (append-only)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField()
    ok = models.BooleanField()
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("投递尝试")
        verbose_name_plural = _("投递尝试")
        ordering = ["delivery", "number", "id"]


class Preference(models.Model):
    """A person's choice for one event on one channel (no row: the channel's default)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notification_preferences")
    event = models.CharField(max_length=50)
    channel = models.CharField(max_length=50)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("提醒设置")
        verbose_name_plural = _("提醒设置")
        constraints = [models.UniqueConstraint(fields=["user", "event", "channel"], name="preference_once")]


class WebhookTarget(models.Model):
    """A group robot the county's office posts to (WeCom 企业微信 or DingTalk 钉钉 or a generic
    JSON endpoint): the ``webhook`` channel delivers there, mentioning the recipient's phone."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("企业微信群机器人")
        DINGTALK = "dingtalk", _("钉钉群机器人")
        GENERIC = "generic", _("通用 JSON")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.WECOM)
    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(_("加签密钥"), max_length=200, blank=True)  # DingTalk signing
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")

    def clean(self):
        super().clean()
        problem = url_problem(self.url) if self.url else None
        if problem:
            raise ValidationError({"url": problem})
