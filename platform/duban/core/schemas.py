"""Schema bookkeeping shared by migrations, provisioning and the benchmarks."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name, schema_exists


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


@functools.cache
def all_migration_nodes() -> frozenset[tuple[str, str]]:
    """Every migration Django knows of, as (app_label, name). Migration files do not change
    while a process runs, so this is read from disk once per process."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    """Migrations recorded as applied in ``schema`` (empty if it has no django_migrations)."""
    table = f'"{schema}".django_migrations'
    with connection.cursor() as cursor:
        # to_regclass looks the name up by index; information_schema.tables scans the catalogue
        # of every county (≈ 0.1 s each at 2,844 counties, which a no-op migrate pays per county).
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cursor.fetchone()[0]:
            return set()
        cursor.execute(f"SELECT app, name FROM {table}")
        return {(app, name) for app, name in cursor.fetchall()}


def pending_migrations(schema: str, nodes: frozenset[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    nodes = all_migration_nodes() if nodes is None else nodes
    return nodes - applied_migrations(schema)


def ensure_template_current() -> None:
    """Migrate the template schema first if migrations were added since it was last migrated."""
    template = template_schema()
    if schema_exists(template) and not pending_migrations(template):
        return
    call_command("migrate_schemas", schema_name=template, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def ensure_schema(schema: str) -> bool:
    """Create ``schema`` if it is missing. True if it was created."""
    if schema == get_public_schema_name() or schema_exists(schema):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    return True
