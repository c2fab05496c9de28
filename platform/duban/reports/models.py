"""The weekly 督查专报 (五(二) 反馈制度), inside a county's schema.

A report is drafted once per week (``week_of``, the Monday of its ISO week) with its sections
computed from the records of that week; staff edit its text and submit it, and the office leader
reviews it (一(二)): returns it with a reason or issues it. Edits never overwrite: every version of
the editable text is a :class:`WeeklyReportRevision` row (append-only in PostgreSQL), every
review a :class:`WeeklyReportReview` row, each with an audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from duban.core import clock
from duban.matters.models import Notice
from duban.units.models import Unit

USER = settings.AUTH_USER_MODEL


class WeeklyReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审核")
        ISSUED = "issued", _("已印发")

    week_of = models.DateField(_("所在周（周一）"), unique=True)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Numbered when issued: per county, per year (督查专报〔2026〕第3期).
    year = models.PositiveIntegerField(_("年度"), null=True, blank=True)
    seq = models.PositiveIntegerField(_("期数"), null=True, blank=True)
    number = models.CharField(_("期号"), max_length=64, blank=True)
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Computed when drafted (facts); the text below is the staff's.
    sections = models.JSONField(_("专报内容"), default=dict, encoder=DjangoJSONEncoder)
    summary = models.TextField(_("总体情况"), blank=True)
    attention = models.TextField(_("提请领导关注"), blank=True)
    named_units = models.ManyToManyField(Unit, blank=True, related_name="weekly_reports", verbose_name=_("涉及单位"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    drafted_at = models.DateTimeField(_("起草时间"), default=clock.now, editable=False)
    drafted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    drafted_by_label = models.CharField(max_length=100, blank=True)  # "beat", "cli", or user:<name>
    submitted_at = models.DateTimeField(_("送审时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("印发时间"), null=True, blank=True)
    issued_on = models.DateField(_("印发日期"), null=True, blank=True)
    issued_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("督查专报")
        verbose_name_plural = _("督查专报")
        ordering = ["-week_of"]
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], condition=models.Q(seq__isnull=False),
                                    name="weekly_report_number_once"),
            # Statuses as OR, not IN: a cloned schema must render the same definition (test_provisioning).
            models.CheckConstraint(condition=(models.Q(status="draft", seq__isnull=True)
                                              | models.Q(status="submitted", seq__isnull=True)
                                              | models.Q(status="issued", seq__isnull=False)),
                                   name="weekly_report_numbered_iff_issued"),
        ]

    def __str__(self) -> str:
        return self.number or f"督查专报（草稿，{self.period_start}至{self.period_end}）"


class WeeklyReportRevision(models.Model):
    """One version of a report's editable text; revision 1 is the draft as computed."""

    report = models.ForeignKey(WeeklyReport, on_delete=models.PROTECT, related_name="revisions")
    seq = models.PositiveIntegerField(_("版本"))
    summary = models.TextField(_("总体情况"), blank=True)
    attention = models.TextField(_("提请领导关注"), blank=True)
    named_units = models.JSONField(_("涉及单位"), default=list)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    edited_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    edited_by_label = models.CharField(max_length=100, blank=True)
    edited_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("督查专报修改记录")
        verbose_name_plural = _("督查专报修改记录")
        ordering = ["report", "seq"]
        constraints = [models.UniqueConstraint(fields=["report", "seq"], name="weekly_report_revision_seq")]


class WeeklyReportReview(models.Model):
    """The office leader's review of a submitted report: returned with a reason, or issued."""

    class Decision(models.TextChoices):
        RETURNED = "returned", _("退回修改")
        ISSUED = "issued", _("审核印发")

    report = models.ForeignKey(WeeklyReport, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(_("审核结论"), max_length=16, choices=Decision.choices)
    reason = models.TextField(_("审核意见"), blank=True)
    revision = models.PositiveIntegerField(_("所审版本"))
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("督查专报审核")
        verbose_name_plural = _("督查专报审核")
        ordering = ["report", "reviewed_at", "id"]
