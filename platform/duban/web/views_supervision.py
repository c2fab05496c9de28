"""Pages of supervision: escalation steps, scores and statements, the ledger, circulars, the weekly
report, documents, the rule pack in plain words and the inbox.

Thin views (house style): a form parses the input, an action function of the area decides and
writes; records are read through the access helpers, so "missing" and "not yours" are the same
404. An action's ``Invalid`` re-renders the form with the message under its field (400),
``NotAllowed`` is a 403 page, ``Conflict`` a 409 re-render.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal
from functools import wraps
from urllib.parse import quote, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import FileResponse, Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from duban.accounts.models import Role
from duban.core import clock
from duban.core.actions import action_scope
from duban.core.county import county_pack
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.documents import service as documents
from duban.documents.access import access_document_by_id, visible_documents
from duban.documents.models import Document
from duban.matters.actions import do_attach_file
from duban.notifications.actions import do_mark_read, do_set_preferences
from duban.notifications.channels import available_channels
from duban.notifications.events import EVENTS
from duban.notifications.models import Notification, Preference
from duban.reports import documents as report_documents
from duban.reports import weekly
from duban.reports.access import access_weekly_report, visible_weekly_reports
from duban.reports.actions import do_edit_weekly_report, do_issue_weekly_report, do_return_weekly_report, do_submit_weekly_report
from duban.reports.annual import annual_assessment
from duban.reports.models import WeeklyReport
from duban.scoring.texts import counting_text
from duban.supervision import access, circulars, inspection, ledger
from duban.supervision import documents as supervision_documents
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_reply,
    do_record_step,
    do_reverse_entry,
    do_set_circular_lists,
    do_skip_step,
)
from duban.supervision.models import Circular, EscalationStep, LedgerEntry
from duban.supervision.queries import on_time_by_month, steps_by_tier
from duban.units.models import Unit
from duban.web import forms_supervision as forms

T = "web/supervision/"
PAGE_SIZE = 50
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- plumbing ------------------------------------------------------------------------------------
def page(view):
    """Login required; the areas' refusals become pages: not found → 404, not allowed → 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("not found") from None
        except NotAllowed as exc:
            return denied(request, exc)
        except Conflict as exc:
            return render(request, T + "denied.html", {"reason": str(exc), "conflict": True}, status=409)

    return login_required(wrapper)


def denied(request, exc=None):
    return render(request, T + "denied.html", {"reason": str(exc) if exc else ""}, status=403)


def require_role(user, *roles, what: str):
    if getattr(user, "role", None) not in roles:
        raise NotAllowed(what)


def language() -> str:
    return translation.get_language() or "zh-hans"


def add_error(form, exc: Invalid, field: str | None):
    """Put an action's message under the form field it names (or above the form)."""
    form.add_error(field if field in form.fields else None, str(exc))


