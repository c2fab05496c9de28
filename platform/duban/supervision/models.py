"""The escalation ladder, the points ledger, circulars and the quarterly inspection window
(the seed's parts 四, 五 and 六), inside a county's schema. Every number comes from the
county's rule pack; each ledger entry records the pack, version and rule that produced it."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from duban.core import clock
from duban.matters.models import Matter, Notice
from duban.units.models import Unit

USER = settings.AUTH_USER_MODEL


class EscalationStep(models.Model):
    """One step of the ladder taken (or due) against a unit on a matter."""

    class Status(models.TextChoices):
        DUE = "due", _("待督办")          # opened by the sweep: a to-do for supervision staff
        RECORDED = "recorded", _("已督办")
        SKIPPED = "skipped", _("已跳过")
        # Kept, but no longer on the ladder: its deduction was reversed as recorded in error (系误记) …
        WITHDRAWN = "withdrawn", _("已撤销")
        # … or it was still due when a leader approved a new deadline (the ladder starts again).
        SUPERSEDED = "superseded", _("已失效")

    class Source(models.TextChoices):
        SWEEP = "sweep", _("自动巡查")
        MANUAL = "manual", _("人工发起")
        INSPECTION = "inspection", _("季度检查")

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="steps")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="steps")
    tier = models.CharField(_("督办方式"), max_length=50)  # a tier code of the pack
    tier_index = models.PositiveSmallIntegerField(_("督办级次"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DUE, db_index=True)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    pack_name = models.CharField(max_length=100)
    pack_version = models.CharField(max_length=50)
    due_on = models.DateField(_("应督办日期"))
    # The matter's deadline the step answers: an approved new deadline starts the ladder again.
    deadline = models.DateField(_("对应办结时限"), null=True, blank=True)
    opened_at = models.DateTimeField(default=clock.now, editable=False)
    recorded_on = models.DateField(_("督办日期"), null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    evidence = models.JSONField(_("督办记录"), default=dict, encoder=DjangoJSONEncoder)
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="steps")
    reply_due_on = models.DateField(_("专题答复期限"), null=True, blank=True)
    reply_text = models.TextField(_("专题答复"), blank=True)
    reply_at = models.DateTimeField(null=True, blank=True)
    reply_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    skip_reason = models.TextField(blank=True)
    closed_note = models.TextField(_("撤销或失效说明"), blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("督办记录")
        verbose_name_plural = _("督办记录")
        ordering = ["matter", "tier_index", "id"]
        constraints = [
            # The sweep opens each tier once per matter, unit and deadline, however often it runs; a
            # withdrawn or superseded step no longer counts (the ladder needs that tier again).
            models.UniqueConstraint(fields=["matter", "unit", "tier", "deadline"],
                                    condition=models.Q(source="sweep") & (models.Q(status="due") | models.Q(status="recorded")
                                                                          | models.Q(status="skipped")),
                                    nulls_distinct=False, name="sweep_opens_each_tier_once"),
        ]
        indexes = [models.Index(fields=["matter", "unit", "status"])]

    def __str__(self) -> str:
        return f"{self.matter.number} {self.tier} → {self.unit.code}"


class Circular(models.Model):
    """A circular (通报) on how units did with leader-assigned matters in a period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    title = models.CharField(_("标题"), max_length=200)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    ranking = models.JSONField(_("单位排名"), default=list, encoder=DjangoJSONEncoder)
    praised = models.ManyToManyField(Unit, blank=True, related_name="praised_in", verbose_name=_("表扬单位"))
    # 全县通报批评 (六(七): deducts) and 点名批评 (五(三): named in the circular, no deduction of its own).
    criticised = models.ManyToManyField(Unit, blank=True, related_name="criticised_in", verbose_name=_("全县通报批评单位"))
    named = models.ManyToManyField(Unit, blank=True, related_name="named_in", verbose_name=_("点名批评单位"))
    body = models.TextField(_("正文"), blank=True)
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    drafted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    drafted_at = models.DateTimeField(default=clock.now, editable=False)
    published_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-period_end", "-id"]


class LedgerEntry(models.Model):
    """A deduction (positive amount) or its reversal (negative amount, ``reverses`` set).

    Append-only: PostgreSQL refuses UPDATE, DELETE and TRUNCATE (migration 0002)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="ledger")
    year = models.PositiveIntegerField(_("考核年度"), db_index=True)
    occurred_on = models.DateField(_("发生日期"))
    amount = models.DecimalField(_("扣分"), max_digits=6, decimal_places=2)
    event_code = models.CharField(max_length=50)
    rule_code = models.CharField(max_length=50)
    pack_name = models.CharField(max_length=100)
    pack_version = models.CharField(max_length=50)
    reason = models.CharField(_("事由"), max_length=300)
    ref = models.CharField(max_length=100)  # what caused it: step:12, redo:34, circular:5
    matter = models.ForeignKey(Matter, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    step = models.ForeignKey(EscalationStep, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    circular = models.ForeignKey(Circular, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("扣分台账")
        verbose_name_plural = _("扣分台账")
        ordering = ["occurred_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ref", "rule_code", "unit"], condition=models.Q(reverses__isnull=True),
                                    name="ledger_posts_each_cause_once"),
            models.CheckConstraint(condition=(models.Q(reverses__isnull=True, amount__gte=0)
                                              | models.Q(reverses__isnull=False, amount__lte=0)),
                                   name="ledger_sign_matches_kind"),
        ]
        indexes = [models.Index(fields=["unit", "year"])]


class InspectionRound(models.Model):
    """The dedicated supervision period: the last weeks of a quarter (五(一) 检查制度)."""

    year = models.PositiveIntegerField()
    quarter = models.PositiveSmallIntegerField()
    opens_on = models.DateField()
    closes_on = models.DateField()
    opened_at = models.DateTimeField(default=clock.now, editable=False)
    # Reported to the county leaders (五(一) 报县政府相关领导审阅) once the window has closed.
    reported_at = models.DateTimeField(_("报告时间"), null=True, blank=True)
    summary = models.JSONField(_("检查结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("督查检查")
        verbose_name_plural = _("督查检查")
        ordering = ["-year", "-quarter"]
        constraints = [models.UniqueConstraint(fields=["year", "quarter"], name="one_inspection_per_quarter")]

    def __str__(self) -> str:
        return f"{self.year}年第{self.quarter}季度督查"


class InspectionItem(models.Model):
    class Result(models.TextChoices):
        PENDING = "pending", _("待检查")
        ON_TRACK = "on_track", _("进度正常")
        BEHIND = "behind", _("进度滞后")
        DONE = "done", _("已完成")

    round = models.ForeignKey(InspectionRound, on_delete=models.PROTECT, related_name="items")
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="inspection_items")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.PENDING)
    findings = models.TextField(blank=True)
    inspected_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    inspected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督查检查事项")
        verbose_name_plural = _("督查检查事项")
        ordering = ["round", "unit", "matter"]
        constraints = [models.UniqueConstraint(fields=["round", "matter", "unit"], name="inspect_each_once")]
