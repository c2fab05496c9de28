"""Matter pages over many matters: to-do, lights board, register book, supervision plan, the
matter list (with Excel export) and proposing a matter.

Thin views in the house style of ``duban.web.shortcuts``: matters are read through
``duban.matters.access`` and ``queries``; proposing is one call of ``duban.matters.actions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Invalid, NotAllowed
from duban.matters import access, actions, queries
from duban.matters.documents import matter_list_xlsx, register_book_xlsx
from duban.matters.models import Matter, MatterUnit
from duban.matters.states import LEADERS, UNDER_WAY, State
from duban.supervision import steps as supervision_steps
from duban.supervision.access import visible_steps
from duban.supervision.models import EscalationStep
from duban.web import forms_matters as mf
from duban.web.shortcuts import add_error, category_labels, language, page, refused, require_role, tier_labels
from duban.web.views_import import kinds_for

PAGE_SIZE = 20
REGISTER_PAGE_SIZE = 50
PROPOSING_ROLES = (*LEADERS, Role.SUPERVISION_STAFF)


# --- small helpers ------------------------------------------------------------------------------
def _units_prefetch() -> Prefetch:
    return Prefetch("units", MatterUnit.objects.select_related("unit").order_by("-role", "id"))


def _with_category_labels(matters, categories: dict[str, str]):
    for matter in matters:
        matter.category_label = categories.get(matter.category, matter.category)
    return matters


# --- to-do (待办) -------------------------------------------------------------------------------
TODO_TEXTS = {  # queries.TODO_LABELS, for the message catalogue
    "register": _("待登记"), "approve": _("待立项审批"), "assign": _("待交办"), "receipt_missing": _("待单位签收"),
    "decide_request": _("待审批申请"), "review": _("待审核结果"), "sign": _("待签收"), "feedback": _("待反馈进展"),
    "report": _("待报送结果"), "redo": _("待复办"),
}


@dataclass(frozen=True)
class TodoRow:
    item: queries.TodoItem
    label: str


@page
@require_GET
def todo(request):
    user, today = request.user, clock.today()
    pack = county_pack()
    categories = category_labels(pack)
    items = queries.my_todo(user, today)
    visible = access.visible_matters(user)
    office = user.role != Role.UNIT_STAFF
    steps_due = receipts_missing = reviews_pending = []
    if office:
        tiers = tier_labels(pack)
        steps_due = list(visible_steps(user).filter(status=EscalationStep.Status.DUE)
                         .select_related("matter", "unit").order_by("due_on", "id"))
        for step in steps_due:
            step.tier_label = tiers.get(step.tier, step.tier)
        receipts_missing = list(
            MatterUnit.objects.filter(matter__in=visible.filter(state__in=UNDER_WAY).values("pk"),
                                      received_at__isnull=True)
            .select_related("matter", "unit").order_by("matter__assigned_on", "matter_id", "-role", "id"))
        reviews_pending = list(visible.filter(state=State.REPORTED).prefetch_related(_units_prefetch())
                               .order_by("id"))
    no_answer = list(queries.no_answer(user, today).prefetch_related(_units_prefetch()))
    for matter in no_answer:
        matter.feedback_late = bool(matter.feedback_due_on and matter.feedback_due_on < today)
        matter.deadline_late = bool(matter.deadline and matter.deadline < today)
    for item in items:
        item.matter.category_label = categories.get(item.matter.category, item.matter.category)
    rows = [TodoRow(item, str(TODO_TEXTS.get(item.kind, item.label))) for item in items]
    counts = [
        ("todo", _("我的待办"), len(items)),
        *([("steps", _("待督办（自动巡查生成）"), len(steps_due))] if office else []),
        ("no-answer", _("反馈缺失或逾期"), len(no_answer)),
        *([("receipts", _("未签收"), len(receipts_missing)), ("reviews", _("待审核结果"), len(reviews_pending))]
          if office else []),
    ]
    return render(request, "web/matters/todo.html", {
        "today": today, "items": rows, "steps_due": steps_due, "no_answer": no_answer,
        "receipts_missing": receipts_missing, "reviews_pending": reviews_pending, "counts": counts,
        "office": office, "can_record_steps": user.role == Role.SUPERVISION_STAFF, "section": "todo"})


# --- lights board (亮灯) -------------------------------------------------------------------------
@page
@require_GET
def board(request):
    today = clock.today()
    board = supervision_steps.lights(today)
    visible = set(access.visible_matters(request.user).filter(state__in=UNDER_WAY).values_list("pk", flat=True))
    shown = {colour: [m for m in matters if m.pk in visible] for colour, matters in board.items()}
    ids = [m.pk for matters in shown.values() for m in matters]
    leads = {link.matter_id: link.unit for link in
             MatterUnit.objects.filter(matter_id__in=ids, role=MatterUnit.Role.LEAD).select_related("unit")}
    for matters in shown.values():
        for matter in matters:
            matter.lead = leads.get(matter.pk)
            matter.overdue = bool(matter.deadline and matter.deadline < today)
            matter.feedback_late = bool(matter.feedback_due_on and matter.feedback_due_on < today)
    if request.GET.get("export") == "xlsx":
        matters = [m for colour in (supervision_steps.RED, supervision_steps.YELLOW, supervision_steps.GREEN)
                   for m in shown[colour]]
        return _export_xlsx(_with_export_prefetch(matters), category_labels(county_pack()), gettext("亮灯"))
    columns = [
        ("red", _("红灯：逾期或反馈缺失"), shown[supervision_steps.RED]),
        ("yellow", _("黄灯：临近办结时限"), shown[supervision_steps.YELLOW]),
        ("green", _("绿灯：正常推进"), shown[supervision_steps.GREEN]),
    ]
    return render(request, "web/matters/board.html", {"today": today, "columns": columns, "section": "board"})


# --- register book and supervision plan ----------------------------------------------------------
@page
@require_GET
def register(request):
    pack = county_pack()
    if request.GET.get("export") == "xlsx":  # the register book's own workbook, of the matters this user sees
        return _xlsx(register_book_xlsx(queries.register_book(request.user)), gettext("督办事项登记簿"))
    matters = (queries.register_book(request.user).select_related("proposed_by", "registered_by")
               .prefetch_related(_units_prefetch()))
    page = Paginator(matters, REGISTER_PAGE_SIZE).get_page(request.GET.get("page"))
    _with_category_labels(page.object_list, category_labels(pack))
    return render(request, "web/matters/register.html", {
        "page": page, "section": "register", "can_import": bool(kinds_for(request.user))})


@page
@require_GET
def plan(request):
    categories = category_labels(county_pack())
    plan = queries.supervision_plan(request.user)
    if request.GET.get("export") == "xlsx":
        matters = [m for by_unit in plan.values() for ms in by_unit.values() for m in ms]
        return _export_xlsx(_with_export_prefetch(matters), categories, gettext("督办计划"))
    order = list(categories)
    groups = [
        {"code": code, "label": categories.get(code, code),
         "units": [{"name": name, "matters": matters} for name, matters in sorted(by_unit.items())],
         "count": sum(len(m) for m in by_unit.values())}
        for code, by_unit in sorted(plan.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))
    ]
    return render(request, "web/matters/plan.html", {
        "groups": groups, "section": "plan", "today": clock.today(),
        "can_bulk_assign": request.user.role == Role.SUPERVISION_STAFF,
        "approved": State.APPROVED})


# --- the matter list (with Excel export) ---------------------------------------------------------


@page
@require_GET
def matter_list(request):
    pack = county_pack()
    categories = category_labels(pack)
    form = mf.MatterFilterForm(request.GET or None, pack=pack, language=language())
    if form.is_bound:
        form.is_valid()
    matters = (form.filter(access.visible_matters(request.user)).select_related("proposed_by")
               .prefetch_related(_units_prefetch()).order_by("-id"))
    if request.GET.get("export") == "xlsx":
        return _export_xlsx(matters, categories, gettext("督办事项"))
    page = Paginator(matters, PAGE_SIZE).get_page(request.GET.get("page"))
    today, calendar = clock.today(), county_calendar()
    for matter in _with_category_labels(page.object_list, categories):
        matter.light = supervision_steps.light(matter, today, calendar, pack)
    staff = request.user.role == Role.SUPERVISION_STAFF
    return render(request, "web/matters/list.html", {
        "form": form, "page": page, "section": "matters",
        "can_propose": request.user.role in PROPOSING_ROLES, "can_bulk": staff,
        "can_import": bool(kinds_for(request.user))})


def _with_export_prefetch(matters: list) -> list:
    """Matters shown by a page (plan, board) as the export reads them: proposer and units loaded."""
    ids = [m.pk for m in matters]
    loaded = {m.pk: m for m in Matter.objects.filter(pk__in=ids).select_related("proposed_by")
              .prefetch_related(_units_prefetch())}
    return [loaded[pk] for pk in ids if pk in loaded]


def _export_xlsx(matters, categories: dict[str, str], title: str) -> HttpResponse:
    return _xlsx(matter_list_xlsx(matters, categories), title)


def _xlsx(data: bytes, title: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"{title}-{clock.today():%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- propose (提出督办事项) -------------------------------------------------------------------------
@page
@require_http_methods(["GET", "POST"])
def matter_new(request):
    user = request.user
    require_role(user, *PROPOSING_ROLES, what=gettext("只有县领导、办公室领导和督查督办人员可以提出督办事项。"))
    pack = county_pack()
    form = mf.ProposeForm(request.POST or None, user=user, pack=pack, language=language())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                matter = actions.do_propose_matter(
                    actor=user, title=data["title"], content=data["content"], category=data["category"],
                    proposed_units=data["proposed_units"], requested_deadline=data["requested_deadline"],
                    source_reference=data["source_reference"], time_sensitive=data["time_sensitive"],
                    on_behalf_of=data.get("on_behalf_of"))
            except Invalid as exc:
                add_error(form, exc, message=mf.error_text(str(exc)))
            except NotAllowed:
                return refused(request)
            else:
                messages.success(request, gettext("已提出督办事项 %(number)s，等待督查督办人员登记。")
                                 % {"number": matter.number})
                return redirect("web-matter", pk=matter.pk)
        status = 400
    return render(request, "web/matters/new.html", {"form": form, "section": "new"}, status=status)
