"""Users. Each county's users live in that county's schema; platform operators and city users
live in the public schema. The same model serves both (a table in every schema)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    # County roles (in a county's schema)
    COUNTY_ADMIN = "county_admin", _("县管理员")
    COUNTY_LEADER = "county_leader", _("县领导")
    OFFICE_LEADER = "office_leader", _("办公室领导")
    SUPERVISION_STAFF = "supervision_staff", _("督查督办人员")
    UNIT_STAFF = "unit_staff", _("承办单位人员")
    # Platform roles (in the public schema)
    PLATFORM_OPERATOR = "platform_operator", _("平台运维")
    CITY_USER = "city_user", _("市政府用户")


COUNTY_ROLES = (Role.COUNTY_ADMIN, Role.COUNTY_LEADER, Role.OFFICE_LEADER,
                Role.SUPERVISION_STAFF, Role.UNIT_STAFF)
PUBLIC_ROLES = (Role.PLATFORM_OPERATOR, Role.CITY_USER)
# A county user opened by single sign-on on first login (duban.identity) holds no role until a
# county admin gives one; until then every page but the one saying so is closed to them.
NO_ROLE = ""


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    # Unit staff are bound to exactly one unit; nobody else is.
    unit = models.ForeignKey("units.Unit", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="staff", verbose_name=_("所属单位"))
    # The value of the county's identity provider's user claim (duban.identity) that names this
    # user: single sign-on finds the account by it, never by e-mail. Unique within the county.
    sso_subject = models.CharField(_("统一身份认证标识"), max_length=255, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(role="unit_staff", unit__isnull=False)
                           | (~models.Q(role="unit_staff") & models.Q(unit__isnull=True))),
                name="user_unit_iff_unit_staff",
            ),
        ]

    def __str__(self) -> str:
        role = self.get_role_display() if self.role else _("待分配角色")
        return f"{self.full_name or self.username} ({role})"

    @property
    def has_role(self) -> bool:
        return self.role != NO_ROLE

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class ApiToken(models.Model):
    """A user's API token (one per user). Only the SHA-256 of the key is stored, with its first
    eight characters to tell keys apart; the key itself is shown once, when it is issued."""

    PREFIX_LENGTH = 8

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="api_token",
                                verbose_name=_("用户"))
    prefix = models.CharField(_("令牌前缀"), max_length=PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("签发时间"), auto_now_add=True)
    last_used = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"
