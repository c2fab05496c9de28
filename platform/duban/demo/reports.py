"""Demo weekly report: last week's 督查专报, drafted as beat would, edited and submitted by staff,
returned once by the office leader with a reason, edited again and issued after review.

Called by `duban seed_demo` after the demo matters and supervision data exist; made through the
real actions (the issue numbers it, prints its PDF document and notifies the leaders)."""

from __future__ import annotations

from datetime import timedelta

from duban.accounts.models import Role, User
from duban.core import clock
from duban.reports.actions import do_edit_weekly_report, do_issue_weekly_report, do_return_weekly_report, do_submit_weekly_report
from duban.reports.models import WeeklyReport
from duban.reports.weekly import county_zone, draft_weekly_report, weekly_moment


def seed_weekly_report() -> WeeklyReport | None:
    if WeeklyReport.objects.exists():
        return None
    staff = User.objects.filter(role=Role.SUPERVISION_STAFF, is_active=True).order_by("id").first()
    office = User.objects.filter(role=Role.OFFICE_LEADER, is_active=True).order_by("id").first()
    if staff is None or office is None:
        return None
    zone = county_zone()
    now = clock.now().astimezone(zone)
    moment = weekly_moment(now.date(), zone=zone)
    if moment > now:  # this week's moment is still to come: last week's report
        moment = weekly_moment(now.date() - timedelta(days=7), zone=zone)
    report = draft_weekly_report(moment + timedelta(minutes=1), actor="seed_demo").report
    do_submit_weekly_report(report.pk, actor=staff)
    do_return_weekly_report(report.pk, actor=office, reason="请补充提请领导关注的事项。")
    report = do_edit_weekly_report(
        report.pk, actor=staff, note="按审核意见补充提请领导关注事项",
        attention="建议对连续逾期、已约谈仍未整改的单位，由分管县领导召开专题会议研究解决。")
    do_submit_weekly_report(report.pk, actor=staff)
    return do_issue_weekly_report(report.pk, actor=office)
