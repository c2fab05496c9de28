"""Forms of the platform operator's console (public host): they parse what the operator typed;
the provisioning functions behind `duban county …` and `duban city …` decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


def _required(label) -> dict:
    return {"required": _("请填写“%(label)s”。") % {"label": label}}


class CityForm(forms.Form):
    code = forms.CharField(label=_("市代码"), max_length=31, error_messages=_required(_("市代码")),
                           help_text=_("小写字母、数字或连字符，如 shifan。"))
    name = forms.CharField(label=_("市名称"), max_length=100, error_messages=_required(_("市名称")),
                           help_text=_("如：示范市。"))


class CountyForm(forms.Form):
    slug = forms.CharField(label=_("县标识"), max_length=30, error_messages=_required(_("县标识")),
                           help_text=_("即该县网址的开头，如 qingshui（网址 qingshui.平台域名）；开通后不能更改。"))
    name = forms.CharField(label=_("县名称"), max_length=100, error_messages=_required(_("县名称")),
                           help_text=_("如：清水县。"))
    city = forms.ChoiceField(label=_("所属市"), error_messages={"required": _("请选择所属市。"),
                                                               "invalid_choice": _("请选择所属市。")})
    rulepack = forms.ChoiceField(label=_("规则包"), error_messages={"required": _("请选择规则包。"),
                                                                  "invalid_choice": _("请选择已安装的规则包。")})
    abbreviation = forms.CharField(label=_("发文机关代字"), max_length=8, required=False,
                                   help_text=_("1–4个汉字，如“东”（文号：东政督〔2026〕3号）；可以以后再设。"))
    admin = forms.CharField(label=_("县管理员用户名"), max_length=150, initial="admin",
                            error_messages=_required(_("县管理员用户名")))
    admin_password = forms.CharField(label=_("县管理员初始密码"), required=False, strip=False,
                                     widget=forms.PasswordInput(render_value=False),
                                     help_text=_("留空则随机生成，开通后只显示一次。"))

    def __init__(self, *args, cities=(), packs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].choices = [("", "——")] + [(c.code, c.name) for c in cities]
        self.fields["rulepack"].choices = [(p, p) for p in packs]


class StatusForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=500, required=False,
                             help_text=_("记入审计记录；暂停时也显示在县列表上。"))


class RulepackForm(forms.Form):
    rulepack = forms.ChoiceField(label=_("改用规则包"), error_messages={"required": _("请选择规则包。"),
                                                                     "invalid_choice": _("请选择已安装的规则包。")})

    def __init__(self, *args, packs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rulepack"].choices = [(p, p) for p in packs]


class CityUserForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, error_messages=_required(_("用户名")))
    full_name = forms.CharField(label=_("姓名或科室"), max_length=150, required=False,
                                help_text=_("如：王科长、市督查室。"))
    email = forms.EmailField(label=_("电子邮箱"), required=False,
                             error_messages={"invalid": _("电子邮箱格式不对。")})
    password = forms.CharField(label=_("初始密码"), required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False),
                               help_text=_("留空则随机生成，添加后只显示一次。"))
