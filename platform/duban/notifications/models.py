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
from datetime import time

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
    # Urgent notices (the last tier of the ladder, 责任追究) reach a person even in their quiet hours.
    urgent = models.BooleanField(_("紧急"), default=False)

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


# --- channels that reach a person (issue 22): the county's accounts, each person's ids and quiet
# hours, and the short links the notices carry ----------------------------------------------------
def default_quiet_start() -> time:
    return time(22, 0)


def default_quiet_end() -> time:
    return time(7, 0)


class ChannelAccount(models.Model):
    """The county's account with a provider that reaches a person: an SMS service (Alibaba Cloud
    or Tencent Cloud), its WeCom (企业微信) self-built application, its DingTalk (钉钉) internal
    application. One row per provider; the meaning of the generic fields per provider is in
    ``PROVIDER_FIELDS`` (docs/identity.md ("Channels that reach a person") says where each comes from). ``secret`` is
    written, never shown again: pages and the audit say only whether it is set."""

    class Provider(models.TextChoices):
        ALIYUN_SMS = "aliyun_sms", _("阿里云短信")
        TENCENT_SMS = "tencent_sms", _("腾讯云短信")
        WECOM = "wecom", _("企业微信应用消息")
        DINGTALK = "dingtalk", _("钉钉工作通知")

    provider = models.CharField(_("服务商"), max_length=20, choices=Provider.choices, unique=True)
    is_active = models.BooleanField(_("启用"), default=False)
    # AccessKey ID (Alibaba Cloud), SecretId (Tencent Cloud), corpid (WeCom), AppKey (DingTalk)
    app_id = models.CharField(_("账号标识"), max_length=128, blank=True)
    # AccessKey Secret, SecretKey, the application's Secret, AppSecret
    secret = models.CharField(_("密钥"), max_length=256, blank=True)
    # SmsSdkAppId (Tencent Cloud), AgentId (WeCom, DingTalk)
    agent_id = models.CharField(_("应用编号"), max_length=64, blank=True)
    sign_name = models.CharField(_("短信签名"), max_length=64, blank=True)
    template_code = models.CharField(_("短信模板"), max_length=64, blank=True)
    # [[variable, source], …]: which of the notice's values fills each variable of the template
    # (Tencent Cloud's variables are positional: the names are 1, 2, …).
    template_params = models.JSONField(_("模板变量"), default=list, blank=True)
    region = models.CharField(_("地域"), max_length=32, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("通知渠道账号")
        verbose_name_plural = _("通知渠道账号")

    def __str__(self) -> str:
        return self.get_provider_display()

    @property
    def is_sms(self) -> bool:
        return self.provider in (self.Provider.ALIYUN_SMS, self.Provider.TENCENT_SMS)


class ReachSettings(models.Model):
    """How one person is reached besides the inbox: their ids in the county's WeCom and DingTalk
    organisations (their phone is the user's own field) and their quiet hours, in county time
    (Asia/Shanghai). No row: no ids, quiet hours 22:00–07:00."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="reach_settings",
                                verbose_name=_("用户"))
    wecom_userid = models.CharField(_("企业微信账号"), max_length=64, blank=True)
    dingtalk_userid = models.CharField(_("钉钉用户ID"), max_length=64, blank=True)
    quiet_enabled = models.BooleanField(_("免打扰"), default=True)
    quiet_start = models.TimeField(_("免打扰开始"), default=default_quiet_start)
    quiet_end = models.TimeField(_("免打扰结束"), default=default_quiet_end)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("个人接收设置")
        verbose_name_plural = _("个人接收设置")

    def __str__(self) -> str:
        return str(self.user)


class PhoneLink(models.Model):
    """The short link (``/m/<code>``) a notice carries when it goes out by SMS, WeCom or DingTalk:
    it opens the notice's page after the county's login. One per notification, made when its
    first such delivery is sent; the code is random (72 bits), valid until ``expires_at``."""

    code = models.CharField(_("链接码"), max_length=16, unique=True)
    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="phone_link",
                                        verbose_name=_("通知"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("失效时间"))
    opened_at = models.DateTimeField(_("最近打开时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("手机链接")
        verbose_name_plural = _("手机链接")

    def __str__(self) -> str:
        return self.code
