"""The pool of spare county schemas (tenants.spares): a new county takes a spare, renamed, instead
of waiting for a clone; the pool refills, stays current with migrations and is never shared."""

import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.core import schemas
from tenants import provisioning, spares
from tenants.models import County, SpareSchema
from tests.test_provisioning import STRUCTURE_QUERIES, structure

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(settings):
    settings.DUBAN_SPARE_SCHEMAS = 2
    done = spares.refill(actor="tests")
    assert len(done.created) == 2 and done.pool == 2
    return done.created


def test_a_new_county_takes_a_spare_and_the_pool_refills(world, pool):
    made = provisioning.create_county("spare-a", "备甲县", "testcity", actor="tests", admin_password="pw-123456789")
    assert made.method == "spare"
    county = made.county
    taken = pool[0]  # the oldest spare goes first
    assert schema_exists(county.schema_name) and not schema_exists(taken)
    assert spares.spare_names() == [pool[1]]
    with schema_context(county.schema_name):
        admin = User.objects.get(username="admin")
        assert admin.check_password("pw-123456789")
        assert AuditEvent.objects.filter(action="county.create").count() == 1  # the spare brought none
    created = AuditEvent.objects.filter(action="county.create", object_id=str(county.pk)).get()
    assert created.after["schema_made_by"] == "spare"

    again = spares.refill(actor="tests")
    assert len(again.created) == 1 and again.pool == 2
    event = AuditEvent.objects.filter(action="spares.refill").latest("id")
    assert event.after == {"created": 1, "dropped": 0, "pool": 2}


