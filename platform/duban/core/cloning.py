"""Cloning the template schema into a new county's schema, faithfully and fast.

django-tenants ships pg-clone-schema, a large PL/pgSQL function. It renames unique constraints
(Django's ``…_uniq`` names become PostgreSQL's ``…_key``), which later migrations that drop a
constraint by name would trip over, and it costs more than a tenth of a second per county.
This module reads the template's catalogue once and replays it as plain DDL:

1. ``CREATE TABLE … (LIKE template.t INCLUDING DEFAULTS IDENTITY GENERATED STORAGE COMMENTS,
   CONSTRAINT … )`` — columns, NOT NULL, defaults, new identity sequences, and the primary,
   unique, check and exclusion constraints under the template's own names;
2. the template's rows (migration records, content types, permissions) copied across;
3. foreign keys, every other index, functions, triggers and views — from PostgreSQL's own
   ``pg_get_*def`` functions.

Anything else found in the template (enum types, materialised views, free sequences…) stops
the clone with :class:`UnsupportedTemplateObject` rather than producing a partial schema; the
test comparing a clone with a migrated schema keeps this honest.
"""

from __future__ import annotations

import re

from django.db import connection


class UnsupportedTemplateObject(RuntimeError):
    pass


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _requalify(sql: str, template: str, target: str) -> str:
    """Point schema-qualified names in a catalogue definition at the target schema."""
    pattern = re.compile(r'(?<![\w"])(?:"' + re.escape(template) + r'"|' + re.escape(template) + r')\.')
    return pattern.sub(_qi(target) + ".", sql)


def _fetch(cursor, sql: str, params) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def clone_statements(template: str, target: str) -> list[str]:
    """The DDL and DML that make ``target`` a copy of ``template`` (structure and rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        saved_path = cursor.fetchone()[0]
        # Introspect with only the template on the path, so definitions come out unqualified.
        cursor.execute("SELECT set_config('search_path', %s, false)", [_qi(template)])
        try:
            return _statements(cursor, template, target)
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [saved_path])


def _statements(cursor, template: str, target: str) -> list[str]:
    ns = _fetch(cursor, "SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
    if not ns:
        raise UnsupportedTemplateObject(f"template schema {template!r} does not exist")
    nsoid = ns[0][0]

    unsupported = _fetch(cursor, """
        SELECT relname, relkind FROM pg_class c
        WHERE relnamespace = %s AND relkind NOT IN ('r', 'i', 'S', 'v', 'p', 'I')
        UNION ALL
        SELECT c.relname, 'S' FROM pg_class c
        WHERE c.relnamespace = %s AND c.relkind = 'S' AND NOT EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('i', 'a'))
        UNION ALL
        SELECT typname, 'type' FROM pg_type t
        WHERE typnamespace = %s AND typtype IN ('e', 'd', 'r', 'm')
           OR (typnamespace = %s AND typtype = 'c' AND NOT EXISTS (
               SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind IN ('r', 'v', 'p')))
    """, [nsoid, nsoid, nsoid, nsoid])
    if unsupported:
        names = ", ".join(f"{name} ({kind})" for name, kind in unsupported)
        raise UnsupportedTemplateObject(f"the template holds objects the cloner does not copy: {names}")

    t = _qi(target)
    out = [f"CREATE SCHEMA {t}", f"SET search_path TO {t}, public"]

    for (definition,) in _fetch(cursor, """
            SELECT pg_get_functiondef(p.oid) FROM pg_proc p
            WHERE p.pronamespace = %s AND p.prokind IN ('f', 'p') ORDER BY p.oid""", [nsoid]):
        out.append(_requalify(definition, template, target))

    tables = [name for (name,) in _fetch(cursor, """
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY c.oid""", [nsoid])]
    constraints: dict[str, list[str]] = {name: [] for name in tables}
    foreign_keys: dict[str, list[str]] = {name: [] for name in tables}
    for table, conname, contype, definition in _fetch(cursor, """
            SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE c.relnamespace = %s AND con.contype IN ('p', 'u', 'c', 'x', 'f') AND con.conislocal
            ORDER BY con.oid""", [nsoid]):
        clause = f"CONSTRAINT {_qi(conname)} " + _requalify(definition, template, target)
        (foreign_keys if contype == "f" else constraints)[table].append(clause)

    # Tables with their keys and checks, under the template's own constraint names.
    like = ("INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
            "INCLUDING COMMENTS INCLUDING COMPRESSION")
    for name in tables:
        parts = [f"LIKE {_qi(template)}.{_qi(name)} {like}", *constraints[name]]
        out.append(f"CREATE TABLE {t}.{_qi(name)} ({', '.join(parts)})")

    # Rows of the template (migration records, content types, permissions), then sequences.
    for name in tables:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_qi(template)}.{_qi(name)})")
        if not cursor.fetchone()[0]:
            continue
        out.append(f"INSERT INTO {t}.{_qi(name)} OVERRIDING SYSTEM VALUE "
                   f"SELECT * FROM {_qi(template)}.{_qi(name)}")
        for (column,) in _fetch(cursor, """
                SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                WHERE c.relnamespace = %s AND c.relname = %s AND a.attidentity <> '' AND NOT a.attisdropped
                """, [nsoid, name]):
            out.append(
                f"SELECT setval(pg_get_serial_sequence('{t}.{_qi(name)}', '{column}'), "
                f"coalesce((SELECT max({_qi(column)}) FROM {t}.{_qi(name)}), 1), "
                f"(SELECT max({_qi(column)}) FROM {t}.{_qi(name)}) IS NOT NULL)")

    # Foreign keys once every table exists: one ALTER TABLE per table.
    for name in tables:
        if foreign_keys[name]:
            out.append(f"ALTER TABLE {t}.{_qi(name)} " + ", ".join(f"ADD {fk}" for fk in foreign_keys[name]))

    for (definition,) in _fetch(cursor, """
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE ic.relnamespace = %s
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
            ORDER BY i.indexrelid""", [nsoid]):
        out.append(_requalify(definition, template, target))

    for (name, definition) in _fetch(cursor, """
            SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
            WHERE c.relnamespace = %s AND c.relkind = 'v' ORDER BY c.oid""", [nsoid]):
        out.append(f"CREATE VIEW {t}.{_qi(name)} AS " + _requalify(definition, template, target))

    for (definition,) in _fetch(cursor, """
            SELECT pg_get_triggerdef(tg.oid) FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
            WHERE c.relnamespace = %s AND NOT tg.tgisinternal ORDER BY tg.oid""", [nsoid]):
        out.append(_requalify(definition, template, target))

    return out


_PLACEHOLDER = "__duban_clone_target__"
_script_cache: dict[tuple, str] = {}


def _template_fingerprint(template: str) -> tuple:
    """Changes whenever a migration is applied to (or unapplied from) the template."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(id), max(applied) FROM {_qi(template)}.django_migrations")
        return (connection.settings_dict["NAME"], template, *cursor.fetchone())


