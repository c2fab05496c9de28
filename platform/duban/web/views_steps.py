"""Escalation steps (督办措施): the list, a step, recording its evidence (the form is the county's
pack's for the tier), skipping it, the unit's written reply and the step's notice.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from duban.accounts.models import Role
from duban.core.county import county_pack
from duban.matters import access as matters_access
from duban.supervision import access
from duban.supervision import documents as supervision_documents
from duban.supervision import queries as supervision_queries
from duban.supervision import steps as supervision_steps
from duban.supervision.actions import (
    do_record_reply,
    do_record_step_with_evidence,
    do_skip_step,
    do_start_step,
    do_withdraw_step,
    withdrawing_kind,
)
from duban.supervision.models import EscalationStep
from duban.units.models import Unit
from duban.web import forms_supervision as forms
from duban.web.shortcuts import (
    act_on_form,
    document_file,
    language,
    page,
    paginate,
    query_without_page,
    refused,
    require_role,
    tier_labels,
)

T = "web/supervision/"


# --- escalation steps ------------------------------------------------------------------------------
def evidence_rows(tier, evidence: dict) -> list[tuple[str, str]]:
    """The recorded evidence in the tier's field order, with the pack's labels; times shown plainly."""
    specs = {spec.code: spec for spec in tier.evidence} if tier else {}
    order = [code for code in specs if code in evidence] + [code for code in evidence if code not in specs]
    rows = []
    for code in order:
        value, spec = evidence[code], specs.get(code)
        if spec is not None and spec.kind == "datetime" and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
                value = (timezone.localtime(moment) if timezone.is_aware(moment) else moment).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                pass
        rows.append((spec.label.get(language()) if spec else code, value))
    return rows


def step_view_context(user, step: EscalationStep, pack) -> dict:
    tier = pack.tier(step.tier)
    withdrawal = withdrawing_kind(pack)
    can_withdraw = (user.role == Role.OFFICE_LEADER and step.status == EscalationStep.Status.RECORDED
                    and withdrawal is not None)
    return {
        "start_reason": supervision_queries.start_reason(step),
        "can_withdraw": can_withdraw,
        "withdraw_form": forms.ReasonForm(prefix="withdraw") if can_withdraw else None,
        "withdrawal_label": withdrawal.label.get(language()) if withdrawal else "",
        "step": step,
        "tier": tier,
        "tier_label": tier.label.get(language()) if tier else step.tier,
        "evidence_rows": evidence_rows(tier, step.evidence or {}),
        "can_record": user.role == Role.SUPERVISION_STAFF and step.status == EscalationStep.Status.DUE,
        "can_reply": can_reply(user, step),
        "deduction": step_deduction(tier, pack),
    }


def step_deduction(tier, pack):
    if tier is None or not tier.deduction_event:
        return None
    rule = pack.schedule.rule(tier.deduction_event)
    return rule.amount if rule else None


def can_reply(user, step: EscalationStep) -> bool:
    return (user.role == Role.UNIT_STAFF and user.unit_id == step.unit_id and step.notice_id is not None
            and step.reply_at is None)


@page
@require_safe
def step_list(request):
    user, pack = request.user, county_pack()
    labels = tier_labels(pack)
    qs = access.visible_steps(user)
    units = Unit.objects.filter(pk__in=qs.values("unit_id")).order_by("kind", "code")
    form = forms.StepFilterForm(request.GET or None, statuses=EscalationStep.Status.choices,
                                tiers=list(labels.items()), units=units)
    if form.is_valid():
        data = form.cleaned_data
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("tier"):
            qs = qs.filter(tier=data["tier"])
        if data.get("unit"):
            qs = qs.filter(unit__code=data["unit"])
        if data.get("q"):
            qs = qs.filter(Q(matter__number__icontains=data["q"]) | Q(matter__title__icontains=data["q"]))
    qs = (qs.select_related("matter", "unit", "notice", "recorded_by")
          .annotate(open_first=Case(When(status=EscalationStep.Status.DUE, then=Value(0)), default=Value(1),
                                    output_field=IntegerField()))
          .order_by("open_first", "-due_on", "-id"))
    page_obj = paginate(request, qs)
    rows = [{"step": s, "tier_label": labels.get(s.tier, s.tier),
             "can_record": user.role == Role.SUPERVISION_STAFF and s.status == EscalationStep.Status.DUE,
             "can_reply": can_reply(user, s)} for s in page_obj]
    return render(request, T + "step_list.html", {
        "form": form, "rows": rows, "page_obj": page_obj, "query": query_without_page(request),
        "due_count": access.visible_steps(user).filter(status=EscalationStep.Status.DUE).count(),
    })


@page
@require_safe
def step_detail(request, step_id: int):
    step = access.access_step(request.user, step_id)
    return render(request, T + "step_detail.html", step_view_context(request.user, step, county_pack()))


def _record_context(request, step, pack, form, skip_form):
    ctx = step_view_context(request.user, step, pack)
    ctx.update({"form": form, "skip_form": skip_form})
    return ctx


@page
@require_http_methods(["GET", "HEAD", "POST"])
def step_record(request, step_id: int):
    """The evidence form of a due step: its fields are the county's pack's for the step's tier."""
    user, pack = request.user, county_pack()
    step = access.access_step(user, step_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以记录督办措施。"))
    tier = pack.tier(step.tier)
    if tier is None:
        raise Http404("the county's pack has no such tier")
    if step.status != EscalationStep.Status.DUE:
        messages.info(request, _("该督办措施已是“%(status)s”状态。") % {"status": step.get_status_display()})
        return redirect("supervision:step_detail", step_id=step.pk)
    units = Unit.objects.filter(is_active=True).order_by("kind", "code")
    skip_form = forms.ReasonForm(prefix="skip") if tier.skippable else None
    if request.method != "POST":
        form = forms.EvidenceForm(tier, units=units)
        return render(request, T + "step_record.html", _record_context(request, step, pack, form, skip_form))
    form = forms.EvidenceForm(tier, request.POST, request.FILES, units=units)
    return act_on_form(
        request, form,
        lambda data: do_record_step_with_evidence(step.pk, actor=user, evidence=form.evidence(), uploads=form.uploads(),
                                                  on=data["on"]),
        field_for=forms.EvidenceForm.field_for, done=_("已记录%(tier)s。") % {"tier": tier.label.get(language())},
        success=lambda _step: redirect("supervision:step_detail", step_id=step.pk),
        again=lambda bound: render(request, T + "step_record.html",
                                   _record_context(request, step, pack, bound, skip_form), status=400))


@page
@require_POST
def step_skip(request, step_id: int):
    """Pass over a due step whose tier the county's pack marks skippable, with the reason."""
    user, pack = request.user, county_pack()
    step = access.access_step(user, step_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以跳过督办措施。"))
    tier = pack.tier(step.tier)

    def again(skip_form):
        if tier is None or step.status != EscalationStep.Status.DUE:
            return render(request, T + "step_detail.html", step_view_context(user, step, pack) | {"skip_form": skip_form},
                          status=400)
        form = forms.EvidenceForm(tier, units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
        return render(request, T + "step_record.html", _record_context(request, step, pack, form, skip_form), status=400)

    return act_on_form(request, forms.ReasonForm(request.POST, prefix="skip"),
                       lambda data: do_skip_step(step.pk, actor=user, reason=data["reason"]),
                       done=_("已跳过该督办措施。"), again=again,
                       success=lambda _step: redirect("supervision:step_detail", step_id=step.pk))


@page
@require_POST
def step_withdraw(request, step_id: int):
    """The office leader withdraws a recorded step as recorded in error, with the reason, where
    the county's pack allows it (a kind of correction that withdraws the step)."""
    user, pack = request.user, county_pack()
    step = access.access_step(user, step_id)
    require_role(user, Role.OFFICE_LEADER, what=_("只有办公室领导可以撤销督办措施。"))
    if withdrawing_kind(pack) is None:
        return refused(request, _("本县规则包不允许撤销督办措施。"))
    return act_on_form(
        request, forms.ReasonForm(request.POST, prefix="withdraw"),
        lambda data: do_withdraw_step(step.pk, actor=user, reason=data["reason"]),
        done=_("已撤销该督办措施，相应扣分已冲正。"),
        success=lambda _step: redirect("supervision:step_detail", step_id=step.pk),
        again=lambda form: render(request, T + "step_detail.html",
                                  step_view_context(user, step, pack) | {"withdraw_form": form}, status=400))


@page
@require_http_methods(["GET", "HEAD", "POST"])
def step_start(request, matter_id: int):
    """Staff start a step on their own initiative (主动督办): first the unit and the tier (a GET
    form), then the tier's evidence form with the reason."""
    user, pack = request.user, county_pack()
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以发起督办措施。"))
    matter = matters_access.access_matter_by_id(user, matter_id)
    links = list(matter.units.select_related("unit").order_by("-role", "id"))
    labels = tier_labels(pack)
    choice = forms.StepChoiceForm(request.GET or None, units=[(link.unit.code, link.unit.name) for link in links],
                                  tiers=list(labels.items()))
    ctx = {"matter": matter, "choice": choice, "under_way": matter.state in supervision_steps.UNDER_WAY,
           "form": None, "tier": None}
    if not ctx["under_way"] or not choice.is_valid():
        return render(request, T + "step_start.html", ctx, status=400 if request.method == "POST" else 200)
    link = next(link for link in links if link.unit.code == choice.cleaned_data["unit"])
    tier = pack.tier(choice.cleaned_data["tier"])
    if tier not in supervision_steps.startable_tiers(matter, link.unit, pack):
        following = pack.tiers[supervision_steps.next_tier_index(matter, link.unit)]
        choice.add_error("tier", _("督办须逐级进行：%(unit)s下一级应为“%(tier)s”。")
                         % {"unit": link.unit.name, "tier": following.label.get(language())})
        return render(request, T + "step_start.html", ctx, status=400 if request.method == "POST" else 200)
    ctx.update(tier=tier, tier_label=labels[tier.code], unit=link.unit)
    units = Unit.objects.filter(is_active=True).order_by("kind", "code")
    if request.method != "POST":
        return render(request, T + "step_start.html", ctx | {"form": forms.StepStartForm(tier, units=units)})
    form = forms.StepStartForm(tier, request.POST, request.FILES, units=units)
    return act_on_form(
        request, form,
        lambda data: do_start_step(matter.pk, actor=user, tier=tier.code, unit=link.unit.code, reason=data["reason"],
                                   evidence=form.evidence(), uploads=form.uploads(), on=data["on"]),
        field_for=forms.StepStartForm.field_for, done=_("已记录%(tier)s。") % {"tier": labels[tier.code]},
        success=lambda step: redirect("supervision:step_detail", step_id=step.pk),
        again=lambda bound: render(request, T + "step_start.html", ctx | {"form": bound}, status=400))


@page
@require_http_methods(["GET", "HEAD", "POST"])
def step_reply(request, step_id: int):
    """The unit's dedicated written reply (专题答复) to a supervision notice."""
    user, pack = request.user, county_pack()
    step = access.access_step(user, step_id)
    ctx = step_view_context(user, step, pack)
    if request.method != "POST":
        ctx["form"] = forms.ReplyForm() if ctx["can_reply"] else None
        return render(request, T + "step_reply.html", ctx)
    require_role(user, Role.UNIT_STAFF, what=_("专题答复由承办单位人员填写。"))
    return act_on_form(
        request, forms.ReplyForm(request.POST), lambda data: do_record_reply(step.pk, actor=user, text=data["text"]),
        done=_("专题答复已提交。"), success=lambda _step: redirect("supervision:step_reply", step_id=step.pk),
        again=lambda form: render(request, T + "step_reply.html", ctx | {"form": form}, status=400))


@page
@require_safe
def step_notice(request, step_id: int):
    """The step's 《督查督办通知单》 (printed once, then the same document)."""
    step = access.access_step(request.user, step_id)
    return document_file(request, lambda: supervision_documents.supervision_notice_document(step, actor=request.user),
                         missing="this step issued no notice")
