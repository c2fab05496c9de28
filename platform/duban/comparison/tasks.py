"""Comparison snapshots on Celery: an incremental refresh per county (queued on commit by
``signals``) and a nightly full refresh fanned out one task per county, once per slot."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from duban.core.beat import claim_slot, current_slot
from duban.tasks import CountyTask, PlatformTask


@shared_task(base=PlatformTask, name="duban.comparison.fan_out_refresh")
def fan_out_refresh() -> int:
    from tenants.models import County

    slot = current_slot(settings.DUBAN_COMPARISON_REFRESH_SECONDS)
    if not claim_slot("comparison-refresh", slot):
        return 0
    sent = 0
    for county in County.objects.filter(status=County.Status.ACTIVE).only("id", "schema_name", "slug"):
        with tenant_context(county):
            refresh_county_task.apply_async(kwargs={"kind": "full"})
        sent += 1
    return sent


@shared_task(base=CountyTask, name="duban.comparison.refresh_county")
def refresh_county_task(kind: str = "incremental") -> int:
    """Recompute this county's snapshots (idempotent: an upsert per period)."""
    from duban.comparison.refresh import refresh_county
    from duban.comparison.signals import debounce_key

    county = connection.tenant
    cache.delete(debounce_key(county.schema_name))
    return refresh_county(county, kind=kind)
