"""Keeping periodic work single even when two beats (or a re-delivery) send the same job."""

from __future__ import annotations

from datetime import datetime, timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.utils import timezone


def current_slot(period_seconds: int, now: datetime | None = None) -> datetime:
    """The start of the ``period_seconds``-long time slot containing ``now`` (UTC aligned)."""
    now = now or timezone.now()
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=dt_timezone.utc)


def claim_slot(job: str, slot: datetime) -> bool:
    """True for the first caller of (job, slot) across all processes; False for every other."""
    from duban.core.models import PeriodicRun

    try:
        with transaction.atomic():
            PeriodicRun.objects.create(job=job, slot=slot)
    except IntegrityError:
        return False
    return True
