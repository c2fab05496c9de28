"""What spreading counties over several PostgreSQL nodes needs from the code (docs/scaling.md,
"Past one primary"), checked against the real catalogue: the migrated template schema and a
cloned county schema (alpha), and the clone's own DDL. The lists live in duban.core.sharding;
docs/scaling.md names every entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection

from duban.core import cloning, schemas, sharding
from tenants import provisioning, spares

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"


def rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def county_schemas(world) -> list[str]:
    return [schemas.template_schema(), world.alpha.schema_name, world.beta.schema_name]


def foreign_keys_leaving(schema: str) -> list[tuple]:
    return rows("""
        SELECT r.relname, con.conname, fn.nspname, f.relname
        FROM pg_constraint con
        JOIN pg_class r ON r.oid = con.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        WHERE con.contype = 'f' AND n.nspname = %s AND fn.nspname <> n.nspname""", [schema])


def test_no_foreign_key_leaves_a_county_schema_except_to_the_listed_public_tables(county_schemas):
    for schema in county_schemas:
        leaving = foreign_keys_leaving(schema)
        to_counties = [row for row in leaving if row[2] != "public"]
        assert not to_counties, f"{schema}: foreign keys into another county's schema: {to_counties}"
        unlisted = [row for row in leaving if row[3] not in sharding.PUBLIC_TABLES_REFERENCED]
        assert not unlisted, (f"{schema}: foreign keys into public tables not in "
                              f"duban.core.sharding.PUBLIC_TABLES_REFERENCED: {unlisted}")


def test_a_foreign_key_from_one_county_into_another_is_seen(world):
    """The check above is not blind: a reference from alpha's matters into beta's units (made
    here and rolled back with the test) is reported."""
    alpha, beta = world.alpha.schema_name, world.beta.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{alpha}".matters_matter ADD COLUMN probe_unit_id bigint '
                       f'REFERENCES "{beta}".units_unit (id)')
    assert [(table, schema, target) for table, _, schema, target in foreign_keys_leaving(alpha)] == [
        ("matters_matter", beta, "units_unit")]


def test_no_view_or_column_default_of_a_county_schema_reads_another_schema(county_schemas):
    for schema in county_schemas:
        # Whatever a view's rules or a column default (a sequence's nextval) depend on.
        outside = rows("""
            SELECT DISTINCT c.relname, tn.nspname, t.relname
            FROM pg_depend d
            JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
            JOIN pg_class c ON c.oid = w.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_class t ON d.refclassid = 'pg_class'::regclass AND t.oid = d.refobjid
            JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE n.nspname = %(s)s AND tn.nspname <> %(s)s AND tn.nspname <> 'pg_catalog'
            UNION
            SELECT DISTINCT c.relname, tn.nspname, t.relname
            FROM pg_depend d
            JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
            JOIN pg_class c ON c.oid = ad.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_class t ON d.refclassid = 'pg_class'::regclass AND t.oid = d.refobjid
            JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE n.nspname = %(s)s AND tn.nspname <> %(s)s""", {"s": schema})
        unlisted = [row for row in outside if row[1] != "public" or row[2] not in sharding.PUBLIC_TABLES_REFERENCED]
        assert not unlisted, f"{schema}: reads outside its schema: {unlisted}"


def test_triggers_and_functions_of_a_county_schema_are_exactly_the_listed_ones(county_schemas):
    for schema in county_schemas:
        triggers = {name: (table, function, "row" if tgtype & 1 else "statement") for name, table, function, tgtype in rows("""
            SELECT tg.tgname, c.relname, p.proname, tg.tgtype
            FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = tg.tgfoid
            WHERE n.nspname = %s AND NOT tg.tgisinternal""", [schema])}
        assert triggers == sharding.TRIGGERS, f"{schema}: triggers differ from duban.core.sharding.TRIGGERS"
        functions = {name for (name,) in rows("""
            SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s""",
                                              [schema])}
        assert functions == sharding.FUNCTIONS, f"{schema}: functions differ from duban.core.sharding.FUNCTIONS"
        # Trigger functions of the schema itself, never a shared one in public.
        shared = rows("""
            SELECT tg.tgname, pn.nspname FROM pg_trigger tg
            JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = tg.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
            WHERE n.nspname = %s AND NOT tg.tgisinternal AND pn.nspname <> n.nspname""", [schema])
        assert not shared, f"{schema}: triggers calling functions of another schema: {shared}"


def test_every_sequence_of_a_county_schema_is_its_own_bigint_identity(county_schemas):
    for schema in county_schemas:
        wrong = rows("""
            SELECT c.relname, s.seqtypid::regtype::text,
                   EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                           WHERE d.objid = c.oid AND d.deptype IN ('i', 'a') AND t.relnamespace = c.relnamespace)
            FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s""", [schema])
        bad = [(name, kind) for name, kind, owned in wrong if not owned or (
            kind != sharding.SEQUENCE_TYPE and name not in sharding.INTEGER_SEQUENCES)]
        assert not bad, f"{schema}: sequences that are not bigint identities of the schema's own tables: {bad}"


def test_the_clone_issues_only_the_listed_statements(world):
    statements = cloning.clone_statements(schemas.template_schema(), "county_shard_probe")
    kinds = {label: 0 for label, _ in sharding.CLONE_STATEMENTS}
    for statement in statements:
        text = " ".join(statement.split())
        matched = [label for label, pattern in sharding.CLONE_STATEMENTS if re.match(pattern, text)]
        assert matched, f"the clone issues a statement duban.core.sharding.CLONE_STATEMENTS does not list: {text[:200]}"
        kinds[matched[0]] += 1
    assert statements and kinds["CREATE TABLE … (LIKE template …)"] > 40, kinds
    # The trigger statements are exactly the listed triggers, re-created in the new schema.
    created = {re.match(r"CREATE TRIGGER (\S+)", s).group(1) for s in statements if s.startswith("CREATE TRIGGER")}
    assert created == set(sharding.TRIGGERS)


def test_a_county_from_the_spare_pool_costs_one_listed_statement(world, settings):
    """Taking a spare issues only the statements SPARE_STATEMENTS lists (DDL-wise: one rename)."""
    settings.DUBAN_SPARE_SCHEMAS = 1
    spares.refill(actor="tests")
    ddl = []

    def record(execute, sql, params, many, context):
        if re.match(r"\s*(CREATE|ALTER|DROP|GRANT|REVOKE|TRUNCATE|COMMENT)\b", sql, re.IGNORECASE):
            ddl.append(" ".join(sql.split()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        made = provisioning.create_county("shard-spare", "分片县", "testcity", actor="tests")
    assert made.method == "spare"
    assert ddl, "no rename seen"
    for text in ddl:
        assert any(re.match(pattern, text) for _, pattern in sharding.SPARE_STATEMENTS), (
            f"taking a spare issues a statement duban.core.sharding.SPARE_STATEMENTS does not list: {text[:200]}")


def test_no_function_body_names_a_schema(county_schemas):
    """A spare is renamed into a county: a function body naming its schema would be left behind."""
    assert sharding.FUNCTION_BODIES_NAME_NO_SCHEMA
    for schema in [*county_schemas, schemas.template_schema()]:
        bodies = rows("""
            SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = %s""", [schema])
        assert bodies
        every_schema = {name for (name,) in rows("SELECT nspname FROM pg_namespace", [])}
        naming = [(name, other) for name, body in bodies for other in every_schema
                  if re.search(r'(?<![\w"])"?' + re.escape(other) + r'"?\.', body)]
        assert not naming, f"{schema}: function bodies naming a schema: {naming}"


def test_docs_scaling_names_every_listed_object():
    doc = DOC.read_text(encoding="utf-8")
    named = [*sharding.APPEND_ONLY, *sharding.FUNCTIONS, *sharding.TRIGGERS, *sharding.PUBLIC_TABLES_REFERENCED,
             *sharding.INTEGER_SEQUENCES,
             *(label for label, _ in sharding.CLONE_STATEMENTS), *(label for label, _ in sharding.SPARE_STATEMENTS),
             "FUNCTION_BODIES_NAME_NO_SCHEMA", "duban.core.sharding",
             "tests/test_scaling_constraints.py"]
    missing = [name for name in named if f"`{name}`" not in doc]
    assert not missing, f"docs/scaling.md does not name: {missing}"


def test_the_table_list_follows_the_schema_dependency_and_matches_django_tenants(county_schemas):
    """The migration runs' table list (duban.core.dbbackend.introspection) reads pg_depend's index
    instead of testing every relation of every county for visibility: same tables, same kinds."""
    from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection

    assert type(connection.introspection).__module__ == "duban.core.dbbackend.introspection"
    reference = DatabaseSchemaIntrospection(connection)
    for schema in ["public", schemas.template_schema(), *county_schemas]:
        connection.set_schema(schema)
        with connection.cursor() as cursor:
            ours = sorted(connection.introspection.get_table_list(cursor))
            theirs = sorted(reference.get_table_list(cursor))
        assert ours and ours == theirs, schema
    connection.set_schema_to_public()
