"""The quarter's inspection rounds (五(一) 检查制度).

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from duban.core.errors import NotFound
from duban.supervision import access, inspection
from duban.web.shortcuts import (
    page,
    paginate,
)

T = "web/supervision/"


# --- the quarter's inspection (五(一) 检查制度) ---------------------------------------------------------
@page
@require_safe
def inspection_list(request):
    """The inspection rounds a user may read: every round for the office, the reported ones for the
    county leaders (报县政府相关领导审阅), the rounds with one's own items for unit staff."""
    qs = access.visible_inspection_rounds(request.user).order_by("-year", "-quarter")
    page_obj = paginate(request, qs)
    rounds = [{"round": r, "summary": r.summary if r.reported_at else inspection.round_summary(r)} for r in page_obj]
    return render(request, T + "inspection_list.html", {"rounds": rounds, "page_obj": page_obj})


@page
@require_safe
def inspection_detail(request, round_id: int):
    user = request.user
    round_ = access.visible_inspection_rounds(user).filter(pk=round_id).first()
    if round_ is None:
        raise NotFound(_("没有找到该轮督查检查。"))
    items = (access.visible_inspection_items(user).filter(round=round_).select_related("matter", "unit", "inspected_by")
             .order_by("unit__kind", "unit__code", "matter__number"))
    return render(request, T + "inspection_detail.html", {
        "round": round_, "items": items,
        "summary": round_.summary if round_.reported_at else inspection.round_summary(round_),
    })
