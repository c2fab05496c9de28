"""The top bar's navigation: links per role, the active one, the unread-notification count."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from duban.notifications.models import Notification
from duban.web.middleware import OTP_ROLES

register = template.Library()

# Every page of the county host that appears in the navigation (built at exactly these paths).
LINKS = {
    "home_leader": ("/leader/", _("首页")),
    "home_office": ("/office/", _("首页")),
    "home_unit": ("/unit/", _("首页")),
    "todo": ("/todo/", _("待办")),
    "board": ("/board/", _("亮灯")),
    "register": ("/register/", _("登记簿")),
    "plan": ("/plan/", _("督办计划")),
    "matters": ("/matters/", _("事项")),
    "steps": ("/steps/", _("督办措施")),
    "scores": ("/scores/", _("评分")),
    "ledger": ("/ledger/", _("扣分台账")),
    "inspections": ("/inspections/", _("季度督查")),
    "circulars": ("/circulars/", _("通报")),
    "reports": ("/reports/weekly/", _("督查专报")),
    "documents": ("/documents/", _("文书")),
    "imports": ("/import/", _("导入")),
    "rulepack": ("/rulepack/", _("规则")),
    "notifications": ("/notifications/", _("通知")),
    "sso": ("/settings/sso/", _("统一身份认证")),
    "channels": ("/settings/channels/", _("通知渠道")),
    "admin": ("/admin/", _("系统管理")),
    "city": ("/city/", _("本市各县")),
    "platform": ("/platform/", _("县列表")),
}
OFFICE = ["todo", "board", "register", "plan", "matters", "steps", "scores", "ledger", "inspections", "circulars",
          "reports", "documents", "rulepack", "notifications"]
ROLE_LINKS = {
    "supervision_staff": [*OFFICE, "imports"],
    "office_leader": ["home_office", *OFFICE],
    "county_leader": ["home_leader", "todo", "board", "matters", "steps", "scores", "ledger", "inspections", "reports",
                      "notifications"],
    "unit_staff": ["home_unit", "todo", "matters", "steps", "scores", "ledger", "rulepack", "notifications"],
    "county_admin": [*OFFICE, "imports", "sso", "channels", "admin"],
    "city_user": ["city"],
    "platform_operator": ["platform", "admin"],
}


def unread_count(request) -> int:
    """Unread inbox entries of the signed-in user (county hosts only: the inbox lives in the
    county's schema)."""
    if getattr(getattr(request, "tenant", None), "pk", None) is None:
        return 0
    return Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()


@register.simple_tag(takes_context=True)
def nav_items(context):
    """``[{"key", "url", "label", "active", "badge"}]`` for the signed-in user's role."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not getattr(user, "is_authenticated", False):
        return []
    keys = list(ROLE_LINKS.get(user.role, []))
    items = []
    for key in keys:
        url, label = LINKS[key]
        if key == "scores" and user.role == "unit_staff" and user.unit_id:
            url = f"/scores/{user.unit.code}/"
        items.append({"key": key, "url": url, "label": label, "active": False, "badge": 0})
    # The active link: the longest URL that starts the current path.
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    for item in items:
        if item["key"] == "notifications":
            item["badge"] = unread_count(request)
    return items


@register.simple_tag(takes_context=True)
def site_name(context) -> str:
    """The county's name on a county host; the platform's (translated) on the public host."""
    tenant = getattr(context.get("request"), "tenant", None)
    if getattr(tenant, "pk", None) is not None:
        return tenant.name
    return str(_("督办平台"))


@register.simple_tag
def idle_timeout_seconds() -> int:
    return settings.DUBAN_IDLE_TIMEOUT_SECONDS


@register.filter
def may_use_otp(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "role", None) in OTP_ROLES
