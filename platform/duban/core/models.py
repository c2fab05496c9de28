"""The platform's own bookkeeping (public schema) and each county's calendar and sequences
(county schemas; ``duban.core.county`` reads them)."""

from __future__ import annotations

from django.conf import settings
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


# --- in each county's schema (core is a tenant app too; routers.PublicOnlyModels keeps
# PeriodicRun out of county schemas) ------------------------------------------------------
class WorkdayOverride(models.Model):
    """A county's correction of the official calendar, or a year's holidays entered by hand
    before the calendar package knows them (节假日、调休上班日)."""

    day = models.DateField(_("日期"), unique=True)
    workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        db_table = "matters_workdayoverride"  # created by matters 0001; moved here in core 0002
        ordering = ["day"]


class CalendarYear(models.Model):
    """An admin's statement that a year's official holidays and make-up workdays are all
    entered (for years the calendar package does not know yet). Deadlines in that year stop
    being provisional."""

    year = models.PositiveIntegerField(_("年度"), unique=True)
    note = models.CharField(_("依据"), max_length=200, blank=True)  # e.g. 国办发明电〔2026〕7号
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("已确认的工作日历年度")
        verbose_name_plural = _("已确认的工作日历年度")
        db_table = "matters_calendaryear"
        ordering = ["year"]


class Counter(models.Model):
    """Per-county sequences (register numbers, notice numbers), taken under a row lock."""

    key = models.CharField(max_length=64, unique=True)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("编号计数器")
        verbose_name_plural = _("编号计数器")
        db_table = "matters_counter"
