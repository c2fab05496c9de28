"""django-tenants' DatabaseWrapper, remembering which schemas this connection has used (and
listing a schema's tables without walking every county's: .introspection).

A PostgreSQL backend caches the catalogue of every schema it touches (≈ 212 kB per county) for
as long as it lives; :func:`duban.core.connections.release_if_spread` closes a connection that
has served more than ``DATABASE_CONN_MAX_SCHEMAS`` of them, so that no backend grows without
bound when one process serves thousands of counties.
"""

from __future__ import annotations

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_public_schema_name

from duban.core.dbbackend.introspection import DatabaseIntrospection


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self.schemas_visited: set[str] = set()
        super().__init__(*args, **kwargs)
        self.introspection = DatabaseIntrospection(self)

    def _cursor(self, name=None):
        cursor = super()._cursor(name=name)
        if self.schema_name != get_public_schema_name():  # every connection uses public; it is one
            self.schemas_visited.add(self.schema_name)
        return cursor

    def close(self):
        super().close()
        if self.connection is None:  # a new backend remembers nothing
            self.schemas_visited = set()
