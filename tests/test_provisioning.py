"""Provisioning counties by cloning the template schema."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from duban.core import schemas
from tenants import provisioning
from tenants.models import County, Domain

pytestmark = pytest.mark.django_db

STRUCTURE_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, character_maximum_length,
               numeric_precision, is_identity, identity_generation,
               regexp_replace(coalesce(column_default, ''), '"?%(schema)s"?\\.', '', 'g')
        FROM information_schema.columns WHERE table_schema = %%s""",
    "tables": "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %%s",
    "constraints": """
        SELECT con.conname, con.contype, cls.relname,
               regexp_replace(pg_get_constraintdef(con.oid), '"?%(schema)s"?\\.', '', 'g')
        FROM pg_constraint con JOIN pg_class cls ON cls.oid = con.conrelid
        JOIN pg_namespace ns ON ns.oid = cls.relnamespace WHERE ns.nspname = %%s""",
    "indexes": """
        SELECT indexname, tablename, regexp_replace(indexdef, '"?%(schema)s"?\\.', '', 'g')
        FROM pg_indexes WHERE schemaname = %%s""",
    "triggers": """
        SELECT trigger_name, event_manipulation, event_object_table, action_timing
        FROM information_schema.triggers WHERE trigger_schema = %%s""",
    "statement triggers": """
        SELECT tg.tgname, cls.relname, tg.tgtype FROM pg_trigger tg
        JOIN pg_class cls ON cls.oid = tg.tgrelid JOIN pg_namespace ns ON ns.oid = cls.relnamespace
        WHERE ns.nspname = %%s AND NOT tg.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
        JOIN pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = %%s""",
    "sequences": "SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = %%s",
    "migrations": "SELECT app, name FROM \"%(schema)s\".django_migrations",
}


def structure(schema: str) -> dict[str, set]:
    result = {}
    with connection.cursor() as cursor:
        for name, query in STRUCTURE_QUERIES.items():
            cursor.execute(query % {"schema": schema}, [schema] if "%%s" in query else [])
            result[name] = set(cursor.fetchall())
    return result


def test_clone_yields_exactly_what_migrations_yield(world):
    cloned = provisioning.create_county("gamma", "丙县", "testcity", actor="tests").county
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated_ref"')
    call_command("migrate_schemas", schema_name="migrated_ref", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    by_clone, by_migrations = structure(cloned.schema_name), structure("migrated_ref")
    assert by_clone["tables"], "the clone has no tables"
    assert {t for t, _ in by_clone["tables"]} >= {"accounts_user", "units_unit", "audit_auditevent",
                                                  "django_migrations", "accounts_apitoken"}
    for kind in STRUCTURE_QUERIES:
        assert by_clone[kind] == by_migrations[kind], kind
    # Shared-only tables stay out of county schemas.
    assert not {t for t, _ in by_clone["tables"]} & {"tenants_county", "tenants_domain", "core_periodicrun"}


def test_create_county_makes_row_host_schema_admin_and_audit(world):
    from duban.accounts.models import User
    from duban.audit.models import AuditEvent

    result = provisioning.create_county("delta", "丁县", "testcity", actor="tests", admin_username="boss")
    county = result.county
    assert county.schema_name == "county_delta"
    assert (county.rulepack_name, county.rulepack_version) == ("county_default", "1.0.0")
    assert Domain.objects.get(tenant=county).domain == "delta.localhost"
    assert schema_exists("county_delta")
    assert result.seconds > 0 and result.admin_password
    assert AuditEvent.objects.filter(action="county.create", object_id=str(county.pk)).exists()
    with schema_context("county_delta"):
        boss = User.objects.get(username="boss")
        assert boss.check_password(result.admin_password)
        assert boss.role == "county_admin" and boss.is_superuser
        assert set(AuditEvent.objects.values_list("action", flat=True)) == {"county.create", "user.create"}


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"slug": "alpha"}, "slug", "已被使用"),
    ({"slug": "Bad Slug"}, "slug", "无效"),
    ({"slug": "-x"}, "slug", "无效"),
    ({"slug": "www"}, "slug", "保留"),
    ({"city": "atlantis"}, "city", "没有代码为“atlantis”的市"),
    ({"name": "  "}, "name", "请填写县名称"),
    ({"rulepack": "no_such_pack"}, "rulepack", "没有名为“no_such_pack”的规则包"),
    ({"rulepack": "county_default==9.9"}, "rulepack", "不是 9.9"),
    ({"admin_username": "x" * 200}, "admin", "用户名不能超过150个字符"),
])
def test_bad_input_is_refused_and_nothing_is_half_created(world, kwargs, field, message):
    args = {"slug": "epsilon", "name": "戊县", "city": "testcity", "rulepack": None, "admin_username": "admin"}
    args.update(kwargs)
    counties_before = County.objects.count()
    domains_before = Domain.objects.count()
    with pytest.raises(provisioning.ProvisioningError, match=message) as excinfo:
        provisioning.create_county(args["slug"], args["name"], args["city"], actor="tests",
                                   rulepack=args["rulepack"], admin_username=args["admin_username"])
    assert excinfo.value.field == field
    assert County.objects.count() == counties_before
    assert Domain.objects.count() == domains_before
    assert not schema_exists("county_epsilon")


def test_cli_create_prints_elapsed_time_and_list_shows_it(world, capsys):
    call_command("county", "create", "zeta", "--name", "己县", "--city", "testcity")
    out = capsys.readouterr().out
    assert re.search(r"已创建县：己县（zeta），数据库模式 county_zeta（由模板复制），用时 \d+\.\d\d 秒", out)
    assert "http://zeta.localhost:8000/" in out
    assert re.search(r"管理员：admin / \S{12,}", out)
    call_command("county", "list")
    listing = capsys.readouterr().out
    assert "zeta" in listing and "county_default==1.0.0" in listing and "alpha" in listing


def test_cli_errors_name_the_problem(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"没有代码为“nowhere”的市.*\[city\]"):
        call_command("county", "create", "eta", "--name", "庚县", "--city", "nowhere")
    with pytest.raises(CommandError, match=r"已被使用。 \[slug\]"):
        call_command("county", "create", "alpha", "--name", "甲县", "--city", "testcity")


def test_template_schema_is_current_and_holds_no_county_data():
    assert schema_exists(schemas.template_schema())
    assert schemas.pending_migrations(schemas.template_schema()) == set()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schemas.template_schema()}".accounts_user')
        assert cursor.fetchone()[0] == 0


def test_audit_trail_is_append_only_in_the_database(world):
    from django.db import transaction

    from duban.audit.models import AuditEvent

    with schema_context(world.alpha.schema_name):
        event = AuditEvent.objects.order_by("id").first()
        for statement in (f"UPDATE audit_auditevent SET action = 'x' WHERE id = {event.id}",
                          f"DELETE FROM audit_auditevent WHERE id = {event.id}",
                          "TRUNCATE audit_auditevent"):
            with pytest.raises(Exception, match="append-only"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(statement)
        assert AuditEvent.objects.filter(id=event.id, action=event.action).exists()


def test_migrate_schemas_keeps_template_and_skips_current_counties(world, capsys):
    call_command("migrate_schemas", interactive=False, verbosity=1)
    out = capsys.readouterr().out
    assert re.search(r"共 \d+ 个县：迁移 0 个，\d+ 个已是最新", out)
