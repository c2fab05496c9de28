"""Sentry: started only when SENTRY_DSN is set; every event carries the county it concerns."""

from __future__ import annotations

import logging

import sentry_sdk
from django.db import connection
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

logger = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz")


def current_county_slug() -> str:
    """The slug of the county whose schema the default connection is set to, or 'public'."""
    tenant = getattr(connection, "tenant", None)
    slug = getattr(tenant, "slug", None)
    if slug:
        return slug
    return getattr(connection, "schema_name", None) or "public"


def tag_event_with_county(event: dict, hint: dict | None = None) -> dict:
    """A Sentry ``before_send`` hook: adds the ``county`` tag to every event."""
    tags = event.setdefault("tags", {})
    if isinstance(tags, dict) and "county" not in tags:
        try:
            tags["county"] = current_county_slug()
        except Exception:  # never lose an event over its tag
            tags["county"] = "unknown"
    return event


def traces_sampler(rate: float):
    def sample(context: dict) -> float:
        wsgi = context.get("wsgi_environ") or {}
        if wsgi.get("PATH_INFO") in HEALTH_PATHS:
            return min(rate, 0.001)  # probes are frequent and uninteresting
        return rate

    return sample


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=tag_event_with_county,
        before_send_transaction=tag_event_with_county,
        traces_sampler=traces_sampler(traces_sample_rate),
        # A matter's text is government business: no request bodies, no local variables of
        # stack frames (where a matter's content would sit) leave the installation.
        max_request_body_size="never",
        include_local_variables=False,
    )
    logger.info("Sentry enabled (environment %s)", environment)
