"""Incremental refresh: after a commit that wrote a matter, a ledger entry or a ladder step in a
county, one refresh task of that county is queued — debounced, so a burst of writes (one action
saves several rows; a sweep saves hundreds) costs one refresh ``DUBAN_COMPARISON_DEBOUNCE_SECONDS``
later."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, tenant_context

from duban.comparison.tasks import debounce_key, refresh_county_task

logger = logging.getLogger(__name__)


def county_data_changed(sender, instance=None, raw=False, **kwargs) -> None:
    if raw:
        return
    tenant = getattr(connection, "tenant", None)
    schema = connection.schema_name
    if schema == get_public_schema_name() or getattr(tenant, "pk", None) is None:
        return
    transaction.on_commit(lambda: schedule_refresh(tenant))


def schedule_refresh(county) -> bool:
    """Queue one refresh of ``county`` unless one is already pending; True if queued."""
    delay = settings.DUBAN_COMPARISON_DEBOUNCE_SECONDS
    if not cache.add(debounce_key(county.schema_name), 1, timeout=delay + 5):
        return False
    try:
        with tenant_context(county):
            refresh_county_task.apply_async(countdown=delay)
    except Exception:  # any failure to queue: a broker outage must not fail the action; nightly catches up
        cache.delete(debounce_key(county.schema_name))
        logger.exception("comparison: could not queue a refresh of %s", county.schema_name)
        return False
    return True
