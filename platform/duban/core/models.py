"""Public-schema bookkeeping of the platform itself."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicRun(models.Model):
    """One row per periodic job per time slot: whichever beat claims the slot first does the
    work; a second beat (or a re-delivered message) finds the row and does nothing."""

    job = models.CharField(_("任务"), max_length=100)
    slot = models.DateTimeField(_("时段"))
    claimed_at = models.DateTimeField(_("领取时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("周期任务执行")
        verbose_name_plural = _("周期任务执行")
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="periodic_run_once")]
