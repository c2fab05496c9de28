"""The events people are notified of. Codes are stable (preferences and plugins refer to them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

EVENTS: dict[str, str] = {
    "matter.assigned": _("事项交办"),
    "receipt.due": _("待签收提醒"),
    "feedback.due": _("反馈到期提醒"),
    "feedback.missed": _("反馈逾期"),
    "check.due": _("时效性事项到期检查"),
    "light.yellow": _("黄灯预警"),
    "light.red": _("红灯警示"),
    "step.recorded": _("督办措施"),
    "notice.issued": _("督办文书下发"),
    "result.reported": _("办理结果待审核"),
    "result.accepted": _("办理结果审核通过"),
    "result.sent_back": _("办理结果退回复办"),
    "circular.published": _("通报发布"),
    "weekly_report.submitted": _("督查专报待审核"),
    "weekly_report.returned": _("督查专报退回修改"),
    "weekly_report.issued": _("督查专报印发"),
    "inspection.opened": _("季度督查开始"),
    "inspection.reported": _("季度督查结果报告"),
}
