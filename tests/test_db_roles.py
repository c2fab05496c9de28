"""Issue 18 point 6: the app's own database role cannot switch off the append-only triggers.

Production runs web, worker and beat as an *app role* that owns nothing; migrations, county
creation and restores run as the *owner role* (DUBAN_OWNER_DATABASE_URL). The app role is set up
exactly as the chart's migrations Job does it (`duban db grant-app-role`), and then attacked over
its own connection: ALTER TABLE … DISABLE TRIGGER, session_replication_role, replacing the trigger
function, UPDATE / DELETE / TRUNCATE of ledger (and other append-only) rows. A real flow (a matter,
escalation steps, a deduction in the ledger, its reversal) runs on a Django connection logged in
as the app role, in a county created after the grant.

Roles are cluster-wide: the test role has a unique name and is dropped at the end of the module.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date

import psycopg
import pytest
from conftest import REPO, database_url_for_subprocess, subprocess_env
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django_tenants.utils import tenant_context
from sweep_helpers import in_thread

from duban.supervision.actions import do_record_manual_step, do_reverse_entry

pytestmark = pytest.mark.django_db

# Every append-only table of a county's schema (a trigger refuses UPDATE, DELETE and TRUNCATE).
APPEND_ONLY = ("supervision_ledgerentry", "audit_auditevent", "documents_document",
               "reports_weeklyreportrevision", "reports_weeklyreportreview")
COUNTY = "roleafter"          # created after the grant, by the owner; its flow runs as the app role
CLI_COUNTY = "rolecli"        # created by `duban county create` with both URLs
SPARE_COUNTY = "rolespare"    # the same, from a spare schema
PHONE = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}
NOTICE = {"requirements": "三日内专题答复", "reply_due": "2099-12-05"}


def _drop_county(slug: str) -> None:
    from tenants.models import County

    connection.set_schema_to_public()
    county = County.objects.filter(slug=slug).first()
    if county is not None:
        county.delete(force_drop=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "county_{slug}" CASCADE')


def _url_for(user: str) -> str:
    """The test database's URL with another user (trust authentication on this machine)."""
    url = database_url_for_subprocess()
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}@{rest.split('@', 1)[1]}"


def _app_connection(role: str) -> psycopg.Connection:
    """A connection logged in as the app role — what a compromised web process would hold."""
    return psycopg.connect(_url_for(role), autocommit=True)


@pytest.fixture(scope="module")
def app_role(django_db_setup, django_db_blocker):
    """An app role created as docs/operations.md says, granted by the chart's own command."""
    name = f"duban_app_{uuid.uuid4().hex[:10]}"

    def create():
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION')
        call_command("db", "grant-app-role", name, verbosity=0)

    def cleanup():
        for slug in (COUNTY, CLI_COUNTY, SPARE_COUNTY):
            _drop_county(slug)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
            if cursor.fetchone():
                cursor.execute(f'DROP OWNED BY "{name}"')  # its grants and default privileges in this database
                cursor.execute(f'DROP ROLE "{name}"')

    with django_db_blocker.unblock():
        try:
            in_thread(create)
            yield name
        finally:
            in_thread(cleanup)


def _as_app_role(role: str, fn):
    """Run ``fn`` on a Django connection logged in as the app role (committed, its own thread)."""

    def run():
        conn = connections["default"]
        conn.close()
        conn.settings_dict = {**conn.settings_dict, "USER": role, "PASSWORD": ""}
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT current_user, session_user")
                assert cursor.fetchone() == (role, role)
            return fn()
        finally:
            conn.close()

    return in_thread(run, timeout=300)


