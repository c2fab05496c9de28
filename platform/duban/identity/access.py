"""Reading a county's single sign-on configuration (on the county's host only: the public schema
has no such table)."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name

from duban.identity.models import SsoProvider


def county_provider() -> SsoProvider | None:
    """The county's provider, configured or not (None on the public host and where none is set)."""
    if connection.schema_name == get_public_schema_name():
        return None
    return SsoProvider.objects.prefetch_related("mappings__unit").first()


def active_provider() -> SsoProvider | None:
    """The county's provider when single sign-on is switched on."""
    provider = county_provider()
    return provider if provider is not None and provider.enabled else None


def password_login_allowed(user) -> bool:
    """Whether ``user`` may sign in with a password here: always, unless the county's single sign-on
    is on and closes password logins — and even then for county admins, the escape hatch when the
    provider is down or misconfigured (docs/identity.md)."""
    provider = active_provider()
    if provider is None or provider.password_login:
        return True
    return getattr(user, "role", None) == "county_admin"
