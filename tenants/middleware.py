"""Host-based routing: the base domain is the public site, ``<slug>.<base>`` is a county.

An unknown host gets 404; a suspended county's host gets a page saying so (HTTP 403) while its
data stays untouched. Health endpoints answer on every known host, suspended or not.
The host → county lookup is cached per process (``tenants.cache``): a warm request makes no
query for it; a change to a County or Domain row is seen by the process that made it at its next
request, and by the others within seconds (see that module for how).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import Http404, HttpResponseNotFound
from django.template.response import TemplateResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, remove_www

from tenants import cache as tenant_cache
from tenants.models import County, Domain

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


class PublicSite:
    """Stands for the public schema on the base domain (there is no County row for it)."""

    schema_name = get_public_schema_name()
    slug = None
    pk = None
    name = "督办平台"
    domain_url = None

    def get_tenant_type(self):  # pragma: no cover — single-type tenancy
        return None


class CountyMiddleware(TenantMainMiddleware):
    TENANT_NOT_FOUND_EXCEPTION = Http404

    def process_request(self, request):
        connection.set_schema_to_public()
        try:
            hostname = remove_www(request.get_host().split(":")[0]).lower()
        except DisallowedHost:
            return HttpResponseNotFound("Unknown host")

        if hostname == settings.DUBAN_BASE_DOMAIN:
            request.tenant = PublicSite()
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            from django.urls import set_urlconf

            set_urlconf(request.urlconf)
            return None

        county = self.lookup(hostname)
        if county is None:
            return HttpResponseNotFound("Unknown host")
        county.domain_url = hostname
        request.tenant = county
        if county.status == County.Status.SUSPENDED and request.path not in HEALTH_PATHS:
            return self.suspended(request, county)
        connection.set_tenant(county)
        self.setup_url_routing(request)
        return None

    @staticmethod
    def lookup(hostname: str) -> County | None:
        """The county of ``hostname``; warm, from the per-process cache without a query
        (``tenants.cache``: invalidated by County/Domain signals, a generation token, a TTL)."""
        return tenant_cache.lookup(hostname, CountyMiddleware.lookup_in_database)

    @staticmethod
    def lookup_in_database(hostname: str) -> County | None:
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        return domain.tenant if domain else None

    @staticmethod
    def suspended(request, county: County):
        response = TemplateResponse(request, "duban/suspended.html", {"county": county}, status=403)
        response["Cache-Control"] = "no-store"
        return response.render()