@pytest.fixture(scope="module")
def app_county(app_role, django_db_blocker):
    """County COUNTY, created by the owner AFTER the grant; then a real flow as the app role:
    people, units, a matter assigned and overdue, a phone call and a written notice recorded (the
    notice deducts: a ledger row), and the deduction reversed by the office leader."""

    def create():
        from tenants import provisioning

        _drop_county(COUNTY)
        return provisioning.create_county(COUNTY, "权限县", "testcity", actor="tests", admin_username=None,
                                          abbreviation="权").county

    def flow():
        from matter_helpers import PASSWORD, Cast, to_state

        from duban.accounts.actions import do_create_user
        from duban.accounts.models import Role
        from duban.core.clock import as_of
        from duban.supervision.models import LedgerEntry
        from duban.units.actions import do_create_unit

        with tenant_context(county):
            d01 = do_create_unit("D01", "一号局", "department", actor="tests")
            t01 = do_create_unit("T01", "一号镇", "township", actor="tests")
            people = {n: do_create_user(n, actor="tests", role=r, password=PASSWORD, unit=u) for n, r, u in [
                ("m_leader", Role.COUNTY_LEADER, None), ("m_office", Role.OFFICE_LEADER, None),
                ("staff", Role.SUPERVISION_STAFF, None), ("clerk", Role.UNIT_STAFF, d01),
                ("clerk1", Role.UNIT_STAFF, t01), ("m_other", Role.UNIT_STAFF, t01)]}
            cast = Cast(people["m_leader"], people["m_office"], people["staff"], people["clerk"],
                        people["clerk1"], people["m_other"])
            with as_of(date(2026, 9, 1)):
                matter = to_state(cast, "in_progress", deadline_working_days=10)
            with as_of(date(2026, 11, 21)):
                do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=PHONE,
                                            on=date(2026, 11, 20))
                step = do_record_manual_step(matter.pk, actor=cast.staff, tier="written_notice",
                                                   evidence=NOTICE, on=date(2026, 11, 21))
                entry = LedgerEntry.objects.filter(step=step).get()
                reversal = do_reverse_entry(entry.pk, actor=cast.office, reason="测试冲正")
            return {"entry": entry.pk, "reversal": reversal.pk, "amount": entry.amount}

    with django_db_blocker.unblock():
        county = in_thread(create)
        facts = _as_app_role(app_role, flow)
    return {"schema": county.schema_name, **facts}


def _refused(conn, sql: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        conn.execute(sql)
    return str(caught.value)


def test_app_role_cannot_disable_or_replace_the_ledger_trigger(app_role, app_county, world):
    with _app_connection(app_role) as conn:
        for schema in (app_county["schema"], world.alpha.schema_name, "_template"):
            table = f'"{schema}".supervision_ledgerentry'
            for sql in (f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                        f"ALTER TABLE {table} DISABLE TRIGGER supervision_ledgerentry_no_update_delete",
                        f"DROP TRIGGER supervision_ledgerentry_no_update_delete ON {table}",
                        f"ALTER TABLE {table} OWNER TO CURRENT_USER"):
                assert "must be owner" in _refused(conn, sql), sql
            message = _refused(conn, f'CREATE OR REPLACE FUNCTION "{schema}".supervision_ledgerentry_append_only() '
                                     "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$")
            assert "must be owner" in message or "permission denied" in message
        # The trigger is still there and enabled.
        row = conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'supervision_ledgerentry_no_update_delete' "
                           "AND tgrelid = %s::regclass", [f'"{app_county["schema"]}".supervision_ledgerentry']).fetchone()
        assert row == ("O",)


def test_app_role_cannot_switch_triggers_off_for_its_session(app_role, app_county):
    with _app_connection(app_role) as conn:
        for sql in ("SET session_replication_role = replica",
                    "SELECT set_config('session_replication_role', 'replica', false)",
                    f'ALTER ROLE "{app_role}" SET session_replication_role = replica'):
            message = _refused(conn, sql)
            assert "permission denied" in message, sql
        assert conn.execute("SHOW session_replication_role").fetchone() == ("origin",)


def test_app_role_cannot_update_delete_or_truncate_append_only_rows(app_role, app_county):
    schema = app_county["schema"]
    with _app_connection(app_role) as conn:
        conn.execute(f'SET search_path TO "{schema}", public')
        for sql in (f"UPDATE supervision_ledgerentry SET amount = 0 WHERE id = {app_county['entry']}",
                    f"DELETE FROM supervision_ledgerentry WHERE id = {app_county['entry']}",
                    "TRUNCATE supervision_ledgerentry CASCADE",
                    "UPDATE audit_auditevent SET note = 'x'",
                    "DELETE FROM documents_document",
                    "DELETE FROM public.audit_auditevent"):
            # Refused by the privilege system, before the trigger is ever reached.
            message = _refused(conn, sql)
            assert "permission denied for table" in message, sql
        for table in APPEND_ONLY:
            privileges = {p: conn.execute("SELECT has_table_privilege(%s, %s)", [f'"{schema}".{table}', p]).fetchone()[0]
                          for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")}
            assert privileges == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False,
                                  "TRUNCATE": False, "REFERENCES": False, "TRIGGER": False}, table
        # The rows the flow wrote are all still there, as written.
        amounts = dict(conn.execute("SELECT id, amount FROM supervision_ledgerentry WHERE id IN (%s, %s)",
                                    [app_county["entry"], app_county["reversal"]]).fetchall())
        assert amounts == {app_county["entry"]: app_county["amount"], app_county["reversal"]: -app_county["amount"]}


