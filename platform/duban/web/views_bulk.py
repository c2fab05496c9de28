"""Bulk actions on the lists (批量办理): the same thing done to many rows at once.

* 批量交办 — assign a batch of approved matters from the plan (督办计划) or the list: each row its
  lead and co-operating units (proposed units first), the requirements and deadline shared.
* 批量电话督办 — urge several overdue matters by phone (电话、口头督办, the ladder's first tier):
  each row the call's evidence the county's pack asks for (the same form as one step's page).

The selection comes from the list's checkboxes (``?matter=<id>&matter=…``, a GET: nothing is
written); the form shows one row per selected matter, and rows that cannot be done are shown
with the reason instead of inputs. Posting runs **each row through the existing action** —
``do_assign_matter``, or ``do_record_step_with_evidence`` for a step the sweep opened and
``do_record_manual_step`` otherwise — each in its own transaction and audited on its matter, and
answers with every row's outcome: done, or refused and why. A refused row does not undo the
others (one clerk's batch of separate acts, not an all-or-nothing import).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_pack
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.matters import access, actions
from duban.matters.models import Matter, MatterUnit
from duban.matters.states import State
from duban.supervision import steps as supervision_steps
from duban.supervision.access import visible_steps
from duban.supervision.actions import do_record_manual_step, do_record_step_with_evidence
from duban.supervision.models import EscalationStep
from duban.web import forms_matters as mf
from duban.web import forms_supervision as sf
from duban.web.shortcuts import language, page, require_role

MAX_ROWS = 100  # one screen of work; a longer batch is split by the list's pages
URGE_TIER = "phone"  # 四(一) 电话、口头督办: the first tier of the ladder


# --- what was selected -----------------------------------------------------------------------------
def _selected(request) -> list[Matter]:
    values = request.POST.getlist("matter") if request.method == "POST" else request.GET.getlist("matter")
    ids = list(dict.fromkeys(int(v) for v in values if v.isdigit()))[:MAX_ROWS]
    matters = {m.pk: m for m in access.visible_matters(request.user).filter(pk__in=ids)
               .select_related("proposed_by").prefetch_related("proposed_units", "units__unit")}
    return [matters[pk] for pk in ids if pk in matters]  # in the order ticked; others' ids are simply not there


@dataclass
class Row:
    """One selected row: its matter (and unit, step), its inputs, or why it cannot be done; after
    the post, what happened."""

    matter: Matter
    form: forms.Form | None = None
    unit_name: str = ""
    step: EscalationStep | None = None
    refusal: str = ""
    done: bool = False
    outcome: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"m{self.matter.pk}" + (f"s{self.step.pk}" if self.step else "")


def _date_text(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _outcome_of(exc: Exception) -> str:
    if isinstance(exc, Invalid):
        return mf.error_text(str(exc))
    if isinstance(exc, NotAllowed):
        return gettext("您的角色不能办理此事项。")
    if isinstance(exc, NotFound):
        return gettext("没有这个事项，或您无权查看。")
    if isinstance(exc, Conflict):
        return gettext("该事项已被他人更新，未办理；请刷新后重试。")
    raise exc


def _render(request, template: str, context: dict, rows: list[Row], status: int = 200):
    posted = any(row.outcome for row in rows)
    return render(request, template, {
        **context, "rows": rows, "posted": posted, "section": "matters",
        "done_count": sum(1 for r in rows if r.done), "refused_count": sum(1 for r in rows if r.outcome and not r.done),
        "pending": [r for r in rows if r.form is not None and not r.done],
        "refusals": [r for r in rows if r.refusal],
        # posted again: the rows still to do and those refused (reported again), never one done
        "batch": list(dict.fromkeys(r.matter.pk for r in rows if not r.done))}, status=status)


# --- 批量交办 -------------------------------------------------------------------------------------------
class AssignRowForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    lead_unit = forms.ChoiceField(label=_("牵头单位"))
    co_units = forms.MultipleChoiceField(label=_("协办单位"), required=False,
                                         widget=forms.SelectMultiple(attrs={"size": 3}))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].choices = [("", gettext("请选择牵头单位")), *units]
        self.fields["co_units"].choices = units


class AssignSharedForm(forms.Form):
    requirements = mf.text_area(_("办理要求"), rows=3)
    deadline = mf.date_field(_("办结日期"), help_text=_("办结日期与工作日数二选一；都不填则按各事项类别的默认工作日数"))
    deadline_working_days = forms.IntegerField(label=_("或：自今日起工作日数"), required=False, min_value=1,
                                               max_value=500)
    feedback_every_working_days = forms.IntegerField(label=_("反馈周期（工作日）"), required=False, min_value=1,
                                                     max_value=60, help_text=_("留空则不定期反馈"))

    def clean(self):
        data = super().clean()
        if data.get("deadline") and data.get("deadline_working_days"):
            self.add_error("deadline", gettext("办结日期与工作日数只填一项"))
        return data


@page
@require_http_methods(["GET", "HEAD", "POST"])
def bulk_assign(request):
    user = request.user
    require_role(user, Role.SUPERVISION_STAFF, what=gettext("只有督查督办人员可以交办事项。"))
    pack = county_pack()
    units = mf.unit_choices()
    posting = request.method == "POST"
    shared = AssignSharedForm(request.POST if posting else None, prefix="all")
    rows = []
    for matter in _selected(request):
        row = Row(matter)
        if matter.state != State.APPROVED:
            row.refusal = gettext("当前为“%(state)s”，只有已立项的事项可以交办。") % {"state": matter.get_state_display()}
        else:
            proposed = [u.code for u in matter.proposed_units.all() if u.is_active]
            initial = {"expected_version": matter.version, "lead_unit": proposed[0] if proposed else "",
                       "co_units": proposed[1:]}
            row.form = AssignRowForm(request.POST if posting else None, units=units, prefix=row.key,
                                     initial=initial)
            category = pack.category(matter.category)
            row.extra["default_days"] = getattr(category, "default_deadline_working_days", None)
        rows.append(row)
    context = {"shared": shared, "title": _("批量交办"), "kind": "assign", "matters_count": len(rows)}
    if not posting:
        return _render(request, "web/matters/bulk_assign.html", context, rows)
    shared_ok = shared.is_valid()
    for row in rows:
        if row.form is None:
            row.outcome = row.refusal
            continue
        if not row.form.is_valid() or not shared_ok:
            row.outcome = gettext("请按提示改正后再提交。") if not row.form.is_valid() else gettext("请先填好共同的交办要求。")
            continue
        data, common = row.form.cleaned_data, shared.cleaned_data
        deadline, days = common.get("deadline"), common.get("deadline_working_days")
        if deadline is None and days is None:
            days = row.extra.get("default_days")
        try:
            actions.do_assign_matter(
                row.matter.pk, actor=user, lead_unit=data["lead_unit"], co_units=data["co_units"],
                requirements=common["requirements"], deadline=deadline, deadline_working_days=days,
                feedback_every_working_days=common.get("feedback_every_working_days"),
                expected_version=data["expected_version"])
        except (Invalid, NotAllowed, NotFound, Conflict) as exc:
            row.outcome = _outcome_of(exc)
        else:
            row.matter.refresh_from_db()
            row.done = True
            row.outcome = gettext("已交办，办结时限 %(date)s。") % {"date": _date_text(row.matter.deadline)}
    status = 200 if any(r.done for r in rows) or not rows else 400
    return _render(request, "web/matters/bulk_assign.html", context, rows, status=status)


# --- 批量电话督办 ---------------------------------------------------------------------------------------
def _urge_rows(user, matter: Matter, today) -> list[Row]:
    """One row per unit to urge on ``matter``: each phone step the sweep opened (the lead for the
    result, a co-unit for its part), else the lead unit (a step staff take themselves) — or one
    row saying why it cannot be urged by phone."""
    if matter.state not in supervision_steps.UNDER_WAY:
        return [Row(matter, refusal=gettext("当前为“%(state)s”，不在督办之中。") % {"state": matter.get_state_display()})]
    if not matter.deadline or matter.deadline >= today:
        return [Row(matter, refusal=gettext("未逾期（办结时限 %(date)s），不需电话督办。")
                    % {"date": _date_text(matter.deadline) if matter.deadline else "—"})]
    due = list(visible_steps(user).filter(matter=matter, status=EscalationStep.Status.DUE)
               .select_related("unit").order_by("-tier_index", "id"))
    phone = [step for step in due if step.tier == URGE_TIER]
    if phone:
        return [Row(matter, step=step, unit_name=step.unit.name) for step in phone]
    lead = next((link for link in matter.units.all() if link.role == MatterUnit.Role.LEAD), None)
    if lead is None:
        return [Row(matter, refusal=gettext("没有牵头单位。"))]
    waiting = next((step for step in due if step.unit_id == lead.unit_id), None)
    if waiting is not None:
        tier = county_pack().tier(waiting.tier)
        label = tier.label.get(language()) if tier else waiting.tier
        return [Row(matter, unit_name=lead.unit.name,
                    refusal=gettext("已有待办的“%(tier)s”，请在该事项的督办记录中办理。") % {"tier": label})]
    return [Row(matter, unit_name=lead.unit.name, extra={"unit": lead.unit.code})]


@page
@require_http_methods(["GET", "HEAD", "POST"])
def bulk_urge(request):
    user = request.user
    require_role(user, Role.SUPERVISION_STAFF, what=gettext("只有督查督办人员可以记录督办措施。"))
    pack = county_pack()
    tier = pack.tier(URGE_TIER)
    if tier is None:
        return render(request, "web/refused.html", {"reason": gettext("本县规则包没有电话督办这一级。")}, status=403)
    today = clock.today()
    posting = request.method == "POST"
    rows: list[Row] = []
    for matter in _selected(request):
        rows.extend(_urge_rows(user, matter, today))
    now = clock.now()
    for row in rows:
        if not row.refusal:
            row.form = sf.EvidenceForm(tier, request.POST if posting else None, prefix=row.key,
                                       initial={"on": today, f"{sf.EVIDENCE_PREFIX}contacted_at": now})
    context = {"tier_label": tier.label.get(language()), "title": _("批量电话督办"), "kind": "urge"}
    if not posting:
        return _render(request, "web/matters/bulk_urge.html", context, rows)
    for row in rows:
        if row.form is None:
            row.outcome = row.refusal
            continue
        if not row.form.is_valid():
            row.outcome = gettext("请按提示改正后再提交。")
            continue
        evidence, on = row.form.evidence(), row.form.cleaned_data["on"]
        try:
            if row.step is not None:
                do_record_step_with_evidence(row.step.pk, actor=user, evidence=evidence, uploads=[], on=on)
            else:
                do_record_manual_step(row.matter.pk, actor=user, tier=URGE_TIER, evidence=evidence,
                                      unit=row.extra["unit"], on=on)
        except Invalid as exc:
            target = row.form.field_for(exc.field or "")
            if target and target in row.form.fields:
                row.form.add_error(target, mf.error_text(str(exc)))
            row.outcome = _outcome_of(exc)
        except (NotAllowed, NotFound, Conflict) as exc:
            row.outcome = _outcome_of(exc)
        else:
            row.done = True
            row.outcome = gettext("已记录%(tier)s。") % {"tier": tier.label.get(language())}
    status = 200 if any(r.done for r in rows) or not rows else 400
    return _render(request, "web/matters/bulk_urge.html", context, rows, status=status)
