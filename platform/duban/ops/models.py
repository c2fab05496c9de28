"""Worker heartbeats, per county: proof that the beat, the broker and a worker reach the
county's schema. A county's /readyz reports the age of its latest heartbeat."""

from __future__ import annotations

from django.db import models
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
