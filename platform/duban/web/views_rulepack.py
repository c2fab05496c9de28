"""The county's rule pack in plain words.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from duban.core.county import county_pack
from duban.scoring.texts import counting_text
from duban.web.shortcuts import (
    event_labels,
    language,
    page,
)

T = "web/supervision/"


# --- the rule pack -------------------------------------------------------------------------------
TRIGGER_WORDS = {"deadline_missed": gettext_lazy("超过办结时限仍未办结"), "feedback_overdue": gettext_lazy("未按期反馈进展"),
                 "check_due": gettext_lazy("时效性强事项到期未检查")}


def trigger_text(tier, index: int) -> str:
    """When the tier falls due, from the trigger kinds it answers (四(一) 在规定期限内未能完成的)."""
    days = tier.trigger.working_days
    if tier.trigger.basis == "deadline_passed":
        why = _("或").join(str(TRIGGER_WORDS.get(kind, kind)) for kind in tier.trigger.answers)
        return (_("事项%(why)s的，于次一工作日采取") % {"why": why} if days <= 1
                else _("事项%(why)s第%(days)d个工作日仍未改正的") % {"why": why, "days": days})
    return (_("上一级督办措施记录后仍无实质进展的") if days == 0
            else _("上一级督办措施记录%(days)d个工作日后仍无实质进展的（承诺完成日期在先的，以承诺日期为准）") % {"days": days})


WEEKDAYS = ["", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]


@page
@require_safe
def rulepack(request):
    """The county's rule pack in plain words."""
    pack = county_pack()
    lang = language()
    labels = event_labels(pack)
    kinds = {"text": _("文字"), "date": _("日期"), "datetime": _("日期时间"), "person": _("人员"),
             "unit": _("单位"), "file": _("文件"), "number": _("数字")}
    tiers = []
    for index, tier in enumerate(pack.tiers):
        document = pack.document(tier.document) if tier.document else None
        rule = pack.schedule.rule(tier.deduction_event) if tier.deduction_event else None
        tiers.append({
            "index": index + 1, "tier": tier, "label": tier.label.get(lang), "trigger": trigger_text(tier, index),
            "evidence": [{"label": e.label.get(lang), "kind": kinds.get(e.kind, e.kind), "required": e.required,
                          "help": e.help} for e in tier.evidence],
            "document": document.title if document else "",
            "deduction": (labels.get(rule.code, rule.code), rule.amount) if rule else None,
        })
    spec = pack.calendar
    return render(request, T + "rulepack.html", {
        "pack": pack, "title": pack.title.get(lang),
        "scope": [{"c": c, "label": c.label.get(lang)} for c in pack.scope],
        "tiers": tiers,
        "events": [{"rule": r, "label": r.label.get(lang), "counting": counting_text(r)} for r in pack.schedule.events],
        "schedule": pack.schedule,
        "calendar": spec,
        "weekly_day": _(WEEKDAYS[spec.weekly_report.weekday]),
        "holidays": (_("国家法定节假日及调休（国务院办公厅通知）") if spec.holidays == "chinese_calendar"
                     else _("仅周末休息")),
        "interpretations": [{"i": i, "text": i.text.get(lang)} for i in pack.interpretations],
        "documents": pack.documents,
    })
