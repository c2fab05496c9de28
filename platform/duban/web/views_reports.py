"""The weekly 督查专报: the list, drafting, the editor, submitting, returning, issuing and the
preview.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from duban.accounts.models import Role
from duban.core import clock
from duban.core.errors import Conflict
from duban.documents import service as documents
from duban.reports import documents as report_documents
from duban.reports import weekly
from duban.reports.access import access_weekly_report, visible_weekly_reports
from duban.reports.actions import (
    do_draft_weekly_report,
    do_edit_weekly_report,
    do_issue_weekly_report,
    do_return_weekly_report,
    do_submit_weekly_report,
)
from duban.reports.models import WeeklyReport
from duban.units.models import Unit
from duban.web import forms_supervision as forms
from duban.web.shortcuts import (
    act_on_form,
    download,
    page,
    paginate,
    require_role,
)
from duban.web.views_documents import document_download

T = "web/supervision/"


# --- the weekly report ---------------------------------------------------------------------------
@page
@require_safe
def weekly_list(request):
    user = request.user
    qs = visible_weekly_reports(user).order_by("-week_of")
    today = clock.today()
    return render(request, T + "weekly_list.html", {
        "page_obj": paginate(request, qs), "can_draft": user.role == Role.SUPERVISION_STAFF,
        "due_at": weekly.weekly_moment(today), "this_week": qs.filter(week_of=weekly.week_of(today)).exists(),
    })


@page
@require_POST
def weekly_draft(request):
    """Draft this week's report now, on any day (beat does it at the pack's weekly time; the same
    report): staff edit and preview it at once; it is issued after the office leader's review and
    not before the week's moment (reports.actions.do_issue_weekly_report)."""
    user = request.user
    require_role(user, Role.SUPERVISION_STAFF, what=_("只有督查督办人员可以起草督查专报。"))
    drafted = do_draft_weekly_report(actor=user)
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


def _units():
    return Unit.objects.filter(is_active=True).order_by("kind", "code")


def _report_step(request, report_id: int, *, role, refusal, form, call, done, failed):
    """The one shape of the report's writes (edit, submit, return, issue): the report fetched
    through access, the role checked, ``form`` parsed and the action called with it
    (``call(report, data)``); done → the message ``done`` and back to the report. A ``Conflict``
    (changed meanwhile) → ``failed(report as now saved, form, "changed meanwhile", 409)``; the
    action's ``Invalid`` under its field (shortcuts.act_on_form) → ``failed(report, form, None, 400)``."""
    user = request.user
    report = access_weekly_report(user, report_id)
    require_role(user, role, what=refusal)
    try:
        return act_on_form(request, form, lambda data: call(report, data), done=done,
                           success=lambda _result: redirect("supervision:weekly_detail", report_id=report.pk),
                           again=lambda bound: failed(report, bound, None, 400))
    except Conflict:
        return failed(access_weekly_report(user, report_id), form, _("专报已被他人修改，请刷新页面后重试。"), 409)


@page
@require_http_methods(["GET", "HEAD", "POST"])
def weekly_detail(request, report_id: int):
    """The editor of a draft (supervision staff) and the reading page of an issued report."""
    user = request.user
    if request.method != "POST":
        return _weekly_page(request, access_weekly_report(user, report_id))

    def edit(report, data):
        return do_edit_weekly_report(report.pk, actor=user, summary=data["summary"], attention=data["attention"],
                                     named_units=data["named_units"], note=data["note"],
                                     expected_version=data["version"])

    def failed(report, form, message, status):
        if message:
            form.add_error(None, message)
        return _weekly_page(request, report, form=form, status=status, conflict=status == 409)

    return _report_step(request, report_id, role=Role.SUPERVISION_STAFF, refusal=_("只有督查督办人员可以编辑督查专报。"),
                        form=forms.WeeklyReportForm(request.POST, units=_units()), call=edit, done=_("已保存。"),
                        failed=failed)


@page
@require_POST
def weekly_submit(request, report_id: int):
    """Staff submit the draft for the office leader's review (一(二))."""
    def failed(report, form, message, status):
        invalid = getattr(form, "invalid", None)
        return _weekly_issue_error(request, report, message or _form_message(form),
                                   invalid.field if invalid is not None else None, status)

    return _report_step(
        request, report_id, role=Role.SUPERVISION_STAFF, refusal=_("只有督查督办人员可以报送督查专报。"),
        form=forms.VersionForm(request.POST), done=_("已报送办公室领导审核。"), failed=failed,
        call=lambda report, data: do_submit_weekly_report(report.pk, actor=request.user,
                                                          expected_version=data["version"]))


@page
@require_POST
def weekly_return(request, report_id: int):
    """The office leader returns a submitted report with the reason."""
    def failed(report, form, message, status):
        if message:
            form.add_error(None, message)
        return _weekly_page(request, report, return_form=form, status=status)

    return _report_step(
        request, report_id, role=Role.OFFICE_LEADER, refusal=_("只有办公室领导可以审核督查专报。"),
        form=forms.WeeklyReturnForm(request.POST), done=_("已退回督查督办人员修改。"), failed=failed,
        call=lambda report, data: do_return_weekly_report(report.pk, actor=request.user, reason=data["reason"],
                                                          expected_version=data["version"]))


@page
@require_POST
def weekly_issue(request, report_id: int):
    """The office leader issues a submitted report after review."""
    def failed(report, form, message, status):
        report.refresh_from_db()
        return _weekly_page(request, report, status=status, issue_error=message or _form_message(form))

    return _report_step(
        request, report_id, role=Role.OFFICE_LEADER, refusal=_("只有办公室领导可以审核印发督查专报。"),
        form=forms.VersionForm(request.POST), failed=failed,
        done=lambda issued: _("督查专报已印发：%(number)s。") % {"number": issued.number},
        call=lambda report, data: do_issue_weekly_report(report.pk, actor=request.user,
                                                         expected_version=data["version"]))


def _form_message(form) -> str:
    """The first error of a form that has no field shown (the version form): in words."""
    return next((str(message) for messages_ in form.errors.values() for message in messages_), "")


def _weekly_issue_error(request, report, message, field, status):
    """Re-render the editor with the report as saved and the reason it was not issued."""
    report.refresh_from_db()
    form = forms.WeeklyReportForm({"summary": report.summary, "attention": report.attention,
                                   "version": report.version, "note": "",
                                   "named_units": [u.code for u in report.named_units.all()]},
                                  units=_units())
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