def test_a_county_made_from_a_spare_is_exactly_what_migrations_make(world, pool):
    county = provisioning.create_county("spare-b", "备乙县", "testcity", actor="tests").county
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated_ref"')
    call_command("migrate_schemas", schema_name="migrated_ref", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    by_spare, by_migrations = structure(county.schema_name), structure("migrated_ref")
    assert {t for t, _ in by_spare["tables"]} >= {"accounts_user", "matters_matter", "supervision_ledgerentry"}
    for kind in STRUCTURE_QUERIES:
        assert by_spare[kind] == by_migrations[kind], kind
    # The append-only ledger still refuses an UPDATE after the rename (its trigger's function moved along).
    with schema_context(county.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = tg.tgfoid "
                       "JOIN pg_namespace pn ON pn.oid = p.pronamespace "
                       "WHERE n.nspname = %s AND pn.nspname = %s AND c.relname = 'supervision_ledgerentry'",
                       [county.schema_name, county.schema_name])
        assert cursor.fetchone()[0] >= 1


def test_an_empty_pool_means_a_clone_not_an_error(world, settings):
    settings.DUBAN_SPARE_SCHEMAS = 2
    assert spares.spare_names() == []
    made = provisioning.create_county("spare-c", "备丙县", "testcity", actor="tests")
    assert made.method == "clone" and schema_exists(made.county.schema_name)
    settings.DUBAN_SPARE_SCHEMAS = 0  # the pool switched off: spares left over are not taken
    spares.create_spare()
    assert provisioning.create_county("spare-c2", "备丙二县", "testcity", actor="tests").method == "clone"


def test_a_stale_spare_is_never_taken_and_the_refill_replaces_it(world, pool):
    stale = pool[0]
    with connection.cursor() as cursor:  # as if a migration had reached the template but not this spare
        cursor.execute(f'DELETE FROM "{stale}".django_migrations WHERE app = %s AND name = %s',
                       ["notifications", "0002_chinese_names_and_office_words"])
    assert not spares.matches_template(stale)
    made = provisioning.create_county("spare-d", "备丁县", "testcity", actor="tests")
    assert made.method == "spare" and schema_exists(stale) and not schema_exists(pool[1])

    done = spares.refill(actor="tests")
    assert done.dropped == [stale] and len(done.created) == 2 and not schema_exists(stale)
    assert all(spares.matches_template(name) for name in spares.spare_names())


def test_migrate_schemas_keeps_the_spares_current(world, pool, capsys):
    """A spare one migration behind (its app's latest migration unapplied in it) is migrated by the
    next `duban migrate_schemas`, like a county."""
    from django.db.migrations.loader import MigrationLoader

    behind = pool[1]
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    app = "notifications"
    (leaf,) = graph.leaf_nodes(app)
    (parent,) = [p for p in graph.node_map[leaf].parents if p[0] == app]
    call_command("migrate_schemas", app, parent[1], schema_name=behind, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    assert not spares.matches_template(behind)
    call_command("migrate_schemas", interactive=False, verbosity=1)
    out = capsys.readouterr().out
    assert "备用模式 2 个：迁移 1 个，1 个已是最新" in out
    assert spares.matches_template(behind)


def test_a_failed_creation_gives_its_spare_back(world, pool):
    with pytest.raises(provisioning.ProvisioningError):
        # The admin's user name is refused inside the county's transaction, after the rename.
        provisioning.create_county("spare-e", "备戊县", "testcity", actor="tests", admin_username="no spaces")
    assert spares.spare_names() == pool and all(schema_exists(name) for name in pool)
    assert not County.objects.filter(slug="spare-e").exists() and not schema_exists("county_spare_e")


def _in_thread(fn):
    """Run ``fn`` on a connection of its own (a new thread's), outside the test's transaction."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _result(thread, out):
    thread.join(60)
    if "error" in out:
        raise out["error"]
    return out.get("value")


def test_two_creations_at_once_never_take_the_same_spare(world, settings):
    """Two transactions claim at the same moment, each holding its claim until both have one:
    SELECT … FOR UPDATE SKIP LOCKED hands each its own spare."""
    settings.DUBAN_SPARE_SCHEMAS = 2
    made = _result(*_in_thread(lambda: [spares.create_spare(), spares.create_spare()]))  # committed
    try:
        barrier = threading.Barrier(2)

        class GiveBack(Exception):
            pass

        def claimer(target):
            def run():
                try:
                    with transaction.atomic():
                        connection.set_schema_to_public()
                        taken = spares.claim(target)
                        barrier.wait(timeout=30)  # both claims held at once
                        raise GiveBack(taken)
                except GiveBack as back:
                    return back.args[0]
            return run

        first, second = _in_thread(claimer("county_race_one")), _in_thread(claimer("county_race_two"))
        taken = [_result(*first), _result(*second)]
        assert None not in taken and set(taken) == set(made), taken
    finally:
        def clean():
            for spare in SpareSchema.objects.filter(schema_name__in=made):
                spares.drop_spare(spare)
        _result(*_in_thread(clean))
    assert not any(schema_exists(name) for name in made)


def test_cli_shows_and_fills_the_pool(world, settings, capsys):
    settings.DUBAN_SPARE_SCHEMAS = 1
    call_command("county", "spares")
    assert "备用模式：0 个（与模板一致的 0 个），目标 1 个" in capsys.readouterr().out
    call_command("county", "spares", "--fill", "--size", "2")
    assert "备用模式：新建 2 个，删除过时的 0 个，现有 2 个。" in capsys.readouterr().out
    call_command("county", "create", "spare-f", "--name", "备己县", "--city", "testcity")
    out = capsys.readouterr().out
    assert re.search(r"已创建县：备己县（spare-f），数据库模式 county_spare_f（取自备用模式），用时 [\d.]+ 秒", out)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--size 只能与 --fill 一起使用"):
        call_command("county", "spares", "--size", "3")


def test_the_beat_refills_once_per_slot(world, settings):
    from tenants.tasks import refill_spares

    settings.DUBAN_SPARE_SCHEMAS = 1
    assert refill_spares.run() == 1
    assert refill_spares.run() == 0  # the same slot: a second beat does nothing
    assert SpareSchema.objects.count() == 1
    assert "spare-schemas-refill" in __import__("duban.celery").celery.app.conf.beat_schedule
    assert schemas.applied_migrations(spares.spare_names()[0]) == schemas.applied_migrations(schemas.template_schema())
