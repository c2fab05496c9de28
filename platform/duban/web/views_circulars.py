"""Circulars (通报): the list, drafting one, its praised and criticised units, publishing it and
its document.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_pack
from duban.core.errors import Invalid
from duban.supervision import access, circulars
from duban.supervision import documents as supervision_documents
from duban.supervision.actions import do_draft_circular, do_publish_circular, do_set_circular_lists
from duban.supervision.models import Circular
from duban.units.models import Unit
from duban.web import forms_supervision as forms
from duban.web.shortcuts import (
    act_on_form,
    document_file,
    page,
    paginate,
    require_role,
)

T = "web/supervision/"


# --- circulars -----------------------------------------------------------------------------------
@page
@require_safe
def circular_list(request):
    user = request.user
    qs = access.visible_circulars(user).select_related("notice").order_by("-id")
    return render(request, T + "circular_list.html", {
        "page_obj": paginate(request, qs), "can_draft": user.role == Role.SUPERVISION_STAFF,
    })


@page
@require_http_methods(["GET", "HEAD", "POST"])
def circular_new(request):
    user = request.user
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以起草通报。"))
    today = clock.today()
    if request.method != "POST":
        form = forms.CircularDraftForm(initial={"period_start": today.replace(day=1), "period_end": today,
                                                "title": _("%(year)d年%(month)d月督办事项落实情况通报")
                                                % {"year": today.year, "month": today.month}})
        return render(request, T + "circular_new.html", {"form": form})
    return act_on_form(
        request, forms.CircularDraftForm(request.POST), lambda data: do_draft_circular(actor=user, **data),
        done=_("通报草稿已生成，请确定表扬和批评单位。"),
        success=lambda circular: redirect("supervision:circular_detail", circular_id=circular.pk),
        again=lambda form: render(request, T + "circular_new.html", {"form": form}, status=400))


def _ranking_rows(circular: Circular) -> list[dict]:
    pack = county_pack()
    rows = []
    for row in circular.ranking or []:
        rate = row.get("on_time_rate")
        rows.append({**row, "rate_text": "—" if rate is None else f"{rate * 100:.1f}%", "due_text": row.get("due", "—"),
                     "facts": circulars.facts(row, pack), "praiseworthy": not circulars.praise_shortfalls(row, pack)})
    return rows


def _circular_page(request, circular, *, lists_form=None, status=200):
    user = request.user
    draft = circular.status == Circular.Status.DRAFT
    can_edit = draft and user.role == Role.SUPERVISION_STAFF
    if can_edit and lists_form is None:
        lists_form = forms.CircularListsForm(
            initial={"praised": [u.code for u in circular.praised.all()],
                     "criticised": [u.code for u in circular.criticised.all()],
                     "named": [u.code for u in circular.named.all()], "body": circular.body},
            units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    criticism = county_pack().schedule.rule(circulars.CRITICISM_EVENT)
    return render(request, T + "circular_detail.html", {
        "circular": circular, "ranking": _ranking_rows(circular), "lists_form": lists_form if can_edit else None,
        "can_publish": draft and user.role == Role.OFFICE_LEADER,
        "praised": list(circular.praised.order_by("kind", "code")),
        "criticised": list(circular.criticised.order_by("kind", "code")),
        "named": list(circular.named.order_by("kind", "code")),
        "criticism_amount": criticism.amount if criticism else None,
    }, status=status)


@page
@require_safe
def circular_detail(request, circular_id: int):
    return _circular_page(request, access.access_circular(request.user, circular_id))


@page
@require_POST
def circular_lists(request, circular_id: int):
    user = request.user
    circular = access.access_circular(user, circular_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以编辑通报。"))
    return act_on_form(
        request, forms.CircularListsForm(request.POST, units=Unit.objects.filter(is_active=True).order_by("kind", "code")),
        lambda data: do_set_circular_lists(circular.pk, actor=user, **data), done=_("已保存。"),
        success=lambda _result: redirect("supervision:circular_detail", circular_id=circular.pk),
        again=lambda form: _circular_page(request, circular, lists_form=form, status=400))


@page
@require_POST
def circular_publish(request, circular_id: int):
    user = request.user
    circular = access.access_circular(user, circular_id)
    try:
        published = do_publish_circular(circular.pk, actor=user)
    except Invalid as exc:
        messages.error(request, str(exc))
        return _circular_page(request, access.access_circular(user, circular_id), status=400)
    messages.success(request, _("通报已发布：%(number)s。") % {"number": published.notice.number})
    return redirect("supervision:circular_detail", circular_id=circular.pk)


@page
@require_safe
def circular_document(request, circular_id: int):
    circular = access.access_circular(request.user, circular_id)
    return document_file(request, lambda: supervision_documents.circular_document(circular, actor=request.user),
                         missing="a draft circular has no document yet")
