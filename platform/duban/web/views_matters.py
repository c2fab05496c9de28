"""Matter pages: to-do, lights board, register book, supervision plan, the matter list (with Excel
export), proposing a matter, a matter's detail with its timeline, and the workflow actions.

Thin views: matters are fetched through ``duban.matters.access`` (missing and not yours are the
same 404) and every write is one call of an action function in ``duban.matters.actions``. Each
action form posts to ``/matters/<id>/<action>/``; with htmx the form's box is swapped in place
(HTTP 400 with the errors under their fields), without it the page is rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.matters import access, actions, attachments, queries
from duban.matters.models import ChangeRequest, Feedback, Matter, MatterUnit
from duban.matters.states import LEADERS, TERMINAL, UNDER_WAY, InvalidTransition, State, allowed_actions
from duban.supervision import steps as supervision_steps
from duban.supervision.access import visible_steps
from duban.supervision.models import EscalationStep
from duban.units.models import Unit
from duban.web import forms_matters as mf

PAGE_SIZE = 20
REGISTER_PAGE_SIZE = 50
PROPOSING_ROLES = (*LEADERS, Role.SUPERVISION_STAFF)
STALE = _("该事项已被他人更新，请刷新后重试")


# --- small helpers ------------------------------------------------------------------------------
def _language() -> str:
    return translation.get_language() or "zh-hans"


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _matter(user, pk) -> Matter:
    try:
        return access.access_matter_by_id(user, pk)
    except NotFound:
        raise Http404(gettext("没有这个督办事项")) from None


def _units_prefetch() -> Prefetch:
    return Prefetch("units", MatterUnit.objects.select_related("unit").order_by("-role", "id"))


def _categories(pack) -> dict[str, str]:
    lang = _language()
    return {c.code: c.label.get(lang) for c in pack.scope}


def _tier_label(pack, code: str) -> str:
    tier = pack.tier(code)
    return tier.label.get(_language()) if tier else code


def _forbidden(request, message=None):
    return render(request, "web/matters/forbidden.html",
                  {"message": message or gettext("您的角色不能进行此操作。")}, status=403)


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


@login_required
@require_GET
def todo(request):
    user, today = request.user, clock.today()
    pack = county_pack()
    categories = _categories(pack)
    items = queries.my_todo(user, today)
    visible = access.visible_matters(user)
    office = user.role != Role.UNIT_STAFF
    steps_due = receipts_missing = reviews_pending = []
    if office:
        steps_due = list(visible_steps(user).filter(status=EscalationStep.Status.DUE)
                         .select_related("matter", "unit").order_by("due_on", "id"))
        for step in steps_due:
            step.tier_label = _tier_label(pack, step.tier)
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
        *([("steps", _("待督办（排查生成）"), len(steps_due))] if office else []),
        ("no-answer", _("反馈缺失或逾期"), len(no_answer)),
        *([("receipts", _("未签收"), len(receipts_missing)), ("reviews", _("待审核结果"), len(reviews_pending))]
          if office else []),
    ]
    return render(request, "web/matters/todo.html", {
        "today": today, "items": rows, "steps_due": steps_due, "no_answer": no_answer,
        "receipts_missing": receipts_missing, "reviews_pending": reviews_pending, "counts": counts,
        "office": office, "can_record_steps": user.role == Role.SUPERVISION_STAFF, "section": "todo"})


# --- lights board (亮灯) -------------------------------------------------------------------------
@login_required
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
    columns = [
        ("red", _("红灯：逾期或反馈缺失"), shown[supervision_steps.RED]),
        ("yellow", _("黄灯：临近办结时限"), shown[supervision_steps.YELLOW]),
        ("green", _("绿灯：正常推进"), shown[supervision_steps.GREEN]),
    ]
    return render(request, "web/matters/board.html", {"today": today, "columns": columns, "section": "board"})


# --- register book and supervision plan ----------------------------------------------------------
@login_required
@require_GET
def register(request):
    pack = county_pack()
    matters = (queries.register_book(request.user).select_related("proposed_by", "registered_by")
               .prefetch_related(_units_prefetch()))
    page = Paginator(matters, REGISTER_PAGE_SIZE).get_page(request.GET.get("page"))
    _with_category_labels(page.object_list, _categories(pack))
    return render(request, "web/matters/register.html", {"page": page, "section": "register"})


@login_required
@require_GET
def plan(request):
    categories = _categories(county_pack())
    plan = queries.supervision_plan(request.user)
    order = list(categories)
    groups = [
        {"code": code, "label": categories.get(code, code),
         "units": [{"name": name, "matters": matters} for name, matters in sorted(by_unit.items())],
         "count": sum(len(m) for m in by_unit.values())}
        for code, by_unit in sorted(plan.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))
    ]
    return render(request, "web/matters/plan.html", {"groups": groups, "section": "plan", "today": clock.today()})


# --- the matter list (with Excel export) ---------------------------------------------------------
EXPORT_HEADERS = [_("登记编号"), _("事项名称"), _("督办类别"), _("状态"), _("提出领导"), _("牵头单位"), _("协办单位"),
                  _("办理要求"), _("交办日期"), _("办结时限"), _("下次反馈日期"), _("复办次数"), _("办结时间")]


@login_required
@require_GET
def matter_list(request):
    pack = county_pack()
    categories = _categories(pack)
    form = mf.MatterFilterForm(request.GET or None, pack=pack, language=_language())
    if form.is_bound:
        form.is_valid()
    matters = (form.filter(access.visible_matters(request.user)).select_related("proposed_by")
               .prefetch_related(_units_prefetch()).order_by("-id"))
    if request.GET.get("export") == "xlsx":
        return _export_xlsx(matters, categories)
    page = Paginator(matters, PAGE_SIZE).get_page(request.GET.get("page"))
    today, calendar = clock.today(), county_calendar()
    for matter in _with_category_labels(page.object_list, categories):
        matter.light = supervision_steps.light(matter, today, calendar, pack)
    return render(request, "web/matters/list.html", {
        "form": form, "page": page, "section": "matters",
        "can_propose": request.user.role in PROPOSING_ROLES})


def _export_xlsx(matters, categories: dict[str, str]) -> HttpResponse:
    # openpyxl is loaded only when someone exports, not for every page of the list.
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from duban.core import spreadsheet

    book, sheet = spreadsheet.new_workbook(gettext("督办事项"))
    spreadsheet.append(sheet, [str(h) for h in EXPORT_HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for matter in matters:
        units = list(matter.units.all())
        lead = next((u.unit.name for u in units if u.role == MatterUnit.Role.LEAD), "")
        cos = "、".join(u.unit.name for u in units if u.role == MatterUnit.Role.CO)
        closed = timezone.localtime(matter.closed_at).replace(tzinfo=None) if matter.closed_at else None
        spreadsheet.append(sheet, [
            matter.number, matter.title, categories.get(matter.category, matter.category), matter.get_state_display(),
            matter.proposed_by.display_name, lead, cos, matter.requirements, matter.assigned_on, matter.deadline,
            matter.feedback_due_on, matter.redo_count, closed])
    widths = [12, 40, 22, 10, 12, 18, 24, 40, 12, 12, 14, 10, 18]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row[8:11]:
            cell.number_format = "yyyy-mm-dd"
        row[12].number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    response = HttpResponse(spreadsheet.workbook_bytes(book),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"{gettext('督办事项')}-{clock.today():%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- propose (提出督办事项) -------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def matter_new(request):
    user = request.user
    if user.role not in PROPOSING_ROLES:
        return _forbidden(request, gettext("只有县领导、办公室领导和督查督办人员可以提出督办事项。"))
    pack = county_pack()
    form = mf.ProposeForm(request.POST or None, user=user, pack=pack, language=_language())
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
                mf.add_action_error(form, exc)
            except NotAllowed:
                return _forbidden(request)
            else:
                messages.success(request, gettext("已提出督办事项 %(number)s，等待督查督办人员登记。")
                                 % {"number": matter.number})
                return redirect("web-matter", pk=matter.pk)
        status = 400
    return render(request, "web/matters/new.html", {"form": form, "section": "new"}, status=status)


# --- the workflow actions ---------------------------------------------------------------------------
def _version(form) -> int:
    return form.cleaned_data["expected_version"]


def _run_register(request, matter, form):
    return actions.do_register_matter(matter.pk, actor=request.user, expected_version=_version(form))


def _run_approve(request, matter, form):
    return actions.do_approve_matter(matter.pk, actor=request.user, comment=form.cleaned_data["comment"],
                                     expected_version=_version(form))


def _run_reject(request, matter, form):
    return actions.do_reject_matter(matter.pk, actor=request.user, comment=form.cleaned_data["comment"],
                                    expected_version=_version(form))


def _run_assign(request, matter, form):
    data = form.cleaned_data
    return actions.do_assign_matter(
        matter.pk, actor=request.user, lead_unit=data["lead_unit"], co_units=data["co_units"],
        requirements=data["requirements"], deadline=data["deadline"],
        deadline_working_days=data["deadline_working_days"],
        feedback_every_working_days=data["feedback_every_working_days"], expected_version=_version(form))


def _run_sign(request, matter, form):
    return actions.do_sign_for_receipt(matter.pk, actor=request.user, expected_version=_version(form))


def _run_feedback(request, matter, form):
    return actions.do_give_feedback(matter.pk, actor=request.user, kind=form.cleaned_data["kind"],
                                    text=form.cleaned_data["text"], expected_version=_version(form))


def _run_report(request, matter, form):
    return actions.do_report_result(matter.pk, actor=request.user, text=form.cleaned_data["text"],
                                    expected_version=_version(form))


def _run_accept(request, matter, form):
    return actions.do_accept_result(matter.pk, actor=request.user, reasons=form.cleaned_data["reasons"],
                                    satisfaction=form.cleaned_data.get("satisfaction") or None,
                                    expected_version=_version(form))


def _run_report_part(request, matter, form):
    return actions.do_report_part(matter.pk, actor=request.user, text=form.cleaned_data["text"],
                                  expected_version=_version(form))


def _run_send_back(request, matter, form):
    return actions.do_send_back(matter.pk, actor=request.user, reasons=form.cleaned_data["reasons"],
                                units=form.cleaned_data["units"], expected_version=_version(form))


def _run_extension(request, matter, form):
    return actions.do_request_extension(matter.pk, actor=request.user, new_deadline=form.cleaned_data["new_deadline"],
                                        reason=form.cleaned_data["reason"], expected_version=_version(form))


def _run_change(request, matter, form):
    return actions.do_request_change(matter.pk, actor=request.user, kind=form.cleaned_data["kind"],
                                     reason=form.cleaned_data["reason"], changes=form.changes(),
                                     expected_version=_version(form))


def _run_decide(request, matter, form):
    data = form.cleaned_data
    return actions.do_decide_request(data["request"], actor=request.user, approve=data["approve"], note=data["note"],
                                     expected_version=_version(form))


def _run_attach(request, matter, form):
    return actions.do_attach_file(matter.pk, actor=request.user, upload=form.cleaned_data["file"])


@dataclass(frozen=True)
class Action:
    name: str           # the URL's last part: /matters/<id>/<name>/
    form: type
    title: object       # the box's heading
    button: object      # the submit button's text
    done: object        # the message after success
    run: Callable
    multipart: bool = False
    danger: bool = False


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("register", mf.RegisterForm, _("登记造册"), _("登记"), _("已登记造册，等待领导批准立项。"), _run_register),
    Action("approve", mf.ApproveForm, _("批准立项"), _("批准立项"), _("已批准立项，等待交办。"), _run_approve),
    Action("reject", mf.RejectForm, _("不予立项"), _("不予立项"), _("已决定不予立项。"), _run_reject, danger=True),
    Action("assign", mf.AssignForm, _("交办"), _("交办"), _("已交办，交办通知单已生成，等待单位签收。"), _run_assign),
    Action("sign", mf.SignForm, _("签收"), _("签收"), _("已签收。"), _run_sign),
    Action("feedback", mf.FeedbackForm, _("反馈进展"), _("反馈进展"), _("进展情况已反馈。"), _run_feedback),
    Action("report-part", mf.PartForm, _("报送承办部分"), _("报送承办部分"), _("承办部分办理情况已报送。"),
           _run_report_part),
    Action("report", mf.ReportForm, _("报送办理结果"), _("报送结果"), _("办理结果已报送，等待审核。"), _run_report),
    Action("accept", mf.AcceptForm, _("审核通过"), _("审核通过"), _("审核通过，事项已办结。"), _run_accept),
    Action("send-back", mf.SendBackForm, _("退回复办"), _("退回复办"), _("已退回复办。"), _run_send_back, danger=True),
    Action("request-extension", mf.ExtensionForm, _("申请延期"), _("申请延期"), _("延期申请已提交，等待领导审批。"),
           _run_extension),
    Action("request-change", mf.ChangeForm, _("申请调整或取消"), _("提交申请"), _("申请已提交，等待领导审批。"),
           _run_change),
    Action("decide", mf.DecideForm, _("审批申请"), _("批准"), _("已审批。"), _run_decide),
    Action("attach", mf.AttachForm, _("上传附件"), _("上传"), _("附件已上传。"), _run_attach, multipart=True),
)}


@dataclass
class Box:
    """One action's form on the detail page, in its own swappable container."""

    action: Action
    form: forms.Form
    url: str
    container: str
    change_request: ChangeRequest | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def main_fields(self):
        more = getattr(self.form, "more_fields", ())
        return [f for f in self.form.visible_fields() if f.name not in more]

    @property
    def more_fields(self):
        more = getattr(self.form, "more_fields", ())
        return [f for f in self.form.visible_fields() if f.name in more]

    @property
    def more_open(self) -> bool:
        return any(f.errors or f.value() for f in self.more_fields)


