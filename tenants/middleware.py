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
from django.urls import set_urlconf
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
        # No reset to the public schema first: the lookup names the public tables itself, so a
        # request sends one SET search_path (its county's), even when its host is not cached.
        try:
            hostname = remove_www(request.get_host().split(":")[0]).lower()
        except DisallowedHost:
            connection.set_schema_to_public()
            return HttpResponseNotFound("Unknown host")

        if hostname == settings.DUBAN_BASE_DOMAIN:
            request.tenant = PublicSite()
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None

        county = self.lookup(hostname)
        if county is None:
            connection.set_schema_to_public()  # lazy: a SET only if something queries
            return HttpResponseNotFound("Unknown host")
        county.domain_url = hostname
        request.tenant = county
        if county.status == County.Status.SUSPENDED and request.path not in HEALTH_PATHS:
            connection.set_schema_to_public()
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
        """One query naming the public schema's tables, so it runs whatever schema the
        connection is on (the previous request's county): no SET search_path of its own."""
        qn = connection.ops.quote_name
        public = qn(get_public_schema_name())
        fields = County._meta.concrete_fields
        sql = (f"SELECT {', '.join('c.' + qn(f.column) for f in fields)}"
               f" FROM {public}.{qn(County._meta.db_table)} c"
               f" JOIN {public}.{qn(Domain._meta.db_table)} d"
               f" ON d.{qn(Domain._meta.get_field('tenant').column)} = c.{qn(County._meta.pk.column)}"
               f" WHERE d.{qn(Domain._meta.get_field('domain').column)} = %s LIMIT 1")
        with connection.cursor() as cursor:
            cursor.execute(sql, [hostname])
            row = cursor.fetchone()
        return County.from_db(connection.alias, [f.attname for f in fields], row) if row else None

    @staticmethod
    def suspended(request, county: County):
        response = TemplateResponse(request, "duban/suspended.html", {"county": county}, status=403)
        response["Cache-Control"] = "no-store"
        return response.render()
