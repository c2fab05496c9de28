"""Task base classes. Every Duban task names the schema it may run in.

tenant-schemas-celery puts the sender's schema in each message and switches to it before the
task runs. But when the schema has no county row its switch fails only in a signal handler,
which Celery logs and ignores: the task would then run in ``public``. ``CountyTask`` closes that
hole: it refuses to run unless the connection is on the county the message was sent for.
"""

from __future__ import annotations

import sentry_sdk
from django.db import connection
from django_tenants.utils import get_public_schema_name
from tenant_schemas_celery.task import TenantTask


class CountyNotFound(RuntimeError):
    """A county task arrived for a schema that is not a county."""


class WrongSchema(RuntimeError):
    """A task would have run in a schema other than the one it requires."""


def message_schema(task) -> str | None:
    request = task.request
    headers = getattr(request, "headers", None) or {}
    return headers.get("_schema_name") or request.get("_schema_name")


class CountyTask(TenantTask):
    """A task that runs inside one county's schema, and nowhere else."""

    abstract = True

    def __call__(self, *args, **kwargs):
        wanted = message_schema(self)
        current = connection.schema_name
        tenant = getattr(connection, "tenant", None)
        if not wanted or wanted == get_public_schema_name():
            raise CountyNotFound(
                f"task {self.name} needs a county but was sent without one "
                f"(send it inside tenant_context(county))")
        if current != wanted or getattr(tenant, "pk", None) is None:
            raise CountyNotFound(
                f"task {self.name} was sent for schema {wanted!r}, which is not a county; "
                f"refusing to run it in {current!r}")
        _tag_sentry(getattr(tenant, "slug", wanted))
        return super().__call__(*args, **kwargs)


class PlatformTask(TenantTask):
    """A task of the platform itself (fan-out, provisioning): runs in the public schema."""

    abstract = True

    def __call__(self, *args, **kwargs):
        wanted = message_schema(self)
        public = get_public_schema_name()
        if wanted not in (None, public) or connection.schema_name != public:
            raise WrongSchema(
                f"platform task {self.name} must be sent from the public schema, "
                f"not from {wanted or connection.schema_name!r}")
        _tag_sentry("public")
        return super().__call__(*args, **kwargs)


def _tag_sentry(county: str) -> None:
    sentry_sdk.set_tag("county", county)