def _make_form(action: Action, matter: Matter, user, data=None, files=None, initial=None):
    prefix = action.name.replace("-", "_")
    initial = {"expected_version": matter.version, **(initial or {})}
    return action.form(data, files, matter=matter, user=user, initial=initial, auto_id=f"{prefix}-%s")


def _box(action: Action, matter: Matter, form, change_request: ChangeRequest | None = None) -> Box:
    container = f"action-{action.name}" + (f"-{change_request.pk}" if change_request else "")
    return Box(action, form, reverse("web-matter-action", args=[matter.pk, action.name]), container, change_request)


def _user_link(user, matter: Matter) -> MatterUnit | None:
    if user.role != Role.UNIT_STAFF or not user.unit_id:
        return None
    return next((link for link in matter.units.all() if link.unit_id == user.unit_id), None)


def available_boxes(user, matter: Matter, pack) -> list[Box]:
    """The forms of the actions this user may take in the matter's current state."""
    allowed = set(allowed_actions(matter.state, user.role))
    link = _user_link(user, matter)
    pending = [r for r in matter.change_requests.all() if r.status == ChangeRequest.Status.PENDING]
    names = []
    if "register" in allowed:
        names.append("register")
    if "approve" in allowed:
        names.append("approve")
    if "reject" in allowed:
        names.append("reject")
    if "assign" in allowed:
        names.append("assign")
    if "sign" in allowed and link and not link.received_at:
        names.append("sign")
    if "feedback" in allowed and link and link.received_at:
        names.append("feedback")
    if ("report_part" in allowed and link and link.role == MatterUnit.Role.CO and link.received_at
            and not link.part_reported_at):
        names.append("report-part")
    if "report" in allowed and link and link.role == MatterUnit.Role.LEAD and link.received_at:
        names.append("report")
    if "accept" in allowed:
        names.append("accept")
    if "send_back" in allowed:
        names.append("send-back")
    if "request_extension" in allowed and link and not any(r.kind == ChangeRequest.Kind.EXTENSION for r in pending):
        names.append("request-extension")
    if "request_change" in allowed:
        names.append("request-change")
    boxes = []
    for name in names:
        initial = {}
        if name == "assign":
            category = pack.category(matter.category)
            if category and category.default_deadline_working_days:
                initial["deadline_working_days"] = category.default_deadline_working_days
            initial["lead_unit"] = next((u.code for u in matter.proposed_units.all()), "")
        boxes.append(_box(ACTIONS[name], matter, _make_form(ACTIONS[name], matter, user, initial=initial)))
    for request in pending:
        decide = "decide_extension" if request.kind == ChangeRequest.Kind.EXTENSION else "decide_change"
        if decide in allowed:
            boxes.append(_box(ACTIONS["decide"], matter,
                              _make_form(ACTIONS["decide"], matter, user, initial={"request": request.pk}), request))
    if (user.role in attachments.ATTACHING_ROLES and matter.state not in TERMINAL
            and (user.role != Role.UNIT_STAFF or link is not None)):
        boxes.append(_box(ACTIONS["attach"], matter, _make_form(ACTIONS["attach"], matter, user)))
    for box in boxes:
        _describe(box, pack)
    return boxes


