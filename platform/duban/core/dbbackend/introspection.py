"""django-tenants' schema introspection, with a table list that does not walk every county.

Django lists a schema's tables with ``pg_table_is_visible(oid)`` over the whole ``pg_class``:
with thousands of county schemas that is 1.2 million calls (0.3–0.8 s at 2,844 counties) each
time a migration run asks which tables exist — four times per county, so an additive migration
over every county grew with the square of their number. ``pg_class`` has no index on the
namespace, but ``pg_depend`` has one on the referenced object, and PostgreSQL records every
table's, view's and materialised view's dependency on its schema: following it costs a few
milliseconds, whatever the number of counties (8 ms against 284 ms measured at 2,844). The list
is the same — django-tenants' own version sets the search path to the connection's schema alone,
so "visible" meant exactly "in that schema" (tests/test_scaling_constraints.py compares them).
"""

from __future__ import annotations

from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection


class DatabaseIntrospection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor):
        cursor.execute("""
            SELECT c.relname,
                   CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END,
                   obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
            WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass
              AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %s)
              AND d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND d.deptype = 'n'
              AND c.relnamespace = d.refobjid AND c.relkind IN ('f', 'm', 'p', 'r', 'v')""",
                       [self.connection.schema_name])
        return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]
