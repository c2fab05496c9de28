"""Keeping periodic work single even when two beats (or a re-delivery) send the same job."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from duban.core.models import PeriodicRun
from tenants.models import County


def current_slot(period_seconds: int, now: datetime | None = None) -> datetime:
    """The start of the ``period_seconds``-long time slot containing ``now`` (UTC aligned)."""
    now = now or timezone.now()
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=UTC)


def claim_slot(job: str, slot: datetime) -> bool:
    """True for the first caller of (job, slot) across all processes; False for every other."""
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(job=job, slot=slot)
    except IntegrityError:
        return False
    return True


def fan_out(job: str, period_seconds: int, send) -> int:
    """Beat's fan-out: once per ``period_seconds`` slot (however many beats run), call
    ``send(county)`` inside each active county's schema — ``send`` queues that county's task,
    whose message then carries the schema. Returns how many counties were sent to."""
    if not claim_slot(job, current_slot(period_seconds)):
        return 0
    sent = 0
    for county in County.objects.filter(status=County.Status.ACTIVE).only("id", "schema_name", "slug"):
        with tenant_context(county):
            send(county)
        sent += 1
    return sent