def _describe(box: Box, pack) -> None:
    """Things a box shows beside its form (the request being decided)."""
    request = box.change_request
    if request is None:
        return
    box.extra["kind"] = request.get_kind_display()
    box.extra["proposed"] = _proposed_text(request)


def _proposed_text(request: ChangeRequest) -> str:
    proposed = request.proposed or {}
    if request.kind == ChangeRequest.Kind.EXTENSION:
        return gettext("延期至 %(date)s") % {"date": proposed.get("deadline", "")}
    if request.kind == ChangeRequest.Kind.CANCELLATION:
        return gettext("取消该事项")
    names = {"title": gettext("事项名称"), "content": gettext("事项内容"), "requirements": gettext("办理要求"),
             "deadline": gettext("办结时限"), "lead_unit": gettext("牵头单位"), "co_units": gettext("协办单位")}
    parts = []
    for key, value in proposed.items():
        if isinstance(value, list):
            value = "、".join(_unit_name(code) for code in value)
        elif key == "lead_unit":
            value = _unit_name(value)
        parts.append(f"{names.get(key, key)}：{value}")
    return "；".join(parts)


def _unit_name(code: str) -> str:
    unit = Unit.objects.filter(code=code).first()
    return unit.name if unit else code


@login_required
@require_POST
def matter_action(request, pk, action):
    spec = ACTIONS.get(action.replace("_", "-"))
    if spec is None:
        raise Http404(gettext("没有这项操作"))
    user = request.user
    matter = _matter(user, pk)
    form = _make_form(spec, matter, user, data=request.POST, files=request.FILES)
    change_request = None
    if spec.name == "decide":
        request_id = request.POST.get("request", "")
        change_request = (matter.change_requests.filter(pk=int(request_id)).first()
                          if request_id.isdigit() else None)
        if change_request is None:
            raise Http404(gettext("该事项没有这项申请"))
    box = _box(spec, matter, form, change_request)
    _describe(box, county_pack())
    if form.is_valid():
        try:
            spec.run(request, matter, form)
        except Invalid as exc:
            mf.add_action_error(form, exc)
        except (InvalidTransition, Conflict) as exc:
            return _stale(request, matter, box, exc)
        except NotAllowed:
            return _refused(request, matter, box)
        except NotFound:
            raise Http404(gettext("没有这个督办事项")) from None
        else:
            messages.success(request, str(spec.done))
            return _back_to(request, matter)
    return _invalid(request, matter, box)


