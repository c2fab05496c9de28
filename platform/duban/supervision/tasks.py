"""Periodic supervision work: beat fans out one sweep per active county, once per slot."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from duban.core.beat import fan_out
from duban.supervision.inspection import open_inspection_if_due, report_inspection_if_due
from duban.supervision.reminders import send_reminders
from duban.supervision.steps import sweep
from duban.tasks import CountyTask, PlatformTask

logger = logging.getLogger(__name__)


@shared_task(base=PlatformTask, name="duban.supervision.fan_out_sweep")
def fan_out_sweep() -> int:
    return fan_out("sweep", settings.DUBAN_SWEEP_SECONDS, lambda county: sweep_county.delay())


@shared_task(base=CountyTask, name="duban.supervision.sweep_county")
def sweep_county() -> int:
    """Open the due ladder steps of this county (idempotent: safe to re-deliver)."""
    opened = sweep()
    open_inspection_if_due()  # the quarter's inspection round, once its window has begun (五(一))
    report_inspection_if_due()  # and its results to the county leaders once the window has closed
    send_reminders()  # receipts, feedback and lights (each person once per reminder)
    if opened:
        logger.info("sweep opened %d step(s)", len(opened))
    return len(opened)
