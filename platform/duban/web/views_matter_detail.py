"""One matter's page: its detail with the timeline in words, the workflow actions' forms, its
assignment notice and its attachments.

Thin views in the house style of ``duban.web.shortcuts``: the matter is fetched through
``duban.matters.access`` (missing and not yours are the same 404) and every write is one call of an
action function in ``duban.matters.actions``. Each action form posts to
``/matters/<id>/<action>/``; with htmx the form's box is swapped in place (HTTP 400 with the
errors under their fields), without it the page is rendered again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Conflict, Invalid, NotAllowed
from duban.documents.content import cn_date
from duban.matters import access, actions, attachments, queries
from duban.matters import documents as matter_documents
from duban.matters.events import ACTION_LABELS, ACTOR_LABELS
from duban.matters.models import ChangeRequest, Feedback, Matter, MatterUnit
from duban.matters.states import TERMINAL, InvalidTransition, State, allowed_actions
from duban.supervision import steps as supervision_steps
from duban.supervision.access import visible_steps
from duban.units.models import Unit
from duban.web import forms_matters as mf
from duban.web.shortcuts import add_error, category_labels, page, redirect_to, refused, tier_labels
from duban.web.views_steps import evidence_rows

STALE = _("该事项已被他人更新，请刷新后重试")


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
                                    text=form.cleaned_data["text"], expected_version=_version(form),
                                    files=form.cleaned_data["files"])


def _run_report(request, matter, form):
    return actions.do_report_result(matter.pk, actor=request.user, text=form.cleaned_data["text"],
                                    expected_version=_version(form), files=form.cleaned_data["files"])


def _run_accept(request, matter, form):
    return actions.do_accept_result(matter.pk, actor=request.user, reasons=form.cleaned_data["reasons"],
                                    satisfaction=form.cleaned_data.get("satisfaction") or None,
                                    expected_version=_version(form),
                                    missing_parts_confirmed=bool(form.cleaned_data.get("confirm_missing_parts")))


def _run_report_part(request, matter, form):
    return actions.do_report_part(matter.pk, actor=request.user, text=form.cleaned_data["text"],
                                  expected_version=_version(form), files=form.cleaned_data["files"])


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
    Action("feedback", mf.FeedbackForm, _("反馈进展"), _("反馈进展"), _("进展情况已反馈。"), _run_feedback,
           multipart=True),
    Action("report-part", mf.PartForm, _("报送承办部分"), _("报送承办部分"), _("承办部分办理情况已报送。"),
           _run_report_part, multipart=True),
    Action("report", mf.ReportForm, _("报送办理结果"), _("报送结果"), _("办理结果已报送，等待审核。"), _run_report,
           multipart=True),
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
            # The leader's proposal: the first unit proposed leads, the others co-operate; the
            # deadline the leader asked for (when it is still ahead) instead of the category's days.
            proposed = queries.proposed_unit_codes(matter)
            initial["lead_unit"] = proposed[0] if proposed else ""
            initial["co_units"] = proposed[1:]
            if matter.requested_deadline and matter.requested_deadline > clock.today():
                initial["deadline"] = matter.requested_deadline
                initial.pop("deadline_working_days", None)
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


@page
@require_POST
def matter_action(request, pk, action):
    spec = ACTIONS.get(action.replace("_", "-"))
    if spec is None:
        raise Http404(gettext("没有这项操作"))
    user = request.user
    matter = access.access_matter_by_id(user, pk)
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
            add_error(form, exc, message=mf.error_text(str(exc)))
        except (InvalidTransition, Conflict) as exc:
            return _stale(request, matter, box, exc)
        except NotAllowed:
            return _refused(request, matter, box)
        else:
            messages.success(request, str(spec.done))
            return _back_to(request, matter)
    return _invalid(request, matter, box)


def _back_to(request, matter: Matter):
    return redirect_to(request, reverse("web-matter", args=[matter.pk]))


def _render_box(request, box: Box, matter: Matter, status: int) -> HttpResponse:
    template = "web/matters/_decide.html" if box.action.name == "decide" else "web/matters/_action.html"
    html = render_to_string(template, {"box": box, "matter": matter}, request=request)
    return HttpResponse(html, status=status)


def _invalid(request, matter: Matter, box: Box):
    if request.htmx:
        return _render_box(request, box, matter, 400)
    return _render_detail(request, matter, replace=box, status=400)


def _stale(request, matter: Matter, box: Box, exc):
    message = str(STALE)
    if isinstance(exc, InvalidTransition):
        message = gettext("该事项当前为“%(state)s”，不能再%(action)s。可能已被他人更新，请刷新后重试。") % {
            "state": State(exc.state).label, "action": box.action.title}
    if request.htmx:
        box.error = message
        return _render_box(request, box, matter, 409)
    messages.error(request, message)
    return redirect("web-matter", pk=matter.pk)


def _refused(request, matter: Matter, box: Box):
    message = gettext("您的角色不能%(action)s。") % {"action": box.action.title}
    if request.htmx:
        box.error = message
        return _render_box(request, box, matter, 403)
    return refused(request, message)


# --- a matter's detail ---------------------------------------------------------------------------
@page
@require_GET
def matter_detail(request, pk):
    return _render_detail(request, access.access_matter_by_id(request.user, pk))


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
    tiers = tier_labels(pack)
    for step in steps:
        step.tier_label = tiers.get(step.tier, step.tier)
    boxes = available_boxes(user, matter, pack)
    if replace is not None:
        swapped = False
        for index, box in enumerate(boxes):
            if box.container == replace.container:
                boxes[index], swapped = replace, True
        if not swapped:
            boxes.append(replace)
    categories = category_labels(pack)
    context = {
        "matter": matter, "today": today, "section": "matters",
        "category_label": categories.get(matter.category, matter.category),
        "light": supervision_steps.light(matter, today, county_calendar(), pack),
        "units": list(matter.units.all()),
        "feedback": _with_files(matter.feedback.select_related("unit", "given_by").order_by("given_at", "id"),
                                files, "feedback_id"),
        "reports": _with_files(reports, files, "report_id"),
        "deadline_changes": list(matter.deadline_changes.select_related("changed_by").order_by("id")),
        "change_requests": [(r, _proposed_text(r)) for r in matter.change_requests.all()],
        "attachments": files,
        "steps": steps,
        "notices": _notices(matter, steps),
        "revisions": list(matter.revisions.order_by("seq")),
        "timeline": timeline_entries(matter, pack, user),
        "boxes": boxes,
        "open_step_link": user.role == Role.SUPERVISION_STAFF,
        "can_start_step": user.role == Role.SUPERVISION_STAFF and matter.state in supervision_steps.UNDER_WAY,
    }
    return render(request, "web/matters/detail.html", context, status=status)


def _with_files(records, files: list, key: str) -> list:
    """Each feedback or result with the files reported with it (``files``: those the user may see)."""
    records = list(records)
    for record in records:
        record.files = [a for a in files if getattr(a, key) == record.pk]
    return records


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
NOTE_LABELS = {
    "matter.approve": _("立项意见"), "matter.reject": _("不予立项理由"), "matter.accept": _("审核意见"),
    "matter.send_back": _("退回理由"), "matter.reply_again": _("审核意见"), "matter.request_extension": _("延期理由"),
    "matter.request_change": _("申请理由"), "matter.step_started": _("主动督办理由"),
    "matter.step_skipped": _("跳过理由"), "matter.step_withdrawn": _("撤销理由"),
    "matter.step_superseded": _("失效说明"),
}
STEP_EVENTS = ("matter.step_opened", "matter.step_started", "matter.step_recorded", "matter.step_skipped",
               "matter.step_withdrawn", "matter.step_superseded")


@dataclass
class TimelineEntry:
    at: object
    who: str
    label: str
    details: list[str]
    note: str
    action: str
    content: str = ""          # what was said: the feedback's or the result's text
    note_label: str = ""       # what the note is: 退回理由, 撤销理由 …
    effective: str = ""        # the date the act counts from, in words (2026年11月25日)
    effective_label: str = ""  # 督办日期, 生效日期, 交办日期 …
    evidence: list = field(default_factory=list)  # a recorded step's evidence: (label, value)


def _who(event) -> str:
    if event.actor is not None:
        return f"{event.actor.display_name}（{event.actor.get_role_display()}）"
    label = event.actor_label or ""
    return str(ACTOR_LABELS.get(label, label.removeprefix("user:")))


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _effective(action: str, event, after: dict, step, matter: Matter) -> tuple[str, date | None]:
    """The date an entry's act counts from, and what that date is called: the day a step was
    taken (it may be recorded later), the day a decision or a withdrawal takes effect, the day of
    assignment or closing."""
    if action in ("matter.step_recorded", "matter.step_started"):
        return gettext("督办日期"), _day(getattr(step, "recorded_on", None) or after.get("on"))
    if action == "matter.step_opened":
        return gettext("应督办日期"), _day(getattr(step, "due_on", None))
    if action in ("matter.step_skipped", "matter.step_withdrawn", "matter.step_superseded") or (
            action.endswith(".approved") and action.startswith(("matter.extension", "matter.adjustment",
                                                                "matter.cancellation"))):
        return gettext("生效日期"), _day(after.get("on") or event.at)
    if action == "matter.assign":
        return gettext("交办日期"), _day(after.get("assigned_on") or matter.assigned_on or event.at)
    if action == "matter.accept":
        return gettext("办结日期"), _day(matter.closed_at or event.at)
    if action in ("matter.feedback", "matter.report_part", "matter.report"):
        return gettext("办理日期"), _day(event.at)
    return "", None


def timeline_entries(matter: Matter, pack, user) -> list[TimelineEntry]:
    """The matter's audit trail in words: who did what and when, what they wrote (feedback, the
    result — where the user may read it — reasons and opinions), the units concerned and the date
    the act counts from."""
    units = {u.code: u.name for u in Unit.objects.all()}
    states = dict(State.choices)
    kinds = dict(ChangeRequest.Kind.choices)
    feedback_kinds = dict(Feedback.Kind.choices)
    tiers = tier_labels(pack)
    events = list(queries.timeline(matter, user).select_related("actor"))
    feedback = {f.pk: f.text for f in matter.feedback.filter(
        pk__in=[e.after.get("feedback") for e in events if isinstance(e.after, dict) and e.after.get("feedback")])}
    results = {r.pk: r.text for r in access.visible_reports(user, matter)}
    steps = {s.pk: s for s in visible_steps(user).filter(matter=matter)}

    def unit(code):
        return units.get(code, code) if code else ""

    def names(codes):
        return "、".join(unit(c) for c in codes)

    entries = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        details: list[str] = []
        action = event.action
        content, evidence = "", []
        step = steps.get(after.get("step")) if action in STEP_EVENTS else None
        if action == "matter.propose":
            details.append(gettext("登记编号：%(n)s") % {"n": after.get("number", "")})
            if after.get("proposed_units"):
                details.append(gettext("建议责任单位：%(u)s") % {"u": names(after["proposed_units"])})
            if after.get("requested_deadline"):
                details.append(gettext("要求完成时间：%(d)s") % {"d": after["requested_deadline"]})
        elif action == "matter.assign":
            details.append(gettext("牵头单位：%(u)s") % {"u": unit(after.get("lead_unit"))})
            if after.get("co_units"):
                details.append(gettext("协办单位：%(u)s") % {"u": names(after["co_units"])})
            if after.get("notice"):
                details.append(gettext("交办通知单：%(n)s") % {"n": after["notice"]})
        elif action in ("matter.sign", "matter.feedback", "matter.report_part") and after.get("unit"):
            details.append(unit(after["unit"]) + (
                f"（{feedback_kinds.get(after['kind'], after['kind'])}）" if after.get("kind") else ""))
            content = feedback.get(after.get("feedback"), "")
        elif action == "matter.send_back" and after.get("units"):
            details.append(gettext("退回涉及：%(units)s") % {"units": names(after["units"])})
        elif action == "matter.report":
            if after.get("attempt"):
                details.append(gettext("第 %(n)s 次报送") % {"n": after["attempt"]})
            content = results.get(after.get("report"), "")
        elif action == "matter.request_extension" and after.get("requested_deadline"):
            details.append(gettext("申请延期至 %(d)s") % {"d": after["requested_deadline"]})
        elif action == "matter.request_change" and after.get("kind"):
            details.append(gettext("申请%(k)s") % {"k": kinds.get(after["kind"], after["kind"])})
        elif action in STEP_EVENTS:
            details.append(f"{tiers.get(after.get('tier', ''), after.get('tier', ''))} · {unit(after.get('unit'))}")
            if after.get("notice"):
                details.append(gettext("文号：%(n)s") % {"n": after["notice"]})
            if action == "matter.step_recorded" and step is not None:
                evidence = evidence_rows(pack.tier(step.tier), step.evidence or {})
        elif action == "matter.attach":
            details.append(gettext("附件：%(n)s") % {"n": after.get("name", "")})
            if after.get("report"):
                details.append(gettext("随办理结果报送"))
            elif after.get("feedback"):
                details.append(gettext("随进展反馈报送"))
        if action == "matter.accept":
            if after.get("co_units_not_signed"):
                details.append(gettext("未签收的协办单位：%(u)s") % {"u": names(after["co_units_not_signed"])})
            if after.get("co_units_not_reported"):
                details.append(gettext("未报送承办部分的协办单位：%(u)s") % {"u": names(after["co_units_not_reported"])})
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
        effective_label, effective = _effective(action, event, after, step, matter)
        entries.append(TimelineEntry(
            at=event.at, who=_who(event), label=str(ACTION_LABELS.get(action, action)), details=details,
            note=event.note, action=action.removeprefix("matter."), content=content,
            note_label=str(NOTE_LABELS.get(action, "")), evidence=evidence,
            effective=cn_date(effective) if effective else "", effective_label=effective_label if effective else ""))
    return entries


# --- the assignment notice (《重点事项交办通知单》) ---------------------------------------------------
@page
@require_GET
def assignment_notice(request, pk):
    """The matter's assignment notice as a document (issued the first time it is asked for, then
    the same one): its page, or with ``?format=pdf|docx`` the file."""
    matter = access.access_matter_by_id(request.user, pk)
    try:
        document = matter_documents.assignment_notice_document(matter, actor=request.user)
    except Invalid:
        raise Http404(gettext("该事项尚未交办，没有交办通知单")) from None
    fmt = request.GET.get("format")
    if fmt in ("pdf", "docx"):
        return redirect(f"/documents/{document.pk}/download/?format={fmt}")
    return redirect(f"/documents/{document.pk}/")


# --- attachments --------------------------------------------------------------------------------
@page
@require_GET
def attachment_download(request, pk, attachment_id):
    matter = access.access_matter_by_id(request.user, pk)
    attachment = access.visible_attachments(request.user, matter).filter(pk=attachment_id).first()
    if attachment is None:  # missing, another matter's, or a result's file not yet reviewed: the same 404
        raise Http404(gettext("没有这个附件"))
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)
