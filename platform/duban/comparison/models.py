"""Public-schema models of the city comparison: the reference pack a city chose, and one
snapshot of metrics per county, period kind and period start (see docs/metrics.md)."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import City, County


class PeriodKind(models.TextChoices):
    MONTH = "month", _("月")
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年")


class CityComparisonSettings(models.Model):
    """The rule pack a city rescores every county's units under, for a fair comparison."""

    city = models.OneToOneField(City, on_delete=models.CASCADE, related_name="comparison_settings")
    reference_pack_name = models.CharField(_("参照规则包"), max_length=100)
    reference_pack_version = models.CharField(_("参照规则包版本"), max_length=50)
    set_by = models.CharField(_("设置人"), max_length=150)
    set_at = models.DateTimeField(_("设置时间"), auto_now=True)

    class Meta:
        verbose_name = _("市级对比设置")
        verbose_name_plural = _("市级对比设置")

    @property
    def reference_pack(self) -> str:
        return f"{self.reference_pack_name}=={self.reference_pack_version}"


class CountySnapshot(models.Model):
    """A county's metrics for one period, computed from its schema by ``refresh``.

    The comparison reads these rows only; it never opens a county's schema per request."""

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="comparison_snapshots")
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    as_of = models.DateField(help_text="the date the metrics describe (today, or the period's end if past)")
    metrics = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    own_pack = models.CharField(max_length=160)  # name==version
    own_pack_scores = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    reference_pack = models.CharField(max_length=160, blank=True)
    reference_pack_scores = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    refresh_kind = models.CharField(max_length=16)  # incremental | full
    refreshed_at = models.DateTimeField()
    source_max_event_id = models.BigIntegerField(default=0)  # the county's last audit event seen

    class Meta:
        verbose_name = _("县指标统计")
        verbose_name_plural = _("县指标统计")
        ordering = ["county", "period_kind", "period_start"]
        constraints = [models.UniqueConstraint(fields=["county", "period_kind", "period_start"],
                                               name="one_snapshot_per_county_period")]
        # No index on (period_kind, period_start) alone: every read names its counties, and such an
        # index tempted the planner (on stale statistics) into scanning every county's rows per county.