def test_app_role_runs_the_product_and_owns_nothing(app_role, app_county):
    """The flow of ``app_county`` (matter, steps, a written notice, a deduction and its reversal) ran
    as the app role in a county created after the grant; ordinary tables stay writable."""
    schema = app_county["schema"]
    assert app_county["reversal"] > app_county["entry"]
    with _app_connection(app_role) as conn:
        owned = conn.execute("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE "
                             "rolname = current_user)").fetchone()[0]
        owned += conn.execute("SELECT count(*) FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE "
                              "rolname = current_user)").fetchone()[0]
        assert owned == 0
        assert conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (False, False, False, False)
        conn.execute(f'SET search_path TO "{schema}", public')
        assert conn.execute("SELECT count(*) FROM audit_auditevent WHERE action = 'ledger.reverse'").fetchone() == (1,)
        conn.execute("UPDATE units_unit SET name = name WHERE code = 'D01'")
        assert "permission denied" in _refused(conn, 'CREATE TABLE units_unit_copy (id int)')
        assert "permission denied" in _refused(conn, f'CREATE SCHEMA "county_{uuid.uuid4().hex[:8]}"')


def test_tables_the_owner_creates_later_are_usable_by_the_app_role(app_role):
    schema = f"later_{uuid.uuid4().hex[:8]}"

    def create():
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute(f'CREATE TABLE "{schema}".thing (id bigint GENERATED BY DEFAULT AS IDENTITY, name text)')

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    in_thread(create)
    try:
        with _app_connection(app_role) as conn:
            conn.execute(f'INSERT INTO "{schema}".thing (name) VALUES (%s)', ["一"])
            assert conn.execute(f'SELECT name FROM "{schema}".thing').fetchall() == [("一",)]
            assert "must be owner" in _refused(conn, f'ALTER TABLE "{schema}".thing ADD COLUMN x int')
    finally:
        in_thread(drop)


def test_grant_is_idempotent_and_refuses_roles_that_defeat_it(app_role):
    def acl():
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.relname, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = "
                           "c.relnamespace WHERE n.nspname = '_template' ORDER BY 1")
            return cursor.fetchall()

    before = in_thread(acl)
    in_thread(lambda: call_command("db", "grant-app-role", app_role, verbosity=0))
    assert in_thread(acl) == before
    with pytest.raises(CommandError, match="超级用户"):
        call_command("db", "grant-app-role", "postgres", verbosity=0)
    with pytest.raises(CommandError, match="不存在"):
        call_command("db", "grant-app-role", f"nobody_{uuid.uuid4().hex[:6]}", verbosity=0)


def _cli(*args, **env):
    environ = subprocess_env(**env)
    return subprocess.run([sys.executable, "-m", "duban.cli", *args], cwd=REPO, env=environ, capture_output=True,
                          text=True, timeout=180)