def _back_to(request, matter: Matter):
    url = reverse("web-matter", args=[matter.pk])
    if _is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _render_box(request, box: Box, matter: Matter, status: int) -> HttpResponse:
    template = "web/matters/_decide.html" if box.action.name == "decide" else "web/matters/_action.html"
    html = render_to_string(template, {"box": box, "matter": matter}, request=request)
    return HttpResponse(html, status=status)


def _invalid(request, matter: Matter, box: Box):
    if _is_htmx(request):
        return _render_box(request, box, matter, 400)
    return _render_detail(request, matter, replace=box, status=400)


def _stale(request, matter: Matter, box: Box, exc):
    message = str(STALE)
    if isinstance(exc, InvalidTransition):
        message = gettext("该事项当前为“%(state)s”，不能再%(action)s。可能已被他人更新，请刷新后重试。") % {
            "state": State(exc.state).label, "action": box.action.title}
    if _is_htmx(request):
        box.error = message
        return _render_box(request, box, matter, 409)
    messages.error(request, message)
    return redirect("web-matter", pk=matter.pk)


def _refused(request, matter: Matter, box: Box):
    message = gettext("您的角色不能%(action)s。") % {"action": box.action.title}
    if _is_htmx(request):
        box.error = message
        return _render_box(request, box, matter, 403)
    return _forbidden(request, message)


