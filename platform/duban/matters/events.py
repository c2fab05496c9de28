"""What each recorded act on a matter is called, for every reader of its history: the web's
timeline and `duban matter timeline` (audit actions and actor labels → the office's words)."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "matter.propose": _("提出督办事项"),
    "matter.import": _("批量导入"),
    "matter.register": _("登记造册"),
    "matter.approve": _("批准立项"),
    "matter.reject": _("不予立项"),
    "matter.assign": _("交办"),
    "matter.sign": _("签收"),
    "matter.feedback": _("反馈进展"),
    "matter.report_part": _("报送承办部分"),
    "matter.report": _("报送办理结果"),
    "matter.accept": _("审核通过（办结）"),
    "matter.send_back": _("退回复办"),
    "matter.reply_again": _("代表委员不满意，再次答复"),
    "matter.request_extension": _("申请延期"),
    "matter.request_change": _("申请调整或取消"),
    "matter.extension.approved": _("批准延期"),
    "matter.extension.rejected": _("不批准延期"),
    "matter.adjustment.approved": _("批准调整"),
    "matter.adjustment.rejected": _("不批准调整"),
    "matter.cancellation.approved": _("批准取消"),
    "matter.cancellation.rejected": _("不批准取消"),
    "matter.retime": _("按节假日安排重算时限"),
    "matter.attach": _("上传附件"),
    "matter.step_opened": _("自动巡查发现需督办"),
    "matter.step_started": _("主动督办"),
    "matter.step_skipped": _("跳过督办措施"),
    "matter.step_recorded": _("登记督办"),
    "matter.step_withdrawn": _("督办措施撤销（冲正系误记）"),
    "matter.step_superseded": _("督办措施失效（时限调整后重新起算）"),
}
ACTOR_LABELS = {"sweep": _("自动巡查"), "system": _("系统"), "cli": _("命令行"), "beat": _("定时任务")}
