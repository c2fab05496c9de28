"""Pagination and throttling for the API."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import SimpleRateThrottle

from duban.core.clientip import client_ip


class Pages(PageNumberPagination):
    """``?page=2&page_size=100``: 50 rows by default, at most 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class _Throttle(SimpleRateThrottle):
    """Rates come from ``settings.DUBAN_API_THROTTLE`` when the request arrives (so tests and
    operators can change them), and keys carry the county's schema: user ids repeat from one
    county to the next, and one county's busy integration must not throttle another's."""

    def get_rate(self):
        rate = settings.DUBAN_API_THROTTLE.get(self.scope)
        return None if rate in (None, "", "none", "None", "off") else rate

    def get_ident(self, request):
        """The real client (``DUBAN_TRUSTED_PROXIES``), not DRF's default, which believes
        whatever ``X-Forwarded-For`` a client sends and so lets it rotate past the limit."""
        return client_ip(request)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class UserThrottle(_Throttle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return f"throttle:{connection.schema_name}:user:{request.user.pk}"


class AnonThrottle(_Throttle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:{connection.schema_name}:anon:{self.get_ident(request)}"