# --- a matter's detail ---------------------------------------------------------------------------
@login_required
@require_GET
def matter_detail(request, pk):
    return _render_detail(request, _matter(request.user, pk))


def _render_detail(request, matter: Matter, *, replace: Box | None = None, status: int = 200):
    user, today = request.user, clock.today()
    pack = county_pack()
    matter = (Matter.objects.select_related("proposed_by", "registered_by", "approved_by", "assigned_by", "round")
              .prefetch_related(Prefetch("units", MatterUnit.objects.select_related("unit", "received_by", "part_reported_by")
                                         .order_by("-role", "id")),
                                "proposed_units",
                                Prefetch("change_requests", ChangeRequest.objects.select_related(
                                    "requested_by", "decided_by").order_by("id")))
              .get(pk=matter.pk))
    reports = list(access.visible_reports(user, matter)
                   .select_related("unit", "reported_by", "review__reviewed_by").order_by("attempt"))
    files = list(access.visible_attachments(user, matter).select_related("uploaded_by", "feedback", "report")
                 .order_by("id"))
    steps = list(visible_steps(user).filter(matter=matter).select_related("unit", "recorded_by", "notice")
                 .order_by("tier_index", "id"))
    for step in steps:
        step.tier_label = _tier_label(pack, step.tier)
    boxes = available_boxes(user, matter, pack)
    if replace is not None:
        swapped = False
        for index, box in enumerate(boxes):
            if box.container == replace.container:
                boxes[index], swapped = replace, True
        if not swapped:
            boxes.append(replace)
    categories = _categories(pack)
    context = {
        "matter": matter, "today": today, "section": "matters",
        "category_label": categories.get(matter.category, matter.category),
        "light": supervision_steps.light(matter, today, county_calendar(), pack),
        "units": list(matter.units.all()),
        "feedback": list(matter.feedback.select_related("unit", "given_by").order_by("given_at", "id")),
        "reports": reports,
        "deadline_changes": list(matter.deadline_changes.select_related("changed_by").order_by("id")),
        "change_requests": [(r, _proposed_text(r)) for r in matter.change_requests.all()],
        "attachments": files,
        "steps": steps,
        "notices": _notices(matter, steps),
        "revisions": list(matter.revisions.order_by("seq")),
        "timeline": timeline_entries(matter, pack, user),
        "boxes": boxes,
        "open_step_link": user.role == Role.SUPERVISION_STAFF,
    }
    return render(request, "web/matters/detail.html", context, status=status)


