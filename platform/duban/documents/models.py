"""Issued documents and the county's overrides of its pack's document texts.

:class:`Document` is the register of what was printed: one row per issued document (a notice,
a weekly report, a circular, a collection form, a snapshot of the annual table), with its
number, a random verification code, the SHA-256 of the PDF and the PDF itself, and a snapshot
of its content from which the Word copy is made. Append-only in PostgreSQL.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


def document_path(instance: Document, filename: str) -> str:
    """Per-county storage: counties/<schema>/documents/<year>/<code>.pdf."""
    return f"counties/{connection.schema_name}/documents/{instance.year}/{instance.code}.pdf"


class Document(models.Model):
    kind = models.CharField(_("文书类别"), max_length=50)  # a document code of the county's pack
    # What the document is of, e.g. notice:12, weekly_report:3, round:2, annual:2026:<hash>.
    # One document per subject: printing it again gives the same document.
    subject = models.CharField(max_length=120)
    year = models.PositiveIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("发文字号"), max_length=64, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    issuing_office = models.CharField(_("发文机关"), max_length=100)
    issued_on = models.DateField(_("成文日期"))
    code = models.CharField(_("核验码"), max_length=32, unique=True)
    sha256 = models.CharField(max_length=64)
    pdf = models.FileField(upload_to=document_path, max_length=255)
    content = models.JSONField(_("内容"), encoder=DjangoJSONEncoder)
    pack_name = models.CharField(max_length=100)
    pack_version = models.CharField(max_length=50)
    matter = models.ForeignKey("matters.Matter", null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    unit = models.ForeignKey("units.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    notice = models.ForeignKey("matters.Notice", null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    circular = models.ForeignKey("supervision.Circular", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="documents")
    weekly_report = models.ForeignKey("reports.WeeklyReport", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="documents")
    round = models.ForeignKey("matters.CollectionRound", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="documents")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("公文")
        verbose_name_plural = _("公文")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject"], name="document_once_per_subject"),
            models.UniqueConstraint(fields=["kind", "year", "seq"], name="document_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.number or self.title} ({self.code})"

    @property
    def display_code(self) -> str:
        return "-".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


class DocumentTextOverride(models.Model):
    """A county's own wording of one of its pack's documents. A field left ``None`` keeps the
    pack's text; ``""`` (or ``[]``) clears it where that is allowed."""

    code = models.CharField(_("文书类别"), max_length=50, unique=True)
    title = models.CharField(_("标题"), max_length=200, null=True, blank=True)
    issuing_office = models.CharField(_("发文机关"), max_length=100, null=True, blank=True)
    heading = models.TextField(_("开头语"), null=True, blank=True)
    closing = models.TextField(_("结束语"), null=True, blank=True)
    signature_lines = models.JSONField(_("署名"), null=True, blank=True)
    copy_to = models.JSONField(_("抄送"), null=True, blank=True)
    updated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("文书文字（本县）")
        verbose_name_plural = _("文书文字（本县）")
        ordering = ["code"]
