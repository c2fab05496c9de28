"""The app role's privileges: the action behind `duban db grant-app-role`.

Production runs two PostgreSQL roles (docs/operations.md, "Database roles"): the owner, which owns
every schema and table (migrations, county creation, backups and restores run as it, through
DUBAN_OWNER_DATABASE_URL), and the app role (DATABASE_URL of web, worker and beat), which owns
nothing. Only an owner (or a superuser) may ALTER a table — disable its triggers, drop them — and
only a superuser may set ``session_replication_role``; so the app role cannot switch off the
append-only triggers of the ledger, the audit trail and the other registers.

:func:`grant_app_role` gives the app role, in the public schema, the template schema and every
county's schema: USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its tables, USAGE/SELECT on
its sequences — and on the append-only tables (those whose triggers refuse UPDATE and DELETE)
only SELECT and INSERT. Nothing else: no TRUNCATE, REFERENCES or TRIGGER, no CREATE. It also sets
the owner's default privileges, so that schemas and tables the owner creates later are usable by
the app role at once; a new county's schema then gets exactly the template's privileges
(duban.core.cloning.copy_privileges). It is idempotent: every run leaves the same privileges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from duban.audit import log as audit
from duban.core import schemas
from tenants import spares
from tenants.models import County


class RoleError(Exception):
    """The role cannot be made the app role; the message says why (nothing was changed)."""

    def __init__(self, message: str, *, field: str = "role"):
        self.field = field
        super().__init__(message)


@dataclass
class Granted:
    role: str
    schemas: list[str]
    tables: int
    append_only: list[str] = field(default_factory=list)  # "schema.table"


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Tables whose trigger function refuses UPDATE and DELETE (duban.core.sql.append_only and the audit
# trail's audit_event_append_only): the app role may only read and append to them.
_APPEND_ONLY = """
    SELECT DISTINCT c.relname FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE n.nspname = %s AND NOT t.tgisinternal AND p.proname LIKE '%%append\\_only'
    ORDER BY 1"""


def _check_role(cursor, role: str) -> None:
    cursor.execute("SELECT oid, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(_("数据库角色“%(role)s”不存在：请先按运维手册用 CREATE ROLE 建立应用角色。") % {"role": role})
    oid, superuser, bypassrls, createrole = row
    if superuser:
        raise RoleError(_("数据库角色“%(role)s”是超级用户，可以关闭任何触发器，不能作为应用角色。") % {"role": role})
    if createrole:
        raise RoleError(_("数据库角色“%(role)s”有 CREATEROLE 权限，可以给自己授予属主权限，不能作为应用角色。")
                        % {"role": role})
    cursor.execute("SELECT current_user, pg_has_role(%s, current_user, 'MEMBER')", [role])
    owner, member = cursor.fetchone()
    if role == owner:
        raise RoleError(_("“%(role)s”就是当前连接的属主角色：应用角色须是另一个不拥有任何对象的角色。") % {"role": role})
    if member:
        raise RoleError(_("数据库角色“%(role)s”是属主角色“%(owner)s”的成员，继承了它的所有权，不能作为应用角色。")
                        % {"role": role, "owner": owner})
    cursor.execute("""
        SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relowner = %(oid)s
        UNION ALL SELECT nspname FROM pg_namespace WHERE nspowner = %(oid)s
        UNION ALL SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.proowner = %(oid)s
        ORDER BY 1 LIMIT 6""", {"oid": oid})
    owned = [name for (name,) in cursor.fetchall()]
    if owned:
        raise RoleError(_("数据库角色“%(role)s”拥有本数据库中的对象（%(objects)s）：应用角色不得拥有任何对象，"
                          "请先用 REASSIGN OWNED BY 把它们转给属主角色。") % {"role": role, "objects": "、".join(owned)})


def app_schemas() -> list[str]:
    """The public schema, the template and every county's schema that exists."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        existing = {name for (name,) in cursor.fetchall()}
    counties = County.objects.order_by("schema_name").values_list("schema_name", flat=True)
    wanted = [get_public_schema_name(), schemas.template_schema(), *counties, *spares.spare_names()]
    return [name for name in dict.fromkeys(wanted) if name in existing]


def grant_app_role(role: str, *, actor) -> Granted:
    """Give ``role`` exactly the app role's privileges (idempotent; audited in the public schema)."""
    role = (role or "").strip()
    if not role:
        raise RoleError(_("请指定应用角色的名称。"))
    connection.set_schema_to_public()
    r = _qi(role)
    with transaction.atomic():
        with connection.cursor() as cursor:
            _check_role(cursor, role)
            names = app_schemas()
            tables, append_only = 0, []
            for schema in names:
                s = _qi(schema)
                cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", [schema])
                tables += cursor.fetchone()[0]
                cursor.execute(_APPEND_ONLY, [schema])
                frozen = [name for (name,) in cursor.fetchall()]
                statements = [
                    f"REVOKE ALL ON SCHEMA {s} FROM {r}",
                    f"GRANT USAGE ON SCHEMA {s} TO {r}",
                    f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
                    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
                    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
                    *(f"REVOKE UPDATE, DELETE ON {s}.{_qi(name)} FROM {r}" for name in frozen),
                ]
                cursor.execute(";\n".join(statements))
                append_only += [f"{schema}.{name}" for name in frozen]
            # What the owner creates later (a new county's schema, a new migration's table) is usable
            # at once; a county's schema then takes the template's exact privileges (cloning).
            cursor.execute(";\n".join([
                f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM {r}",
                f"ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
                f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON SEQUENCES FROM {r}",
                f"ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO {r}",
                f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON SCHEMAS FROM {r}",
                f"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {r}",
            ]))
        result = Granted(role=role, schemas=names, tables=tables, append_only=append_only)
        audit.record(actor=actor, action="db.grant_app_role", object_type="db.role", object_id=role, after={
            "role": role, "schemas": len(names), "tables": tables,
            "append_only": sorted({name.split(".", 1)[1] for name in append_only})})
    return result