def _notices(matter: Matter, steps: list) -> list:
    """The matter's numbered documents the user may open: its assignment notice, and the
    supervision notices of the steps the user can see (each with its step)."""
    by_notice = {s.notice_id: s for s in steps if s.notice_id}
    shown = []
    for notice in matter.notices.select_related("unit").order_by("issued_at", "id"):
        if notice.kind == "assignment_notice" or notice.pk in by_notice:
            notice.step = by_notice.get(notice.pk)
            shown.append(notice)
    return shown


# --- the timeline, in words ----------------------------------------------------------------------
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
    "matter.step_opened": _("排查发现需督办"),
    "matter.step_recorded": _("登记督办"),
    "matter.step_withdrawn": _("督办措施撤销（冲正系误记）"),
    "matter.step_superseded": _("督办措施失效（时限调整后重新起算）"),
}
ACTOR_LABELS = {"sweep": _("自动排查"), "system": _("系统"), "cli": _("命令行"), "beat": _("定时任务")}


@dataclass
class TimelineEntry:
    at: object
    who: str
    label: str
    details: list[str]
    note: str
    action: str


def _who(event) -> str:
    if event.actor is not None:
        return f"{event.actor.display_name}（{event.actor.get_role_display()}）"
    label = event.actor_label or ""
    return str(ACTOR_LABELS.get(label, label.removeprefix("user:")))


