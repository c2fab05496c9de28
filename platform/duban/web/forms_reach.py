"""Forms of the channels that reach a person: the county's account with a provider (county
admin) and a person's own ids and quiet hours."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from duban.notifications import providers
from duban.notifications.models import ChannelAccount


class ChannelAccountForm(forms.Form):
    """One provider's fields (``providers.FIELDS``), in that provider's words. The secret is
    write-only: never rendered back, left empty to keep the stored one."""

    is_active = forms.BooleanField(label=_("启用"), required=False)

    def __init__(self, *args, account: ChannelAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["is_active"].initial = account.is_active
        for spec in providers.FIELDS[account.provider]:
            if spec.name == providers.SECRET_FIELD:
                help_text = _("已设置（不再显示）；留空则保持不变。") if account.secret else spec.help
                field = forms.CharField(label=spec.label, required=False, help_text=help_text, strip=True,
                                        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
            elif spec.name == "template_params":
                field = forms.CharField(label=spec.label, required=False, help_text=spec.help,
                                        initial=providers.template_params_text(account.template_params),
                                        widget=forms.Textarea(attrs={"rows": 3}))
            else:
                field = forms.CharField(label=spec.label, required=False, help_text=spec.help,
                                        initial=getattr(account, spec.name),
                                        max_length=ChannelAccount._meta.get_field(spec.name).max_length)
            self.fields[spec.name] = field
        self.order_fields([spec.name for spec in providers.FIELDS[account.provider]] + ["is_active"])

    def values(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items()
                if name not in ("is_active", providers.SECRET_FIELD)}


class ReachForm(forms.Form):
    """A person's phone, their ids in the county's WeCom and DingTalk, and their quiet hours."""

    phone = forms.CharField(label=_("手机号码"), required=False, max_length=32,
                            help_text=_("短信发到这个号码。"), widget=forms.TextInput(attrs={"type": "tel"}))
    wecom_userid = forms.CharField(label=_("企业微信账号"), required=False, max_length=64,
                                   help_text=_("在企业微信“我—个人信息”中查看，或问本单位管理员。"))
    dingtalk_userid = forms.CharField(label=_("钉钉用户ID"), required=False, max_length=64,
                                      help_text=_("钉钉管理后台通讯录中的用户ID，可问本单位管理员。"))
    quiet_enabled = forms.BooleanField(label=_("夜间免打扰"), required=False,
                                       help_text=_("免打扰期间，短信、企业微信和钉钉消息推迟到结束时发送；"
                                                   "责任追究等紧急通知照常发送。"))
    quiet_start = forms.TimeField(label=_("免打扰开始"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(label=_("免打扰结束"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def changes(self) -> tuple[str, dict]:
        data = dict(self.cleaned_data)
        return data.pop("phone"), data
