"""Comparison snapshots on Celery: an incremental refresh per county (queued on commit by
``signals``, debounced by a cache key) and a nightly full refresh fanned out one task per
county, once per slot."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from duban.comparison.refresh import refresh_county
from duban.core.beat import fan_out
from duban.tasks import CountyTask, PlatformTask


def debounce_key(schema: str) -> str:
    """The cache key that says a refresh of the county ``schema`` is already queued."""
    return f"comparison:refresh-pending:{schema}"


@shared_task(base=PlatformTask, name="duban.comparison.fan_out_refresh")
def fan_out_refresh() -> int:
    return fan_out("comparison-refresh", settings.DUBAN_COMPARISON_REFRESH_SECONDS,
                   lambda county: refresh_county_task.apply_async(kwargs={"kind": "full"}))


@shared_task(base=CountyTask, name="duban.comparison.refresh_county")
def refresh_county_task(kind: str = "incremental") -> int:
    """Recompute this county's snapshots (idempotent: an upsert per period)."""
    county = connection.tenant
    cache.delete(debounce_key(county.schema_name))
    return refresh_county(county, kind=kind)
