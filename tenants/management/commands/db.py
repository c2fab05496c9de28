"""`duban db grant-app-role [ROLE]`: give the app role (DATABASE_URL's user) its privileges.

Run as the owner role (DUBAN_OWNER_DATABASE_URL) after every `duban migrate_schemas`; the chart's
migrations Job does. See tenants.dbroles and docs/operations.md ("Database roles")."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.core import dbowner
from tenants import dbroles


class Command(BaseCommand):
    help = "Database roles: `grant-app-role [ROLE]` gives the app role exactly its privileges (idempotent)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{grant-app-role}")
        grant = sub.add_parser(
            "grant-app-role",
            help="grant ROLE (default: DATABASE_URL's user when DUBAN_OWNER_DATABASE_URL is set) what the app "
                 "needs: DML on every table, only SELECT and INSERT on the append-only ones; and the owner's "
                 "default privileges for schemas and tables created later")
        grant.add_argument("role", nargs="?", default=None, help="the app role's name")

    def handle(self, *args, **options):
        return getattr(self, f"do_{options['action'].replace('-', '_')}")(options)

    def do_grant_app_role(self, options):
        role = options["role"] or dbowner.app_role_name()
        if not role:
            raise CommandError(_("请指定应用角色（duban db grant-app-role 角色名），或同时设置 DATABASE_URL（应用角色）"
                                 "和 DUBAN_OWNER_DATABASE_URL（属主角色）。"))
        dbowner.use_owner_connection()  # granting is the owner's business
        try:
            result = dbroles.grant_app_role(role, actor="cli")
        except dbroles.RoleError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(
                _("已为应用角色 %(role)s 授权：%(schemas)d 个 schema、%(tables)d 张表；其中 %(frozen)d 张只许追加的表"
                  "仅授予 SELECT 和 INSERT。") % {"role": result.role, "schemas": len(result.schemas),
                                                "tables": result.tables, "frozen": len(result.append_only)}))
