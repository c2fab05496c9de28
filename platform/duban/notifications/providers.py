"""What a county fills in for each provider that reaches a person (``ChannelAccount``), in the words
of that provider's console, and the checks an account passes before it is saved.

``ChannelAccount`` keeps the same few columns for every provider; ``FIELDS`` says which of them a
provider uses and what the county admin calls it there. docs/identity.md ("Channels that reach a person") walks through
each console."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.notifications.models import ChannelAccount

P = ChannelAccount.Provider


@dataclass(frozen=True)
class Field:
    name: str  # the model's column
    label: str
    help: str = ""
    required: bool = True


def _fields() -> dict[str, list[Field]]:
    return {
        P.ALIYUN_SMS: [
            Field("app_id", gettext_lazy("AccessKey ID"),
                  gettext_lazy("阿里云 RAM 用户的 AccessKey ID（建议只授予短信发送权限）")),
            Field("secret", gettext_lazy("AccessKey Secret"), gettext_lazy("与 AccessKey ID 一起生成，只在创建时显示一次")),
            Field("sign_name", gettext_lazy("短信签名"), gettext_lazy("短信服务控制台中审核通过的签名名称")),
            Field("template_code", gettext_lazy("模板 CODE"), gettext_lazy("审核通过的通知类模板，形如 SMS_123456789")),
            Field("template_params", gettext_lazy("模板变量"),
                  gettext_lazy("每行一个“变量名=内容”，内容可选：标题、内容、链接、链接码、姓名、县名")),
        ],
        P.TENCENT_SMS: [
            Field("app_id", gettext_lazy("SecretId"), gettext_lazy("腾讯云访问管理中 API 密钥的 SecretId")),
            Field("secret", gettext_lazy("SecretKey"), gettext_lazy("与 SecretId 一起生成")),
            Field("agent_id", gettext_lazy("短信应用 SDK AppID"),
                  gettext_lazy("短信控制台“应用管理”中的 SDK AppID，如 1400000000")),
            Field("sign_name", gettext_lazy("短信签名"), gettext_lazy("审核通过的签名内容")),
            Field("template_code", gettext_lazy("模板 ID"), gettext_lazy("审核通过的正文模板 ID，如 1234567")),
            Field("template_params", gettext_lazy("模板变量"),
                  gettext_lazy("每行一个“序号=内容”，序号是模板中的 {1}、{2}……，内容可选：标题、内容、链接、链接码、姓名、县名")),
            Field("region", gettext_lazy("地域"), gettext_lazy("默认 ap-guangzhou"), required=False),
        ],
        P.WECOM: [
            Field("app_id", gettext_lazy("企业ID（corpid）"), gettext_lazy("企业微信管理后台“我的企业”页底部的企业ID")),
            Field("agent_id", gettext_lazy("应用 AgentId"), gettext_lazy("“应用管理”中自建应用的 AgentId")),
            Field("secret", gettext_lazy("应用 Secret"), gettext_lazy("自建应用详情页的 Secret（在企业微信中查看）")),
        ],
        P.DINGTALK: [
            Field("app_id", gettext_lazy("AppKey（Client ID）"), gettext_lazy("钉钉开发者后台企业内部应用的 AppKey")),
            Field("secret", gettext_lazy("AppSecret（Client Secret）"), gettext_lazy("同一页面的 AppSecret")),
            Field("agent_id", gettext_lazy("AgentId"), gettext_lazy("应用详情中的 AgentId")),
        ],
    }


FIELDS = _fields()
SMS_PROVIDERS = (P.ALIYUN_SMS, P.TENCENT_SMS)

# What may fill a template variable: the notice's title and text (cut to MAX_VARIABLE characters),
# its short link or only the link's code (the part after /m/, for a template whose link is fixed
# text), the person's name and the county's.
SOURCES = {"title": gettext_lazy("标题"), "body": gettext_lazy("内容"), "link": gettext_lazy("链接"),
           "code": gettext_lazy("链接码"), "name": gettext_lazy("姓名"), "county": gettext_lazy("县名")}
MAX_VARIABLE = 20
NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")
SECRET_FIELD = "secret"


def parse_template_params(text: str, provider: str) -> list[list[str]]:
    """``title=标题`` lines → ``[["title", "title"], …]``; :class:`ValueError` with a Chinese
    sentence naming the line that is wrong."""
    by_label = {str(label): code for code, label in SOURCES.items()}
    params: list[list[str]] = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        name, sep, source = (part.strip() for part in line.replace("＝", "=").partition("="))
        if not sep or not name or not source:
            raise ValueError(_("模板变量第%(n)d行应写成“变量名=内容”。") % {"n": number})
        if not NAME.match(name):
            raise ValueError(_("模板变量第%(n)d行的变量名“%(name)s”只能由字母、数字和下划线组成。")
                             % {"n": number, "name": name})
        if provider == P.TENCENT_SMS and not name.isdigit():
            raise ValueError(_("腾讯云短信模板变量按序号填写（1、2……），第%(n)d行是“%(name)s”。")
                             % {"n": number, "name": name})
        code = source if source in SOURCES else by_label.get(source)
        if code is None:
            raise ValueError(_("模板变量第%(n)d行的内容“%(source)s”不可用，可选：%(choices)s。")
                             % {"n": number, "source": source, "choices": "、".join(str(v) for v in SOURCES.values())})
        if any(existing == name for existing, _code in params):
            raise ValueError(_("模板变量“%(name)s”写了两次。") % {"name": name})
        params.append([name, code])
    return params


def template_params_text(params) -> str:
    return "\n".join(f"{name}={SOURCES.get(code, code)}" for name, code in params or [])


def problems(account: ChannelAccount) -> dict[str, str]:
    """field → what is missing, for an account that is to be switched on."""
    out: dict[str, str] = {}
    for field in FIELDS[account.provider]:
        value = getattr(account, field.name)
        if field.required and not value:
            out[field.name] = _("请填写%(label)s。") % {"label": field.label}
    if account.provider in (P.WECOM, P.DINGTALK) and account.agent_id and not account.agent_id.isdigit():
        out["agent_id"] = _("AgentId 应为数字。")
    if account.provider == P.TENCENT_SMS and account.agent_id and not account.agent_id.isdigit():
        out["agent_id"] = _("SDK AppID 应为数字。")
    return out


def facts(account: ChannelAccount) -> dict:
    """What the audit keeps of an account: every field but the secret, and whether one is set."""
    return {"provider": account.provider, "is_active": account.is_active, "app_id": account.app_id,
            "agent_id": account.agent_id, "sign_name": account.sign_name, "template_code": account.template_code,
            "template_params": account.template_params, "region": account.region, "secret_set": bool(account.secret)}
