"""Beat drafts the weekly report: a fan-out in the public schema every
``DUBAN_REPORT_CHECK_SECONDS`` (once per slot, however many beats run), and one task per active
county that drafts the week's report once the county's pack's weekly moment has passed."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from duban.core.beat import fan_out
from duban.reports.weekly import draft_weekly_report
from duban.tasks import CountyTask, PlatformTask

logger = logging.getLogger(__name__)


@shared_task(base=PlatformTask, name="duban.reports.fan_out_weekly_report")
def fan_out_weekly_report() -> int:
    return fan_out("weekly_report", settings.DUBAN_REPORT_CHECK_SECONDS,
                   lambda county: draft_weekly_report_county.delay())


@shared_task(base=CountyTask, name="duban.reports.draft_weekly_report")
def draft_weekly_report_county(on: str | None = None) -> int | None:
    """Draft this county's weekly report if it is due (idempotent: safe to re-deliver).
    ``on``: an ISO date-time to draft as of (replays); default now. Returns the report's id."""
    result = draft_weekly_report(datetime.fromisoformat(on) if on else None, actor="beat")
    if result.created:
        logger.info("weekly report #%s drafted (%s–%s)", result.report.pk, result.report.period_start,
                    result.report.period_end)
    return result.report.pk if result.report else None
