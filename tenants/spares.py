"""Spare schemas: counties' schemas cloned ahead of time, so that creating a county does not wait
for a clone.

Cloning the template is DDL for some two hundred relations, and PostgreSQL's catalogue grows with
every county: at 1,000 counties a clone took 548 ms (median) and 944 ms (p95), and it keeps
growing. The pool keeps ``DUBAN_SPARE_SCHEMAS`` schemas named ``_spare_…`` cloned from the
template (with its privileges), one :class:`~tenants.models.SpareSchema` row each. `duban county
create` takes one (``SELECT … FOR UPDATE SKIP LOCKED``, so two creations never take the same),
checks that it carries exactly the template's migrations, and renames it to the county's schema
(``ALTER SCHEMA … RENAME``: one catalogue row, whatever the number of counties), all in the
county's own transaction — a failed creation gives the spare back.

A spare is made by the role that owns the template (the owner role: its schema then belongs to
the owner, as a cloned county's does, and the app role gets the template's privileges on it) —
never by the app role. So the pool is refilled where the owner's connection is: at the end of
`duban migrate_schemas` (the migrations Job of every deploy), after `duban county create`, by
`duban county spares --fill`, and by beat (``duban.tenants.refill_spares``) only where the
workers connect as the owner (one role for everything: development, the demo, small installs).
`duban migrate_schemas` migrates the spares like any county's schema; a refill drops a spare that
no longer matches the template. An empty pool is not an error: the county is then cloned while
the operator waits, as before.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core import cloning, schemas
from tenants.models import SpareSchema

logger = logging.getLogger(__name__)


class SpareError(Exception):
    """The pool cannot be refilled here; the message says why."""

PREFIX = "_spare_"


def owns_template() -> bool:
    """True if this connection's role owns the template schema (and so may make spares)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = %s",
                       [schemas.template_schema()])
        row = cursor.fetchone()
    return bool(row and row[0])


def pool_size() -> int:
    return settings.DUBAN_SPARE_SCHEMAS


def spare_names() -> list[str]:
    return list(SpareSchema.objects.order_by("id").values_list("schema_name", flat=True))


def matches_template(schema: str, template_migrations: set[tuple[str, str]] | None = None) -> bool:
    """True if ``schema`` exists and records exactly the migrations the template does."""
    if template_migrations is None:
        template_migrations = schemas.applied_migrations(schemas.template_schema())
    applied = schemas.applied_migrations(schema)
    return bool(applied) and applied == template_migrations


def claim(target: str) -> str | None:
    """Rename a current spare to ``target`` and return the spare's name; None if the pool has
    none. Call inside the transaction that creates the county: if it rolls back, the spare is
    back in the pool."""
    if not pool_size():
        return None
    template_migrations = schemas.applied_migrations(schemas.template_schema())
    # One row at a time: FOR UPDATE locks every row a query returns, so fetching several would
    # hold spares a concurrent creation could have taken. Locked rows belong to concurrent
    # creations and are skipped; a stale spare is left for the refill to drop.
    stale: list[int] = []
    while True:
        spare = (SpareSchema.objects.select_for_update(skip_locked=True).exclude(id__in=stale)
                 .order_by("id").first())
        if spare is None:
            return None
        if matches_template(spare.schema_name, template_migrations):
            break
        stale.append(spare.id)
    with connection.cursor() as cursor:
        quote = connection.ops.quote_name
        cursor.execute(f"ALTER SCHEMA {quote(spare.schema_name)} RENAME TO {quote(target)}")
    spare.delete()
    return spare.schema_name


def create_spare() -> str:
    """Clone the template into a new spare schema (with the template's privileges)."""
    name = PREFIX + secrets.token_hex(6)
    with transaction.atomic():
        cloning.clone_schema(schemas.template_schema(), name)
        SpareSchema.objects.create(schema_name=name)
    connection.set_schema_to_public()
    return name


def drop_spare(spare: SpareSchema) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(spare.schema_name)} CASCADE")
        spare.delete()


@dataclass
class Refilled:
    created: list[str]
    dropped: list[str]
    pool: int

    def summary(self) -> str:
        return (_("备用模式：新建 %(created)d 个，删除过时的 %(dropped)d 个，现有 %(pool)d 个。")
                % {"created": len(self.created), "dropped": len(self.dropped), "pool": self.pool})


def refill(target: int | None = None, *, actor="beat") -> Refilled:
    """Bring the pool to ``target`` current spares (default ``DUBAN_SPARE_SCHEMAS``): drop the
    spares that no longer match the template, clone new ones. Audited when it changes anything."""
    target = pool_size() if target is None else target
    connection.set_schema_to_public()
    schemas.ensure_template_current()
    if not owns_template():
        raise SpareError(_("备用模式须由模板的属主角色建立：请以属主角色连接（DUBAN_OWNER_DATABASE_URL）后再补充。"))
    template_migrations = schemas.applied_migrations(schemas.template_schema())
    dropped, created = [], []
    for spare in list(SpareSchema.objects.order_by("id")):
        if not matches_template(spare.schema_name, template_migrations):
            drop_spare(spare)
            dropped.append(spare.schema_name)
    current = SpareSchema.objects.count()
    for _slot in range(max(0, target - current)):
        created.append(create_spare())
    if created or dropped:
        audit.record(actor=actor, action="spares.refill", obj=None, object_type="tenants.spareschema",
                     after={"created": len(created), "dropped": len(dropped), "pool": current + len(created)})
        logger.info("spare schemas: %d created, %d dropped", len(created), len(dropped))
    return Refilled(created=created, dropped=dropped, pool=current + len(created))