def clone_script(template: str, target: str) -> str:
    """The whole clone as one SQL script, built once per state of the template."""
    key = _template_fingerprint(template)
    script = _script_cache.get(key)
    if script is None:
        script = ";\n".join(clone_statements(template, _PLACEHOLDER))
        _script_cache.clear()
        _script_cache[key] = script
    return script.replace(_qi(_PLACEHOLDER), _qi(target))


def clone_schema(template: str, target: str) -> None:
    """Create schema ``target`` as a copy of ``template``. Call inside a transaction."""
    script = clone_script(template, target)
    with connection.cursor() as cursor:
        cursor.execute(script)
    # The script changed search_path; make django-tenants set it again on the next cursor.
    connection.search_path_set_schemas = None
    # The new tables got the owner's default privileges; the app role's are the template's.
    copy_privileges(template, target)


# --- privileges -----------------------------------------------------------------------------------
_ACL_ENTRIES = """
    SELECT c.relname, c.relkind, e.grantee, e.privilege_type
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
         aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) e
    WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p', 'v', 'S') AND e.grantee <> c.relowner
    UNION ALL
    SELECT '', 'n', e.grantee, e.privilege_type
    FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) e
    WHERE n.nspname = {schema} AND e.grantee <> n.nspowner"""

_PRIVILEGE_DIFF = f"""
    WITH src AS ({_ACL_ENTRIES.format(schema="%(template)s")}),
         dst AS ({_ACL_ENTRIES.format(schema="%(target)s")}),
         -- Relations both schemas have (a restored table may have no entry at all: created by
         -- the restore's own role, it got nobody's default privileges).
         rels AS (SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname IN (%(template)s, %(target)s) AND c.relkind IN ('r', 'p', 'v', 'S')),
         common AS (SELECT relname, relkind FROM rels WHERE nspname = %(template)s
                    INTERSECT SELECT relname, relkind FROM rels WHERE nspname = %(target)s
                    UNION SELECT '', 'n')
    SELECT verb, relname, relkind, CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END,
           privilege_type
    FROM (SELECT 'GRANT' AS verb, * FROM (SELECT * FROM src EXCEPT SELECT * FROM dst) g
          UNION ALL
          SELECT 'REVOKE', * FROM (SELECT * FROM dst EXCEPT SELECT * FROM src) r) d
    WHERE (relname, relkind) IN (SELECT relname, relkind FROM common)
    ORDER BY relname, verb DESC, grantee, privilege_type"""


def privilege_statements(template: str, target: str) -> list[str]:
    """GRANT/REVOKE statements giving ``target``'s schema, tables, views and sequences exactly the
    privileges their namesakes in ``template`` have (to roles other than the owner).

    `duban db grant-app-role` sets the template's privileges (the append-only tables: SELECT and
    INSERT only for the app role); a clone, a restored dump (``--no-acl``) or a freshly migrated
    schema would otherwise carry only the owner's default privileges."""
    with connection.cursor() as cursor:
        rows = _fetch(cursor, _PRIVILEGE_DIFF, {"template": template, "target": target})
    statements = []
    for verb, relname, relkind, grantee, privilege in rows:
        if relkind == "n":
            what = f"SCHEMA {_qi(target)}"
        else:
            what = ("SEQUENCE " if relkind == "S" else "TABLE ") + f"{_qi(target)}.{_qi(relname)}"
        statements.append(f"{verb} {privilege} ON {what} {'TO' if verb == 'GRANT' else 'FROM'} {grantee}")
    return statements


def copy_privileges(template: str, target: str) -> int:
    """Give ``target`` the template's privileges (see :func:`privilege_statements`); the number of
    statements run."""
    statements = privilege_statements(template, target)
    if statements:
        with connection.cursor() as cursor:
            cursor.execute(";\n".join(statements))
    return len(statements)
