"""Health endpoints (every host) and the plain landing pages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from duban.celery import app
from duban.ops.models import Heartbeat
from tenants.models import County

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # any failure means not ready
        logger.warning("readiness: database unreachable: %s", exc)
        return False, exc.__class__.__name__


def check_broker() -> tuple[bool, str]:
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        logger.warning("readiness: broker unreachable: %s", exc)
        return False, exc.__class__.__name__


@never_cache
def readyz(request):
    """The database and the broker are reachable (503 otherwise, naming what failed)."""
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "checks": {"database": db_detail, "broker": broker_detail},
    }
    tenant = getattr(request, "tenant", None)
    if db_ok and getattr(tenant, "pk", None) is not None:
        last = Heartbeat.objects.order_by("-received_at").values_list("received_at", flat=True).first()
        body["county"] = tenant.slug
        body["last_worker_heartbeat_seconds"] = (
            None if last is None else round((timezone.now() - last).total_seconds(), 1))
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)


def county_home(request):
    return render(request, "duban/county_home.html", {"county": request.tenant})


def public_home(request):
    counties = County.objects.select_related("city").order_by("city__code", "slug")
    return render(request, "duban/public_home.html", {
        "counties": counties, "base_domain": settings.DUBAN_BASE_DOMAIN})