def paginate(request, qs, size=PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def safe_back(request, url: str) -> str:
    """``url`` when it is a path on this host (never another site), else ""."""
    if url.startswith("/") and not url.startswith("//") and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return ""


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def tier_labels(pack) -> dict[str, str]:
    return {tier.code: tier.label.get(language()) for tier in pack.tiers}


def event_labels(pack) -> dict[str, str]:
    return {rule.code: rule.label.get(language()) for rule in pack.schedule.events}


# --- downloads -----------------------------------------------------------------------------------
SAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download(data: bytes, filename: str, fmt: str, *, fallback: str, inline: bool = False) -> FileResponse:
    """A file with its content type and a Chinese file name (RFC 6266: an ASCII ``filename`` for
    old clients, ``filename*=UTF-8''…`` for everyone else)."""
    filename = SAFE_NAME.sub("_", filename).strip() or fallback
    response = FileResponse(io.BytesIO(data), content_type=CONTENT_TYPES[fmt])
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = (f'{disposition}; filename="{fallback}"; '
                                       f"filename*=UTF-8''{quote(filename, safe='')}")
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    if inline:  # the document page previews it in a frame of its own origin
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def document_filename(document: Document, fmt: str) -> str:
    stem = f"{document.number} {document.title}" if document.number and document.number not in document.title \
        else document.title
    return f"{stem}.{fmt}"


def document_download(document: Document, fmt: str, *, inline: bool = False):
    if fmt == "pdf":
        data = documents.pdf_bytes(document)
    elif fmt == "docx" and documents.has_word(document.kind):
        data = documents.docx_bytes(document)
    elif fmt == "xlsx" and document.kind == "annual_assessment":
        data = documents.xlsx_bytes(document)
    else:
        raise Http404("no such format")
    return download(data, document_filename(document, fmt), fmt,
                    fallback=f"{document.kind}-{document.year}-{document.seq}.{fmt}", inline=inline)


def formats_of(document: Document) -> list[tuple[str, str]]:
    out = [("pdf", "PDF")]
    if documents.has_word(document.kind):
        out.append(("docx", "Word"))
    if document.kind == "annual_assessment":
        out.append(("xlsx", "Excel"))
    return out


def kind_label(kind: str) -> str:
    from duban.documents.texts import document_text

    try:
        return document_text(kind).title
    except Exception:  # noqa: BLE001 — a kind the county's current pack no longer has
        return kind


# --- escalation steps ------------------------------------------------------------------------------
def access_step(user, step_id) -> EscalationStep:
    step = (access.visible_steps(user).select_related("matter", "unit", "notice", "recorded_by", "reply_by")
            .filter(pk=step_id).first())
    if step is None:
        raise NotFound(f"no step {step_id}")
    return step


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
    return {
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
    step = access_step(request.user, step_id)
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
    step = access_step(user, step_id)
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
    if form.is_valid():
        try:
            with action_scope():  # the files and the step: all or nothing
                evidence = form.evidence()
                for code, upload in form.uploads():
                    try:
                        attachment = do_attach_file(step.matter_id, actor=user, upload=upload)
                    except Invalid as exc:
                        raise Invalid(str(exc), field=f"evidence.{code}") from None
                    evidence[code] = f"{attachment.original_name}（{_('附件')}{attachment.pk}）"
                do_record_step(step.pk, actor=user, evidence=evidence, on=form.cleaned_data["on"])
        except Invalid as exc:
            add_error(form, exc, form.field_for(exc.field))
        else:
            messages.success(request, _("已记录%(tier)s。") % {"tier": tier.label.get(language())})
            return redirect("supervision:step_detail", step_id=step.pk)
    return render(request, T + "step_record.html", _record_context(request, step, pack, form, skip_form), status=400)


@page
@require_POST
def step_skip(request, step_id: int):
    user, pack = request.user, county_pack()
    step = access_step(user, step_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以越过督办措施。"))
    tier = pack.tier(step.tier)
    skip_form = forms.ReasonForm(request.POST, prefix="skip")
    if skip_form.is_valid():
        try:
            do_skip_step(step.pk, actor=user, reason=skip_form.cleaned_data["reason"])
        except Invalid as exc:
            add_error(skip_form, exc, exc.field)
        else:
            messages.success(request, _("已越过该督办措施。"))
            return redirect("supervision:step_detail", step_id=step.pk)
    if tier is None or step.status != EscalationStep.Status.DUE:
        return render(request, T + "step_detail.html", step_view_context(user, step, pack) | {"skip_form": skip_form},
                      status=400)
    form = forms.EvidenceForm(tier, units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    return render(request, T + "step_record.html", _record_context(request, step, pack, form, skip_form), status=400)


@page
@require_http_methods(["GET", "HEAD", "POST"])
def step_reply(request, step_id: int):
    """The unit's dedicated written reply (专题答复) to a supervision notice."""
    user, pack = request.user, county_pack()
    step = access_step(user, step_id)
    ctx = step_view_context(user, step, pack)
    if request.method != "POST":
        ctx["form"] = forms.ReplyForm() if ctx["can_reply"] else None
        return render(request, T + "step_reply.html", ctx)
    require_role(user, Role.UNIT_STAFF, what=_("专题答复由承办单位人员填写。"))
    form = forms.ReplyForm(request.POST)
    if form.is_valid():
        try:
            do_record_reply(step.pk, actor=user, text=form.cleaned_data["text"])
        except Invalid as exc:
            add_error(form, exc, exc.field)
        else:
            messages.success(request, _("专题答复已提交。"))
            return redirect("supervision:step_reply", step_id=step.pk)
    ctx["form"] = form
    return render(request, T + "step_reply.html", ctx, status=400)


@page
@require_safe
def step_notice(request, step_id: int):
    """The step's 《督查督办通知单》 (printed once, then the same document)."""
    step = access_step(request.user, step_id)
    try:
        document = supervision_documents.supervision_notice_document(step, actor=request.user)
    except Invalid:
        raise Http404("this step issued no notice") from None
    return redirect(f"/documents/{document.pk}/download/?format={request.GET.get('format', 'pdf')}")


# --- scores --------------------------------------------------------------------------------------
def years_for(qs) -> list[int]:
    years = set(qs.values_list("year", flat=True).distinct())
    years.add(clock.today().year)
    return sorted(years, reverse=True)


def rank(rows: list[dict]) -> list[dict]:
    """Best score first; equal scores share a rank (1, 2, 2, 4)."""
    rows.sort(key=lambda r: (-r["score"], r["deducted"] * -1, r["kind"], r["code"]))
    previous, position = None, 0
    for index, row in enumerate(rows, start=1):
        if row["score"] != previous:
            position, previous = index, row["score"]
        row["rank"] = position
    return rows


@page
@require_safe
def scores(request):
    """Ranking of units for a year with each one's deductions by type, and two charts."""
    user, pack = request.user, county_pack()
    year = forms.YearForm(request.GET or None).chosen_year()
    units = access.statement_units(user)
    allowed = set(units.values_list("code", flat=True))
    assessment = annual_assessment(year)
    columns = [c for c in assessment.columns
               if c.amount is not None or any(r.deductions.get(c.code) for r in assessment.rows)]
    labels = event_labels(pack)
    rows = []
    for row in assessment.rows:
        if row.unit_code not in allowed:
            continue
        rows.append({"code": row.unit_code, "name": row.unit_name, "kind": row.kind_label, "score": row.score,
                     "deducted": row.total,
                     "deductions": [row.deductions.get(c.code) or Decimal(0) for c in columns]})
    tiers = steps_by_tier(units, year, tier_labels(pack))
    months = on_time_by_month(units, year)
    return render(request, T + "scores.html", {
        "year": year, "years": years_for(access.visible_ledger(user)), "base": assessment.base,
        "floor": assessment.floor,
        "columns": [(c.code, labels.get(c.code, c.label), counting_text(pack.schedule.rule(c.code))
                     if pack.schedule.rule(c.code) else "") for c in columns],
        "rows": rank(rows), "tiers": tiers, "months": months,
        "tier_chart": {"labels": [t["label"] for t in tiers], "counts": [t["count"] for t in tiers],
                       "title": _("各级督办措施次数"), "series": _("次数")},
        "rate_chart": {"labels": [m["label"] for m in months], "closed": [m["closed"] for m in months],
                       "rates": [m["rate"] for m in months], "title": _("按期办结率"),
                       "closed_label": _("办结件数"), "rate_label": _("按期办结率（%）")},
        "can_export": user.role in access.SCORE_READERS,
        "single_unit": user.role == Role.UNIT_STAFF,
    })


def access_statement_unit(user, code: str) -> Unit:
    unit = access.statement_units(user).filter(code=code).first()
    if unit is None:
        raise NotFound(f"no unit {code!r}")
    return unit


@page
@require_safe
def statement(request, code: str):
    """A unit's statement: base, every entry with running totals, final score."""
    user, pack = request.user, county_pack()
    unit = access_statement_unit(user, code)
    year = forms.YearForm(request.GET or None).chosen_year()
    base, lines, final = ledger.statement(unit, year)
    labels = event_labels(pack)
    reversed_ids = set(LedgerEntry.objects.filter(unit=unit, year=year, reverses__isnull=False)
                       .values_list("reverses_id", flat=True))
    return render(request, T + "statement.html", {
        "unit": unit, "year": year, "base": base, "final": final,
        "years": years_for(access.visible_ledger(user).filter(unit=unit)),
        "lines": [{"line": line, "entry": line.entry, "label": labels.get(line.entry.event_code, line.entry.event_code),
                   "is_reversal": line.entry.reverses_id is not None, "reversed": line.entry.pk in reversed_ids}
                  for line in lines],
        "deducted": base - final, "floor": pack.schedule.floor,
        "can_reverse": user.role == Role.OFFICE_LEADER,
    })


@page
@require_safe
def annual_table(request, fmt: str):
    """The annual assessment table (年度考评) of a year as Excel or PDF."""
    year = forms.YearForm(request.GET or None).chosen_year()
    try:
        document = report_documents.annual_assessment_document(year, actor=request.user)
    except Invalid as exc:
        raise Http404(str(exc)) from None
    return document_download(document, fmt)


# --- the ledger ----------------------------------------------------------------------------------
def _ledger_page(request, *, errors=None, typed=None, status=200):
    user, pack = request.user, county_pack()
    labels = event_labels(pack)
    qs = access.visible_ledger(user)
    units = Unit.objects.filter(pk__in=qs.values("unit_id")).order_by("kind", "code")
    back = request.get_full_path()
    params = request.GET
    if request.method == "POST":  # re-rendered after a refused reversal: the list the leader was on
        back = safe_back(request, request.POST.get("next", "")) or "/ledger/"
        params = QueryDict(urlsplit(back).query)
    form = forms.LedgerFilterForm({k: params.get(k, "") for k in ("year", "unit", "event")},
                                  units=units, events=list(labels.items()))
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("year"):
            qs, filters["year"] = qs.filter(year=data["year"]), data["year"]
        if data.get("unit"):
            qs, filters["unit"] = qs.filter(unit__code=data["unit"]), data["unit"]
        if data.get("event"):
            qs, filters["event"] = qs.filter(event_code=data["event"]), data["event"]
    qs = qs.select_related("unit", "matter", "created_by", "reverses").order_by("-occurred_on", "-id")
    page_obj = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    shown = {e.pk for e in page_obj}
    alert = next((message for pk, message in (errors or {}).items() if pk not in shown), "")
    reversed_ids = set(LedgerEntry.objects.filter(reverses__in=shown)
                       .values_list("reverses_id", flat=True))
    can_reverse = user.role == Role.OFFICE_LEADER
    def basis(entry) -> str:
        # The regulation's clause and how the rule counts — not the pack's internal id.
        rule = pack.schedule.rule(entry.rule_code)
        return f"{rule.clause} {counting_text(rule)}".strip() if rule else ""

    rows = [{"entry": e, "label": labels.get(e.event_code, e.event_code), "reversed": e.pk in reversed_ids,
             "basis": basis(e),
             "reversible": can_reverse and e.reverses_id is None and e.pk not in reversed_ids,
             "error": (errors or {}).get(e.pk), "typed": (typed or {}).get(e.pk, "")} for e in page_obj]
    return render(request, T + "ledger.html", {
        "form": form, "rows": rows, "page_obj": page_obj, "can_reverse": can_reverse,
        "reversal_kinds": [(k.code, k.label.get(language())) for k in pack.schedule.reversal_kinds],
        "query": urlencode(filters), "pager_base": "/ledger/", "back": back, "alert": alert,
    }, status=status)


@page
@require_safe
def ledger_list(request):
    return _ledger_page(request)


@page
@require_POST
def ledger_reverse(request, entry_id: int):
    """Reverse an entry (冲正): the office leader, with a reason."""
    user = request.user
    entry = access.visible_ledger(user).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"no ledger entry {entry_id}")
    form = forms.ReasonForm(request.POST)
    typed = request.POST.get("reason", "")
    if not form.is_valid():
        require_role(user, Role.OFFICE_LEADER, what=_("只有办公室领导可以冲正扣分。"))
        return _ledger_page(request, errors={entry.pk: form.errors["reason"][0]}, typed={entry.pk: typed}, status=400)
    try:
        reversal = do_reverse_entry(entry.pk, actor=user, reason=form.cleaned_data["reason"],
                                           kind=request.POST.get("kind") or None)
    except Invalid as exc:
        return _ledger_page(request, errors={entry.pk: str(exc)}, typed={entry.pk: typed}, status=400)
    messages.success(request, _("已冲正：%(unit)s %(amount)s分。") % {"unit": entry.unit.name, "amount": entry.amount})
    back = safe_back(request, request.POST.get("next", ""))
    if back:
        return HttpResponseRedirect(back)
    return redirect(f"/ledger/?{urlencode({'year': reversal.year, 'unit': entry.unit.code})}")


# --- circulars -----------------------------------------------------------------------------------
def access_circular(user, circular_id) -> Circular:
    circular = (access.visible_circulars(user).select_related("notice", "drafted_by", "published_by")
                .prefetch_related("praised", "criticised", "named").filter(pk=circular_id).first())
    if circular is None:
        raise NotFound(f"no circular {circular_id}")
    return circular


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
        raise NotFound(f"no inspection round {round_id}")
    items = (access.visible_inspection_items(user).filter(round=round_).select_related("matter", "unit", "inspected_by")
             .order_by("unit__kind", "unit__code", "matter__number"))
    return render(request, T + "inspection_detail.html", {
        "round": round_, "items": items,
        "summary": round_.summary if round_.reported_at else inspection.round_summary(round_),
    })


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
    form = forms.CircularDraftForm(request.POST)
    if form.is_valid():
        try:
            circular = do_draft_circular(actor=user, **form.cleaned_data)
        except Invalid as exc:
            add_error(form, exc, exc.field)
        else:
            messages.success(request, _("通报草稿已生成，请确定表扬和批评单位。"))
            return redirect("supervision:circular_detail", circular_id=circular.pk)
    return render(request, T + "circular_new.html", {"form": form}, status=400)


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
    return _circular_page(request, access_circular(request.user, circular_id))


@page
@require_POST
def circular_lists(request, circular_id: int):
    user = request.user
    circular = access_circular(user, circular_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以编辑通报。"))
    form = forms.CircularListsForm(request.POST, units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    if form.is_valid():
        try:
            do_set_circular_lists(circular.pk, actor=user, **form.cleaned_data)
        except Invalid as exc:
            add_error(form, exc, exc.field)
        else:
            messages.success(request, _("已保存。"))
            return redirect("supervision:circular_detail", circular_id=circular.pk)
    return _circular_page(request, circular, lists_form=form, status=400)


@page
@require_POST
def circular_publish(request, circular_id: int):
    user = request.user
    circular = access_circular(user, circular_id)
    try:
        published = do_publish_circular(circular.pk, actor=user)
    except Invalid as exc:
        messages.error(request, str(exc))
        return _circular_page(request, access_circular(user, circular_id), status=400)
    messages.success(request, _("通报已发布：%(number)s。") % {"number": published.notice.number})
    return redirect("supervision:circular_detail", circular_id=circular.pk)


@page
@require_safe
def circular_document(request, circular_id: int):
    circular = access_circular(request.user, circular_id)
    try:
        document = supervision_documents.circular_document(circular, actor=request.user)
    except Invalid:
        raise Http404("a draft circular has no document yet") from None
    return redirect(f"/documents/{document.pk}/download/?format={request.GET.get('format', 'pdf')}")


# --- the weekly report ---------------------------------------------------------------------------
@page
@require_safe
def weekly_list(request):
    user = request.user
    qs = visible_weekly_reports(user).order_by("-week_of")
    return render(request, T + "weekly_list.html", {
        "page_obj": paginate(request, qs), "can_draft": user.role == Role.SUPERVISION_STAFF,
        "due_at": weekly.weekly_moment(clock.today()),
    })


@page
@require_POST
def weekly_draft(request):
    """Draft this week's report now (beat does it at the pack's weekly time; the same report)."""
    user = request.user
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以起草督查专报。"))
    drafted = weekly.draft_weekly_report(actor=user)
    if drafted.report is None:
        messages.info(request, _("本周专报将于%(when)s后生成。")
                      % {"when": timezone.localtime(drafted.due_at).strftime("%Y-%m-%d %H:%M")})
        return redirect("supervision:weekly_list")
    return redirect("supervision:weekly_detail", report_id=drafted.report.pk)


def _weekly_page(request, report, *, form=None, status=200, conflict=False, return_form=None, issue_error=""):
    user = request.user
    can_edit = report.status == WeeklyReport.Status.DRAFT and user.role == Role.SUPERVISION_STAFF
    if can_edit and form is None:
        form = forms.WeeklyReportForm(initial={
            "summary": report.summary, "attention": report.attention, "version": report.version,
            "named_units": [u.code for u in report.named_units.all()]},
            units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    sections = report.sections or {}
    submitted = report.status == WeeklyReport.Status.SUBMITTED
    return render(request, T + "weekly_detail.html", {
        "report": report, "form": form if can_edit else None, "can_edit": can_edit, "s": sections,
        "can_submit": can_edit, "can_review": submitted and user.role == Role.OFFICE_LEADER,
        "return_form": return_form or forms.WeeklyReturnForm(initial={"version": report.version}),
        "issue_error": issue_error, "due_at": weekly.weekly_moment(report.period_end),
        "reviews": report.reviews.select_related("reviewed_by").order_by("-id"),
        "totals": sections.get("totals", {}), "conflict": conflict,
        "named": list(report.named_units.order_by("kind", "code")),
        "document": report.documents.first() if report.status == WeeklyReport.Status.ISSUED else None,
        "revisions": report.revisions.select_related("edited_by").order_by("-seq")[:10],
    }, status=status)


@page
@require_http_methods(["GET", "HEAD", "POST"])
def weekly_detail(request, report_id: int):
    """The editor of a draft (supervision staff) and the reading page of an issued report."""
    user = request.user
    report = access_weekly_report(user, report_id)
    if request.method != "POST":
        return _weekly_page(request, report)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以编辑督查专报。"))
    form = forms.WeeklyReportForm(request.POST, units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    if form.is_valid():
        data = form.cleaned_data
        try:
            do_edit_weekly_report(report.pk, actor=user, summary=data["summary"], attention=data["attention"],
                                         named_units=data["named_units"], note=data["note"],
                                         expected_version=data["version"])
        except Invalid as exc:
            add_error(form, exc, exc.field)
        except Conflict:
            form.add_error(None, _("专报已被他人修改，请刷新页面后重试。"))
            return _weekly_page(request, access_weekly_report(user, report_id), form=form, status=409, conflict=True)
        else:
            messages.success(request, _("已保存。"))
            return redirect("supervision:weekly_detail", report_id=report.pk)
    return _weekly_page(request, report, form=form, status=400)


def _version(request):
    version_form = forms.VersionForm(request.POST)
    return version_form.cleaned_data["version"] if version_form.is_valid() else None


@page
@require_POST
def weekly_submit(request, report_id: int):
    """Staff submit the draft for the office leader's review (一(二))."""
    user = request.user
    report = access_weekly_report(user, report_id)
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以报送督查专报。"))
    try:
        do_submit_weekly_report(report.pk, actor=user, expected_version=_version(request))
    except Conflict:
        return _weekly_issue_error(request, report, _("专报已被他人修改，请刷新页面后重试。"), None, 409)
    except Invalid as exc:
        return _weekly_issue_error(request, report, str(exc), exc.field, 400)
    messages.success(request, _("已报送办公室领导审核。"))
    return redirect("supervision:weekly_detail", report_id=report.pk)


@page
@require_POST
def weekly_return(request, report_id: int):
    """The office leader returns a submitted report with the reason."""
    user = request.user
    report = access_weekly_report(user, report_id)
    require_role(user, Role.OFFICE_LEADER, what=_("只有办公室领导可以审核督查专报。"))
    form = forms.WeeklyReturnForm(request.POST)
    if form.is_valid():
        try:
            do_return_weekly_report(report.pk, actor=user, reason=form.cleaned_data["reason"],
                                           expected_version=form.cleaned_data["version"])
        except Conflict:
            form.add_error(None, _("专报已被他人修改，请刷新页面后重试。"))
            return _weekly_page(request, access_weekly_report(user, report_id), return_form=form, status=409)
        except Invalid as exc:
            add_error(form, exc, exc.field)
        else:
            messages.success(request, _("已退回督查督办人员修改。"))
            return redirect("supervision:weekly_detail", report_id=report.pk)
    return _weekly_page(request, report, return_form=form, status=400)


@page
@require_POST
def weekly_issue(request, report_id: int):
    """The office leader issues a submitted report after review."""
    user = request.user
    report = access_weekly_report(user, report_id)
    require_role(user, Role.OFFICE_LEADER, what=_("只有办公室领导可以审核印发督查专报。"))
    try:
        issued = do_issue_weekly_report(report.pk, actor=user, expected_version=_version(request))
    except Conflict:
        report.refresh_from_db()
        return _weekly_page(request, report, status=409, issue_error=_("专报已被他人修改，请刷新页面后重试。"))
    except Invalid as exc:
        report.refresh_from_db()
        return _weekly_page(request, report, status=400, issue_error=str(exc))
    messages.success(request, _("督查专报已印发：%(number)s。") % {"number": issued.number})
    return redirect("supervision:weekly_detail", report_id=report.pk)


def _weekly_issue_error(request, report, message, field, status):
    """Re-render the editor with the report as saved and the reason it was not issued."""
    report.refresh_from_db()
    form = forms.WeeklyReportForm({"summary": report.summary, "attention": report.attention,
                                   "version": report.version, "note": "",
                                   "named_units": [u.code for u in report.named_units.all()]},
                                  units=Unit.objects.filter(is_active=True).order_by("kind", "code"))
    form.is_valid()
    form.add_error(field if field in form.fields else None, message)
    return _weekly_page(request, report, form=form, status=status, conflict=status == 409)


@page
@require_safe
def weekly_preview(request, report_id: int):
    """The report as PDF: the issued document, or a preview of the draft (not numbered)."""
    report = access_weekly_report(request.user, report_id)
    document = report.documents.first()
    if document is not None:
        return document_download(document, "pdf", inline=True)
    data = documents.preview_pdf(report_documents.weekly_report_content(report, leaders=report_documents.leader_names()))
    return download(data, _("督查专报（草稿）%(start)s至%(end)s.pdf") % {"start": report.period_start,
                                                                    "end": report.period_end},
                    "pdf", fallback=f"weekly-report-draft-{report.pk}.pdf", inline=True)


# --- documents -----------------------------------------------------------------------------------
@page
@require_safe
def document_list(request):
    user = request.user
    qs = visible_documents(user)
    kinds = sorted(set(qs.values_list("kind", flat=True)))
    kind = request.GET.get("kind", "")
    year = request.GET.get("year", "")
    if kind in kinds:
        qs = qs.filter(kind=kind)
    if year.isdigit():
        qs = qs.filter(year=int(year))
    years = sorted(set(visible_documents(user).values_list("year", flat=True)), reverse=True)
    qs = qs.select_related("matter", "unit").order_by("-issued_on", "-id")
    page_obj = paginate(request, qs)
    labels = {k: kind_label(k) for k in kinds}
    return render(request, T + "document_list.html", {
        "page_obj": page_obj, "rows": [{"document": d, "kind_label": labels.get(d.kind, d.kind),
                                        "formats": formats_of(d)} for d in page_obj],
        "kinds": list(labels.items()), "kind": kind, "years": years, "year": year,
        "query": query_without_page(request),
    })


@page
@require_safe
def document_detail(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    return render(request, T + "document_detail.html", {
        "document": document, "kind_label": kind_label(document.kind), "formats": formats_of(document),
        "verify_url": f"/verify/{document.code}/", "pack_source": county_pack().source,
    })


@page
@require_safe
def document_file(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    fmt = request.GET.get("format", "pdf")
    if fmt not in CONTENT_TYPES:
        raise Http404("unknown format")
    return document_download(document, fmt, inline=request.GET.get("inline") == "1" and fmt == "pdf")


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


# --- notifications -------------------------------------------------------------------------------
@page
@require_safe
def notification_list(request):
    user = request.user
    qs = Notification.objects.filter(recipient=user).select_related("matter").order_by("-id")
    unread_only = request.GET.get("unread") in ("1", "true")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page_obj = paginate(request, qs, 30)
    return render(request, T + "notification_list.html", {
        "page_obj": page_obj, "unread_only": unread_only, "events": EVENTS,
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
        "rows": [{"note": n, "event_label": EVENTS.get(n.event, n.event)} for n in page_obj],
    })


@page
@require_POST
def notification_read(request):
    """Mark one (``id``), some or all (no ``id``) of my notifications read."""
    user = request.user
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    marked = do_mark_read(user, ids or None)
    if is_htmx(request) and len(ids) == 1:
        note = Notification.objects.filter(recipient=user, pk=ids[0]).select_related("matter").first()
        if note is None:
            raise Http404("no such notification")
        return render(request, T + "_notification_row.html",
                      {"row": {"note": note, "event_label": EVENTS.get(note.event, note.event)}})
    if not ids:
        messages.success(request, _("已将%(n)d条通知标为已读。") % {"n": marked})
    return redirect("supervision:notification_list")


@page
@require_safe
def notification_open(request, notification_id: int):
    """Open a notification's page, marking it read."""
    note = Notification.objects.filter(recipient=request.user, pk=notification_id).first()
    if note is None:
        raise Http404("no such notification")
    do_mark_read(request.user, [note.pk])
    url = safe_back(request, note.url or "")
    if url:
        return HttpResponseRedirect(url)
    return redirect("supervision:notification_list")


def _current_preferences(user) -> dict:
    return {(p.event, p.channel): p.enabled for p in Preference.objects.filter(user=user)}


@page
@require_http_methods(["GET", "HEAD", "POST"])
def notification_preferences(request):
    user = request.user
    channels = available_channels()
    current = _current_preferences(user)
    form = forms.PreferencesForm(request.POST if request.method == "POST" else None, events=EVENTS,
                                 channels=channels, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            do_set_preferences(user, form.changes(current))
        except Invalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已保存。"))
            return redirect("supervision:notification_preferences")
        return render(request, T + "notification_preferences.html", {"form": form, "channels": channels},
                      status=400)
    return render(request, T + "notification_preferences.html", {"form": form, "channels": channels})

