"""Public-schema models: cities, counties (the tenants) and the host names they answer on."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from tenants import cache

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,28}[a-z0-9]$")
CITY_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
# Host labels that name parts of the platform rather than a county.
RESERVED_SLUGS = frozenset({
    "www", "api", "admin", "public", "template", "static", "media", "mail", "smtp",
    "platform", "city", "status", "health", "sentry", "ftp", "localhost",
})


def validate_county_slug(value: str) -> None:
    if not SLUG_RE.match(value or ""):
        raise ValidationError(
            _("县标识“%(value)s”无效：须为2–30个小写字母、数字或连字符，以字母开头，不以连字符结尾。"),
            code="invalid_slug", params={"value": value})
    if "--" in value:
        raise ValidationError(_("县标识不能包含连续的连字符。"), code="invalid_slug")
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(value)s”是保留名称，不能用作县标识。"),
                              code="reserved_slug", params={"value": value})


ABBREVIATION_RE = re.compile(r"^[\u3400-\u9fff]{1,4}$")


def validate_abbreviation(value: str) -> None:
    """A county's 发文机关代字: one to four Chinese characters (or none until the county sets it)."""
    if value and not ABBREVIATION_RE.match(value):
        raise ValidationError(_("发文机关代字“%(value)s”无效：须为1–4个汉字，如“东”。"), code="invalid_abbreviation",
                              params={"value": value})


def validate_city_code(value: str) -> None:
    if not CITY_CODE_RE.match(value or ""):
        raise ValidationError(
            _("市代码“%(value)s”无效：须为1–31个小写字母、数字或连字符。"),
            code="invalid_city_code", params={"value": value})


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of county ``slug``: ``county_`` + slug with ``-`` → ``_``."""
    return "county_" + slug.replace("-", "_")


class City(models.Model):
    """A prefecture-level city (地级市) whose government compares its counties."""

    code = models.CharField(_("代码"), max_length=31, unique=True, validators=[validate_city_code])
    name = models.CharField(_("名称"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("市")
        verbose_name_plural = _("市")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class County(TenantMixin):
    """A county government (县/区) — one tenant, one PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        SUSPENDED = "suspended", _("已暂停")
        # Archived (`duban county archive`): a final backup written, its schema and hosts removed; the
        # row stays so that the public audit trail and the city's history still name the county.
        ARCHIVED = "archived", _("已归档")

    # Schemas are created by tenants.provisioning (cloning the template), never on save().
    auto_create_schema = False
    auto_drop_schema = False

    slug = models.CharField(_("标识"), max_length=30, unique=True, validators=[validate_county_slug])
    name = models.CharField(_("名称"), max_length=100)
    # The county's 简称 in its 发文字号 (机关代字, e.g. 东 → 东政督〔2026〕3号): a setting of the county,
    # never guessed from its name (two counties of a city may share a first character).
    abbreviation = models.CharField(_("发文机关代字"), max_length=8, blank=True, default="",
                                    validators=[validate_abbreviation])
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="counties",
                             verbose_name=_("所属市"))
    rulepack_name = models.CharField(_("规则包"), max_length=100)
    rulepack_version = models.CharField(_("规则包版本"), max_length=50)
    time_zone = models.CharField(_("时区"), max_length=64, default="Asia/Shanghai")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(_("状态说明"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("县")
        verbose_name_plural = _("县")
        ordering = ["city__code", "slug"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["active", "suspended", "archived"]),
                                   name="county_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """A host name a county answers on (``<slug>.<base domain>`` by default)."""

    class Meta:
        verbose_name = _("域名")
        verbose_name_plural = _("域名")


@receiver([post_save, post_delete], sender=County, dispatch_uid="tenants.county.lookup_cache")
@receiver([post_save, post_delete], sender=Domain, dispatch_uid="tenants.domain.lookup_cache")
def _forget_cached_lookups(sender, using=None, **kwargs) -> None:
    """A county or host changed: the middleware's host → county cache must not serve it stale."""
    cache.invalidate(using)


class CityMembership(models.Model):
    """A city user (public schema) belongs to one city and sees only that city's counties."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="city_membership")
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="members")
    created_at = models.DateTimeField(auto_now_add=True)
    # Removing a city user (`duban city user remove`) ends the membership and deactivates the
    # user; the row stays, so who belonged to which city, and until when, can still be read.
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("市级用户")
        verbose_name_plural = _("市级用户")

    def __str__(self) -> str:
        return f"{self.user} @ {self.city}"


class SpareSchema(models.Model):
    """A schema cloned from the template ahead of time (tenants.spares), waiting to become a new
    county's: `duban county create` renames one instead of cloning while the operator waits."""

    schema_name = models.CharField(_("数据库模式"), max_length=63, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("备用模式")
        verbose_name_plural = _("备用模式")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.schema_name
