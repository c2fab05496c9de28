"""Worker heartbeats, per county: proof that the beat, the broker and a worker reach the
county's schema. A county's /readyz reports the age of its latest heartbeat."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    nonce = models.CharField(_("标识"), max_length=64, unique=True)
    schema_name = models.CharField(_("执行时所在模式"), max_length=63)
    worker = models.CharField(_("执行进程"), max_length=255)
    sent_at = models.DateTimeField(_("发出时间"))
    received_at = models.DateTimeField(_("执行时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("心跳")
        verbose_name_plural = _("心跳")
        ordering = ["-received_at"]


class IdempotencyKey(models.Model):
    """The first answer to an API POST sent with an ``Idempotency-Key`` header (api.idempotency):
    a retry with the same key and body gets it again instead of acting twice. One per user and
    key, in the county's schema; forgotten after ``DUBAN_IDEMPOTENCY_KEY_HOURS`` (the county's
    heartbeat task deletes expired ones)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("用户"))
    key = models.CharField(_("幂等键"), max_length=255)
    request = models.CharField(_("请求"), max_length=300, help_text="method and path, e.g. POST /api/v1/matters/")
    body_hash = models.CharField(_("请求内容摘要"), max_length=64)
    status = models.PositiveSmallIntegerField(_("响应状态"), null=True)
    response = models.JSONField(_("响应内容"), null=True)
    created = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="ops_idempotency_user_key")]
