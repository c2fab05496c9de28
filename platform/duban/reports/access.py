"""Who may read which weekly reports: missing and not yours are the same answer (404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core.errors import NotFound
from duban.matters.access import ALL_MATTERS_ROLES
from duban.reports.models import WeeklyReport


def visible_weekly_reports(user) -> QuerySet[WeeklyReport]:
    """Office roles see every report, drafts too; county leaders the issued ones; unit staff the
    issued ones that name their unit (as for the reports' documents)."""
    qs = WeeklyReport.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    issued = qs.filter(status=WeeklyReport.Status.ISSUED)
    if user.role == Role.COUNTY_LEADER:
        return issued
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return issued.filter(named_units=user.unit_id).distinct()
    return qs.none()


def access_weekly_report(user, report_id) -> WeeklyReport:
    report = visible_weekly_reports(user).filter(pk=report_id).prefetch_related("named_units").first()
    if report is None:
        raise NotFound(_("没有找到该期《督查专报》。"))
    return report
