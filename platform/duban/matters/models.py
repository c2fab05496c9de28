"""Matters (督办事项) and everything that happens to them, inside a county's schema.

Core content — task, requirements, units, deadline — is never edited in place: every version
is a row of :class:`MatterRevision` and every deadline change a row of :class:`DeadlineChange`;
the matter row carries the current values for querying. Feedback, reports and reviews are
appended, never edited. Writes go through ``duban.matters.actions``.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duban.core import clock
from duban.matters.states import State
from duban.units.models import Unit

USER = settings.AUTH_USER_MODEL


class CollectionRound(models.Model):
    """A round of the 《需要督办事项》 form sent to the leaders (收集督办事项)."""

    class Status(models.TextChoices):
        OPEN = "open", _("征集中")
        CLOSED = "closed", _("已结束")

    title = models.CharField(_("标题"), max_length=200)
    note = models.TextField(_("说明"), blank=True)
    due_date = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    leaders = models.ManyToManyField(USER, related_name="collection_rounds", verbose_name=_("征集对象"))
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人"))
    opened_at = models.DateTimeField(_("发起时间"), default=clock.now, editable=False)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("征集轮次")
        verbose_name_plural = _("征集轮次")
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.title


class Matter(models.Model):
    number = models.CharField(_("登记编号"), max_length=32, unique=True)
    title = models.CharField(_("事项名称"), max_length=200)
    content = models.TextField(_("事项内容"))
    category = models.CharField(_("督办类别"), max_length=50)  # a scope code of the county's pack
    source_reference = models.CharField(_("来源（文号等）"), max_length=200, blank=True)
    time_sensitive = models.BooleanField(_("时效性强"), default=False)
    round = models.ForeignKey(CollectionRound, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="matters", verbose_name=_("征集轮次"))
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PROPOSED,
                             db_index=True)
    # Collection (收集)
    proposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="proposed_matters",
                                    verbose_name=_("提出领导"))
    proposed_at = models.DateTimeField(_("提出时间"), default=clock.now, editable=False)
    proposed_units = models.ManyToManyField(Unit, blank=True, related_name="proposed_matters",
                                            verbose_name=_("建议责任单位"))
    requested_deadline = models.DateField(_("要求完成时间"), null=True, blank=True)
    registered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("登记人"))
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    # Approval (立项)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="approved_matters", verbose_name=_("立项领导"))
    approved_at = models.DateTimeField(_("立项时间"), null=True, blank=True)
    decision_comment = models.TextField(_("立项意见"), blank=True)
    # Assignment (交办) — current values; history in MatterRevision / DeadlineChange
    requirements = models.TextField(_("办理要求"), blank=True)
    deadline = models.DateField(_("办结时限"), null=True, blank=True, db_index=True)
    deadline_working_days = models.PositiveIntegerField(_("时限（工作日）"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("时限待定（节假日未公布）"), default=False)
    feedback_every_working_days = models.PositiveIntegerField(_("反馈周期（工作日）"), null=True, blank=True)
    feedback_due_on = models.DateField(_("下次反馈日期"), null=True, blank=True, db_index=True)
    assigned_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("交办人"))
    assigned_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    assigned_on = models.DateField(_("交办日期"), null=True, blank=True)
    redo_count = models.PositiveIntegerField(_("复办次数"), default=0)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)  # optimistic concurrency
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "deadline"]), models.Index(fields=["category", "state"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def lead_unit(self) -> Unit | None:
        link = next((u for u in self.units.all() if u.role == MatterUnit.Role.LEAD), None)
        return link.unit if link else None


class MatterUnit(models.Model):
    """A unit a matter is assigned to: the lead unit (牵头单位) or a co-operating one (协办单位)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("牵头单位")
        CO = "co", _("协办单位")

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="matter_links")
    role = models.CharField(_("角色"), max_length=8, choices=Role.choices)
    received_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    received_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A co-operating unit's own part (承办部分): reported to the matter once done; the report itself is
    # a Feedback row of kind "part". A send-back that names the unit makes its part due again.
    part_reported_at = models.DateTimeField(_("承办部分报送时间"), null=True, blank=True)
    part_reported_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("承办单位")
        verbose_name_plural = _("承办单位")
        ordering = ["matter", "-role", "id"]  # the lead unit ("lead" > "co") first
        constraints = [
            models.UniqueConstraint(fields=["matter", "unit"], name="matter_unit_once"),
            models.UniqueConstraint(fields=["matter"], condition=models.Q(role="lead"), name="matter_one_lead"),
        ]


