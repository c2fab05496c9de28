"""Forms of the county admin's single sign-on page (``/settings/sso/``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import COUNTY_ROLES

ROLE_CHOICES = [("", _("请选择"))] + [(role.value, role.label) for role in COUNTY_ROLES]


def unit_choices(units) -> list[tuple[str, str]]:
    return [("", _("（不属于单位）"))] + [(unit.code, f"{unit.code} {unit.name}") for unit in units]


class SsoSettingsForm(forms.Form):
    issuer = forms.CharField(
        label=_("身份认证平台地址（issuer）"), max_length=500,
        help_text=_("例如 https://id.example.gov.cn/realms/county；系统会读取其 /.well-known/openid-configuration。"))
    client_id = forms.CharField(label=_("客户端标识（client_id）"), max_length=255)
    client_secret = forms.CharField(
        label=_("客户端密钥（client_secret）"), required=False, max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    scopes = forms.CharField(label=_("申请的信息范围（scope）"), max_length=500, initial="openid profile",
                             help_text=_("以空格分隔，须包含 openid，例如“openid profile groups”。"))
    username_claim = forms.CharField(label=_("识别用户的声明"), max_length=100, initial="preferred_username",
                                     help_text=_("账号按这一声明值对应，从不按电子邮箱对应。"))
    role_claim = forms.CharField(label=_("映射角色的声明"), max_length=100, required=False,
                                 help_text=_("例如 groups；下方的角色映射按它的值给出角色和单位。"))
    create_unknown_users = forms.BooleanField(
        label=_("首次登录自动开通账号"), required=False,
        help_text=_("不勾选：本县没有对应账号的人被拒绝登录。勾选：自动开通账号，无匹配映射时没有角色，须由县管理员分配。"))
    password_login = forms.BooleanField(label=_("允许用户名密码登录"), required=False, initial=True,
                                        help_text=_("不勾选时，登录页只显示统一身份认证登录；县管理员仍可用密码登录，以备平台故障。"))
    trust_provider_mfa = forms.BooleanField(
        label=_("认可身份认证平台的多因素认证"), required=False, initial=True,
        help_text=_("勾选时，平台声明已做多因素认证（amr）的登录不再要求本系统的动态验证码。"))
    enabled = forms.BooleanField(label=_("启用统一身份认证登录"), required=False, initial=True)

    def __init__(self, *args, secret_is_set: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["client_secret"]
        if secret_is_set:
            field.help_text = _("已设置。留空则保持不变；填写则替换。")
        else:
            field.help_text = _("在身份认证平台登记客户端时得到；保存后加密存放，不再显示。")


class MappingForm(forms.Form):
    claim_value = forms.CharField(label=_("声明值"), max_length=200)
    role = forms.ChoiceField(label=_("角色"), choices=ROLE_CHOICES)
    unit = forms.ChoiceField(label=_("所属单位"), required=False, choices=())

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices(units)


class LinkForm(forms.Form):
    username = forms.CharField(label=_("本县账号的用户名"), max_length=150)
    subject = forms.CharField(label=_("统一身份认证标识"), max_length=255, required=False,
                              help_text=_("该人员在身份认证平台上“识别用户的声明”的值；留空则解除关联。"))


class AssignForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput)
    role = forms.ChoiceField(label=_("角色"), choices=ROLE_CHOICES)
    unit = forms.ChoiceField(label=_("所属单位"), required=False, choices=())

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices(units)
