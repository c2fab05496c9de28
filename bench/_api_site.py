"""bench/api.py's additions to the product, loaded only by its gunicorn servers (bench/ on PYTHONPATH).

* ``urlpatterns``: the county URLs plus ``/bench/bare/``, a bare Django JSON view of the same
  100 matters the API lists (one ``values()`` query, ``JsonResponse``; no DRF, no auth) — the
  baseline the API is compared with.
* ``FixedCountyMiddleware``: replaces ``tenants.middleware.CountyMiddleware`` in the "without
  tenant routing" server: the county (``BENCH_COUNTY``) is fetched once, and every request just
  gets ``connection.set_tenant(county)`` — what the routing middleware does minus the host parsing
  and lookup, so that the two servers differ only by the cost of routing.
"""

from __future__ import annotations

import os

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from duban.urls import urlpatterns as county_urlpatterns

BARE_FIELDS = ("id", "number", "title", "category", "state", "time_sensitive", "source_reference",
               "proposed_by__username", "proposed_at", "requested_deadline", "assigned_on", "deadline",
               "deadline_working_days", "deadline_provisional", "feedback_due_on", "redo_count", "closed_at",
               "version")


def bare_matters(request):
    from duban.matters.models import Matter

    rows = list(Matter.objects.order_by("-id").values(*BARE_FIELDS)[:100])
    return JsonResponse({"count": len(rows), "results": rows}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [path("bench/bare/", bare_matters), *county_urlpatterns]


class FixedCountyMiddleware:
    """Sets one county's schema on every request, with no host routing (benchmark only)."""

    def __init__(self, get_response):
        from tenants.models import County

        self.get_response = get_response
        connection.set_schema_to_public()
        self.county = County.objects.get(slug=os.environ["BENCH_COUNTY"])
        self.county.domain_url = f"{self.county.slug}.localhost"

    def __call__(self, request):
        request.tenant = self.county
        connection.set_tenant(self.county)
        return self.get_response(request)