class MatterRevision(models.Model):
    """One version of a matter's core content. Rev 1 is written at assignment; each approved
    adjustment appends the next. Never edited."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="revisions")
    seq = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("事项名称"), max_length=200)
    content = models.TextField(_("事项内容"))
    requirements = models.TextField(_("办理要求"), blank=True)
    deadline = models.DateField(_("办结时限"))
    lead_unit = models.CharField(_("牵头单位"), max_length=32)
    co_units = models.JSONField(_("协办单位"), default=list)
    reason = models.TextField(_("原因"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("事项修改记录")
        verbose_name_plural = _("事项修改记录")
        ordering = ["matter", "seq"]
        constraints = [models.UniqueConstraint(fields=["matter", "seq"], name="matter_revision_seq")]


class DeadlineChange(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("交办")
        EXTENSION = "extension", _("延期")
        ADJUSTMENT = "adjustment", _("调整")
        RETIME = "retime", _("按节假日重算")
        SECOND_REPLY = "second_reply", _("不满意再次答复")

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="deadline_changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_deadline = models.DateField(null=True, blank=True)
    new_deadline = models.DateField()
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("办结时限变更")
        verbose_name_plural = _("办结时限变更")
        ordering = ["matter", "id"]


class Notice(models.Model):
    """A numbered document record, numbered per county, per kind, per year (〔2026〕12号)."""

    kind = models.CharField(_("文书类别"), max_length=50)  # a document code of the county's pack
    year = models.PositiveIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("文号"), max_length=64)
    matter = models.ForeignKey(Matter, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("文书")
        verbose_name_plural = _("文书")
        ordering = ["kind", "year", "seq"]
        constraints = [models.UniqueConstraint(fields=["kind", "year", "seq"], name="notice_number_once")]

    def __str__(self) -> str:
        return self.number


class Feedback(models.Model):
    class Kind(models.TextChoices):
        ORAL = "oral", _("口头")
        WRITTEN = "written", _("书面")
        PART = "part", _("承办部分办理情况")  # a co-operating unit reports its own part (do_report_part)

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="feedback")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("形式"), max_length=8, choices=Kind.choices)
    text = models.TextField(_("进展情况"))
    given_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("进展反馈")
        verbose_name_plural = _("进展反馈")
        ordering = ["matter", "given_at", "id"]



# The kinds of progress report a unit gives (the regulation's 口头 and 书面 feedback).
FEEDBACK_KINDS = (Feedback.Kind.ORAL, Feedback.Kind.WRITTEN)

class ResultReport(models.Model):
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="reports")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    attempt = models.PositiveIntegerField(_("第几次报送"))  # 1, then 2 after the first redo, …
    text = models.TextField(_("落实结果"))
    reported_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("办理结果")
        verbose_name_plural = _("办理结果")
        ordering = ["matter", "attempt"]
        constraints = [models.UniqueConstraint(fields=["matter", "attempt"], name="report_attempt_once")]


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class Review(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept", _("审核通过")
        REDO = "redo", _("退回复办")
        REPLY_AGAIN = "reply_again", _("不满意，再次答复")

    report = models.OneToOneField(ResultReport, on_delete=models.PROTECT, related_name="review")
    decision = models.CharField(_("审核结论"), max_length=16, choices=Decision.choices)
    reasons = models.TextField(_("审核意见"), blank=True)
    # For a matter answering a proposer (人大代表建议、政协委员提案): the proposer's view of the reply.
    satisfaction = models.CharField(_("代表委员意见"), max_length=24, choices=Satisfaction.choices, blank=True)
    # For a send-back: the codes of the units whose part fell short (the lead unit by default); the
    # redo is charged to them by the pack's bearer rule.
    charged_units = models.JSONField(_("退回涉及单位"), default=list, blank=True)
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("结果审核")
        verbose_name_plural = _("结果审核")


class ChangeRequest(models.Model):
    """Extension (延期), adjustment (调整) or cancellation (取消), decided by a leader."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", _("延期")
        ADJUSTMENT = "adjustment", _("调整")
        CANCELLATION = "cancellation", _("取消")

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("理由"))
    proposed = models.JSONField(_("申请内容"), default=dict)  # new deadline, or new core content
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=clock.now, editable=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("调整或取消申请")
        verbose_name_plural = _("调整或取消申请")
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["matter", "kind"], condition=models.Q(status="pending"),
                                               name="one_pending_request_per_kind")]


def attachment_path(instance, filename: str) -> str:
    """Per-county storage: counties/<schema>/attachments/<year>/<uuid><ext>."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"counties/{connection.schema_name}/attachments/{timezone.now():%Y}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="attachments")
    feedback = models.ForeignKey(Feedback, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments")
    report = models.ForeignKey(ResultReport, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="attachments")
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小"))
    content_type = models.CharField(_("类型"), max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "id"]