def timeline_entries(matter: Matter, pack, user) -> list[TimelineEntry]:
    units = {u.code: u.name for u in Unit.objects.all()}
    states = dict(State.choices)
    kinds = dict(ChangeRequest.Kind.choices)
    feedback_kinds = dict(Feedback.Kind.choices)

    def unit(code):
        return units.get(code, code) if code else ""

    entries = []
    for event in queries.timeline(matter, user).select_related("actor"):
        before, after = event.before or {}, event.after or {}
        details: list[str] = []
        action = event.action
        if action == "matter.propose":
            details.append(gettext("登记编号：%(n)s") % {"n": after.get("number", "")})
            if after.get("proposed_units"):
                details.append(gettext("建议责任单位：%(u)s") % {"u": "、".join(unit(c) for c in after["proposed_units"])})
            if after.get("requested_deadline"):
                details.append(gettext("要求完成时间：%(d)s") % {"d": after["requested_deadline"]})
        elif action == "matter.assign":
            details.append(gettext("牵头单位：%(u)s") % {"u": unit(after.get("lead_unit"))})
            if after.get("co_units"):
                details.append(gettext("协办单位：%(u)s") % {"u": "、".join(unit(c) for c in after["co_units"])})
            if after.get("notice"):
                details.append(gettext("交办通知单：%(n)s") % {"n": after["notice"]})
        elif action in ("matter.sign", "matter.feedback", "matter.report_part") and after.get("unit"):
            details.append(unit(after["unit"]) + (
                f"（{feedback_kinds.get(after['kind'], after['kind'])}）" if after.get("kind") else ""))
        elif action == "matter.send_back" and after.get("units"):
            details.append(gettext("退回涉及：%(units)s") % {"units": "、".join(unit(c) for c in after["units"])})
        elif action == "matter.report" and after.get("attempt"):
            details.append(gettext("第 %(n)s 次报送") % {"n": after["attempt"]})
        elif action == "matter.request_extension" and after.get("requested_deadline"):
            details.append(gettext("申请延期至 %(d)s") % {"d": after["requested_deadline"]})
        elif action == "matter.request_change" and after.get("kind"):
            details.append(gettext("申请%(k)s") % {"k": kinds.get(after["kind"], after["kind"])})
        elif action in ("matter.step_opened", "matter.step_recorded", "matter.step_withdrawn",
                        "matter.step_superseded"):
            details.append(f"{_tier_label(pack, after.get('tier', ''))} · {unit(after.get('unit'))}")
            if after.get("notice"):
                details.append(gettext("文号：%(n)s") % {"n": after["notice"]})
        elif action == "matter.attach":
            details.append(gettext("附件：%(n)s") % {"n": after.get("name", "")})
        if before.get("state") and after.get("state") and before["state"] != after["state"]:
            details.append(gettext("状态：%(a)s → %(b)s") % {"a": states.get(before["state"], before["state"]),
                                                           "b": states.get(after["state"], after["state"])})
        if after.get("deadline") and before.get("deadline") != after.get("deadline"):
            if before.get("deadline"):
                details.append(gettext("办结时限：%(a)s → %(b)s") % {"a": before["deadline"], "b": after["deadline"]})
            else:
                details.append(gettext("办结时限：%(d)s") % {"d": after["deadline"]})
        if after.get("deadline_provisional"):
            details.append(gettext("时限待定（当年节假日尚未公布）"))
        entries.append(TimelineEntry(at=event.at, who=_who(event), label=str(ACTION_LABELS.get(action, action)),
                                     details=details, note=event.note, action=action.removeprefix("matter.")))
    return entries


# --- the assignment notice (《重点事项交办通知单》) ---------------------------------------------------
@login_required
@require_GET
def assignment_notice(request, pk):
    """The matter's assignment notice as a document (issued the first time it is asked for, then
    the same one): its page, or with ``?format=pdf|docx`` the file."""
    from duban.matters.documents import assignment_notice_document

    matter = _matter(request.user, pk)
    try:
        document = assignment_notice_document(matter, actor=request.user)
    except Invalid:
        raise Http404(gettext("该事项尚未交办，没有交办通知单")) from None
    except NotFound:
        raise Http404(gettext("没有这个督办事项")) from None
    fmt = request.GET.get("format")
    if fmt in ("pdf", "docx"):
        return redirect(f"/documents/{document.pk}/download/?format={fmt}")
    return redirect(f"/documents/{document.pk}/")


# --- attachments --------------------------------------------------------------------------------
@login_required
@require_GET
def attachment_download(request, pk, attachment_id):
    matter = _matter(request.user, pk)
    attachment = access.visible_attachments(request.user, matter).filter(pk=attachment_id).first()
    if attachment is None:  # missing, another matter's, or a result's file not yet reviewed: the same 404
        raise Http404(gettext("没有这个附件"))
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)