def test_cli_does_ddl_as_the_owner_and_the_app_role_cannot(app_role, app_county):
    """`duban county create` with DATABASE_URL = the app role: refused without the owner's URL;
    with DUBAN_OWNER_DATABASE_URL it creates the county as the owner, and the app role gets only
    SELECT and INSERT on its ledger."""
    app_url = _url_for(app_role)
    alone = _cli("county", "create", CLI_COUNTY, "--name", "命令县", "--city", "testcity", DATABASE_URL=app_url)
    assert alone.returncode != 0
    assert "permission denied" in alone.stderr and "DUBAN_OWNER_DATABASE_URL" in alone.stderr
    assert "Traceback" not in alone.stderr

    both = _cli("county", "create", CLI_COUNTY, "--name", "命令县", "--city", "testcity",
                DATABASE_URL=app_url, DUBAN_OWNER_DATABASE_URL=database_url_for_subprocess())
    assert both.returncode == 0, both.stdout + both.stderr
    # What the chart's migrations Job runs after migrating: the role is DATABASE_URL's user.
    granted = _cli("db", "grant-app-role", DATABASE_URL=app_url, DUBAN_OWNER_DATABASE_URL=database_url_for_subprocess())
    assert granted.returncode == 0, granted.stdout + granted.stderr
    assert f"已为应用角色 {app_role} 授权" in granted.stdout
    with _app_connection(app_role) as conn:
        owner = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s",
                             [f"county_{CLI_COUNTY}"]).fetchone()
        assert owner is not None and owner[0] != app_role
        table = f'"county_{CLI_COUNTY}".supervision_ledgerentry'
        assert [conn.execute("SELECT has_table_privilege(%s, %s)", [table, p]).fetchone()[0]
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [True, True, False, False]
        assert "must be owner" in _refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")


def test_owner_url_must_name_the_same_database():
    from test_settings import run_cli

    result = run_cli("check", DUBAN_OWNER_DATABASE_URL="postgresql://owner@127.0.0.1:5432/another_db")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "configuration error: DUBAN_OWNER_DATABASE_URL: " in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_as_the_app_role_and_restore_as_the_owner_keep_the_ledger_append_only(app_role, app_county, tmp_path):
    """The app role can back a county up (pg_dump reads); the restore — DDL, the owner's — gives the
    restored schema the template's privileges, not the owner's default ones (UPDATE, DELETE)."""
    from tenants import backup

    archive = tmp_path / "roleafter.tar"
    media = tmp_path / "media"
    _as_app_role(app_role, lambda: backup.backup_county(COUNTY, archive, actor="tests", media_root=media))
    in_thread(lambda: _drop_county(COUNTY))
    in_thread(lambda: backup.restore_county(archive, actor="tests", media_root=media))
    table = f'"{app_county["schema"]}".supervision_ledgerentry'
    with _app_connection(app_role) as conn:
        assert [conn.execute("SELECT has_table_privilege(%s, %s)", [table, p]).fetchone()[0]
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")] == [True, True, False, False, False]
        assert conn.execute(f"SELECT amount FROM {table} WHERE id = %s", [app_county["entry"]]).fetchone() == (
            app_county["amount"],)
        assert "permission denied for table" in _refused(conn, f"DELETE FROM {table}")
        assert "must be owner" in _refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")


def test_spares_are_made_by_the_owner_and_never_by_the_app_role(app_role, app_county):
    """The pool of spare schemas (tenants.spares): the app role may not make spares — beat's refill
    does nothing on its connection and `duban county spares --fill` says why; with the owner's URL
    the spares belong to the owner, and a county made from one gives the app role exactly the
    template's privileges (its ledger: SELECT and INSERT)."""
    app_url, owner_url = _url_for(app_role), database_url_for_subprocess()
    slug = SPARE_COUNTY
    try:
        beat = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); from tenants.tasks import refill_spares; "
                                   "print('refilled', refill_spares.run())"],
            cwd=REPO, env=subprocess_env(DATABASE_URL=app_url, DUBAN_SPARE_SCHEMAS="2"), capture_output=True,
            text=True, timeout=180)
        assert beat.returncode == 0 and "refilled 0" in beat.stdout, beat.stdout + beat.stderr
        alone = _cli("county", "spares", "--fill", DATABASE_URL=app_url, DUBAN_SPARE_SCHEMAS="2")
        assert alone.returncode != 0 and "备用模式须由模板的属主角色建立" in alone.stderr
        assert "Traceback" not in alone.stderr

        filled = _cli("county", "spares", "--fill", DATABASE_URL=app_url, DUBAN_OWNER_DATABASE_URL=owner_url,
                      DUBAN_SPARE_SCHEMAS="2")
        assert filled.returncode == 0 and "新建 2 个" in filled.stdout, filled.stdout + filled.stderr
        made = _cli("county", "create", slug, "--name", "备用县", "--city", "testcity", DATABASE_URL=app_url,
                    DUBAN_OWNER_DATABASE_URL=owner_url, DUBAN_SPARE_SCHEMAS="2")
        assert made.returncode == 0, made.stdout + made.stderr
        assert "取自备用模式" in made.stdout and "已补充备用模式 1 个（现有 2 个）" in made.stdout
        with _app_connection(app_role) as conn:
            owners = conn.execute(
                "SELECT nspname, nspowner::regrole::text FROM pg_namespace WHERE nspname LIKE '\\_spare\\_%%' "
                "OR nspname = %s", [f"county_{slug}"]).fetchall()
            assert len(owners) == 3 and all(owner != app_role for _name, owner in owners), owners
            table = f'"county_{slug}".supervision_ledgerentry'
            assert [conn.execute("SELECT has_table_privilege(%s, %s)", [table, p]).fetchone()[0]
                    for p in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [True, True, False, False]
    finally:
        # The subprocesses committed the spares: drop them on a connection of the owner's own, not
        # in this test's transaction (which rolls back).
        with psycopg.connect(owner_url, autocommit=True) as conn:
            for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE '\\_spare\\_%%'").fetchall():
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            conn.execute("DELETE FROM public.tenants_spareschema")
