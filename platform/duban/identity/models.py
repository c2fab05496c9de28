"""A county's OpenID Connect provider and its claim → role mapping. Both live in the county's own
schema (a tenant app): each county's configuration answers on its own host only."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import COUNTY_ROLES, Role

COUNTY_ROLE_CHOICES = [(role.value, role.label) for role in COUNTY_ROLES]


class SsoProvider(models.Model):
    """The county's provider: at most one row (``singleton`` is always 1)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    enabled = models.BooleanField(_("启用统一身份认证登录"), default=True)
    issuer = models.CharField(_("身份认证平台地址"), max_length=500)
    client_id = models.CharField(_("客户端标识"), max_length=255)
    # Fernet token (duban.identity.sealing); never shown again once saved.
    client_secret_sealed = models.TextField(_("客户端密钥（加密保存）"), editable=False)
    scopes = models.CharField(_("申请的信息范围"), max_length=500, default="openid profile")
    username_claim = models.CharField(_("识别用户的声明"), max_length=100, default="preferred_username")
    role_claim = models.CharField(_("映射角色的声明"), max_length=100, blank=True)
    create_unknown_users = models.BooleanField(_("首次登录自动开通账号"), default=False)
    password_login = models.BooleanField(_("允许用户名密码登录"), default=True)
    trust_provider_mfa = models.BooleanField(_("认可身份认证平台的多因素认证"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("统一身份认证配置")
        verbose_name_plural = _("统一身份认证配置")
        constraints = [models.CheckConstraint(condition=models.Q(singleton=1), name="sso_provider_one_row")]

    def __str__(self) -> str:
        return self.issuer

    @property
    def secret_is_set(self) -> bool:
        return bool(self.client_secret_sealed)

    def scope_list(self) -> list[str]:
        return self.scopes.split()


class SsoRoleMapping(models.Model):
    """A value of the provider's role claim (a group, a department code) → a role and, for unit
    staff, a unit. The first mapping (by position) whose value the user carries decides."""

    provider = models.ForeignKey(SsoProvider, on_delete=models.CASCADE, related_name="mappings",
                                 verbose_name=_("统一身份认证配置"))
    claim_value = models.CharField(_("声明值"), max_length=200)
    role = models.CharField(_("角色"), max_length=32, choices=COUNTY_ROLE_CHOICES)
    unit = models.ForeignKey("units.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("所属单位"))
    position = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("角色映射")
        verbose_name_plural = _("角色映射")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "claim_value"], name="sso_mapping_value_unique"),
            models.CheckConstraint(
                condition=(models.Q(role=Role.UNIT_STAFF, unit__isnull=False)
                           | (~models.Q(role=Role.UNIT_STAFF) & models.Q(unit__isnull=True))),
                name="sso_mapping_unit_iff_unit_staff"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_value} → {self.get_role_display()}"
