"""`duban migrate_schemas`: django-tenants' command, plus the template schema and progress.

Order: the public schema (shared apps), then the template schema that new counties are cloned
from, then every county — with a progress bar and ETA, skipping counties that have nothing to
migrate, and a summary at the end — then the spare schemas waiting to become counties
(tenants.spares), which are kept current like any county's. ``--executor multiprocessing`` and ``--schema`` behave as in
django-tenants.
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import get_public_schema_name, get_tenant_model

from duban.core import dbowner, schemas
from duban.core.connections import bounded
from duban.core.progress import progress_bar
from tenants import spares


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        dbowner.use_owner_connection()  # migrations are DDL: the owner role's (DUBAN_OWNER_DATABASE_URL)
        # Parse the options exactly as django-tenants does.
        super(MigrateSchemasCommand, self).handle(*args, **options)
        public = get_public_schema_name()
        if self.sync_public and not self.schema_name:
            self.schema_name = public
        if self.executor or options.get("app_label") or options.get("migration_name"):
            # Anything unusual: django-tenants' own behaviour, then the template.
            super().handle(*args, **options)
            if self.sync_tenant and self.schema_name in (None, public):
                schemas.ensure_schema(schemas.template_schema())  # a fresh database has none yet
                self._migrate(schemas.template_schema(), args, options)
                self._migrate_spares(args, options)
            return

        started = time.monotonic()
        if self.sync_public:
            self._migrate(public, args, options)
        if not self.sync_tenant:
            return
        if self.schema_name and self.schema_name != public:
            if self.schema_name != schemas.template_schema() and not schemas.schema_exists(self.schema_name):
                raise CommandError(_("数据库中没有“%(schema)s”这个模式。") % {"schema": self.schema_name})
            schemas.ensure_schema(self.schema_name)
            self._migrate(self.schema_name, args, options)
            return

        schemas.ensure_schema(schemas.template_schema())
        self._migrate(schemas.template_schema(), args, options)
        counties = list(get_tenant_model().objects.exclude(schema_name=public)
                        .order_by("schema_name").values_list("schema_name", flat=True))
        nodes = schemas.all_migration_nodes()
        migrated = skipped = 0
        quiet = dict(options, verbosity=0)
        with progress_bar("迁移各县 migrating counties", total=len(counties),
                          enabled=options.get("verbosity", 1) >= 1) as advance:
            for schema in bounded(counties):
                if schemas.pending_migrations(schema, nodes):
                    self._migrate(schema, args, quiet)
                    migrated += 1
                else:
                    skipped += 1
                advance()
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(
                _("共 %(counties)d 个县：迁移 %(migrated)d 个，%(skipped)d 个已是最新（用时 %(seconds).1f 秒）")
                % {"counties": len(counties), "migrated": migrated, "skipped": skipped,
                   "seconds": time.monotonic() - started})
        self._migrate_spares(args, options)

    def _migrate_spares(self, args, options):
        names = [name for name in spares.spare_names() if schemas.schema_exists(name)]
        nodes = schemas.all_migration_nodes()
        migrated = 0
        for schema in names:
            if schemas.pending_migrations(schema, nodes):
                self._migrate(schema, args, dict(options, verbosity=0))
                migrated += 1
        if names and options.get("verbosity", 1) >= 1:
            self.stdout.write(_("备用模式 %(spares)d 个：迁移 %(migrated)d 个，%(skipped)d 个已是最新")
                              % {"spares": len(names), "migrated": migrated, "skipped": len(names) - migrated})
        # Every deploy runs this as the owner: the moment to bring the pool back to its size.
        if spares.pool_size() and spares.owns_template():
            done = spares.refill(actor="migrate_schemas")
            if (done.created or done.dropped) and options.get("verbosity", 1) >= 1:
                self.stdout.write(done.summary())

    def _migrate(self, schema, args, options):
        run_migrations(self.args, options, "standard", schema)
