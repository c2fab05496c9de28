"""Attacks on `duban county restore` through a crafted backup file (issue 18 point 1).

The crafted archives are built the way the reviewer built them: a real schema ``county_evil``
made in the test database (a plpgsql function, a table whose CHECK constraint calls it), dumped
by the pg_dump duban.core.pgclient chooses for the server (the machine's 15 or the embedded 16),
then dropped again, and packed like backup_county's tar with a valid manifest and SHA-256. The
function does its harm only when it is not being built (the ``duban.building`` setting), that is
when a restore loads the table's rows: it creates a table in county_beta, renames county beta in
public.tenants_county and drops a table in public."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from sweep_helpers import in_thread, raw_connection
from test_county_backup import _rewrite, fingerprint

pytestmark = pytest.mark.django_db

EVIL = "county_evil"
SIDE = "evil_side"
VICTIM = "restore_victim"
# SHA-256 of 2 GiB of zero bytes: the content a sparse member of that declared size reads as.
SHA_2GIB_ZEROS = "a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51"

EVIL_FUNCTION = f"""
CREATE FUNCTION {EVIL}.ok(v integer) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('duban.building', true) = 'on' THEN
        RETURN true;
    END IF;
    EXECUTE 'CREATE TABLE county_beta.pwned (x integer)';
    UPDATE public.tenants_county SET name = 'pwned' WHERE slug = 'beta';
    EXECUTE 'DROP TABLE public.{VICTIM}';
    RETURN true;
END
$fn$
"""


def _server_major(conn) -> int:
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def _pg_dump(args: list[str], target: Path) -> None:
    from duban.core import pgclient
    from tenants.backup import _conninfo

    with raw_connection() as conn:
        major = _server_major(conn)
    conninfo, env = _conninfo()
    subprocess.run([pgclient.client_for("pg_dump", major).path, "--format=custom", *args, f"--file={target}",
                    f"--dbname={conninfo}"], env=env, check=True, capture_output=True, timeout=120)


def _pack(dump: Path, target: Path, *, slug: str = "evil", tables: dict | None = None,
          domains: list | None = None, media: list | None = None) -> Path:
    """A tar like backup_county's: manifest.json (valid, with the dump's size and SHA-256) and the dump."""
    with raw_connection() as conn:
        server_version = conn.execute("SELECT current_setting('server_version')").fetchone()[0]
        major = _server_major(conn)
    data = dump.read_bytes()
    manifest = {
        "format": "duban-county-backup", "format_version": 1, "created_at": "2026-11-26T10:00:00+08:00",
        "duban_version": "0.1.0",
        "county": {"id": 999, "slug": slug, "name": "恶意县", "schema": f"county_{slug}",
                   "city": {"code": "testcity", "name": "测试市"},
                   "rulepack": {"name": "county_default", "version": "1.0.0"}, "time_zone": "Asia/Shanghai",
                   "status": "active", "status_reason": "", "status_changed_at": None,
                   "created_at": "2026-11-01T10:00:00+08:00",
                   "domains": domains if domains is not None else [{"domain": f"{slug}.localhost",
                                                                     "is_primary": True}]},
        "database": {"server_version": server_version, "pg_dump_major": major, "migrations": [],
                     "tables": tables if tables is not None else {"t": 1}},
        "dump": {"name": "schema.pgdump", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        "media": media or [],
    }
    raw = json.dumps(manifest, ensure_ascii=False).encode()
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        info = tarfile.TarInfo("schema.pgdump")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return target


def _build_evil_dump(tmp_path: Path, *, outside: bool = False) -> Path:
    """The reviewer's dump: schema county_evil with the function and the CHECK calling it (and, if
    ``outside``, a second schema evil_side in the same dump)."""
    dump = tmp_path / ("outside.pgdump" if outside else "evil.pgdump")
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {SIDE} CASCADE")
        conn.execute(f"CREATE SCHEMA {EVIL}")
        if outside:
            conn.execute(f"CREATE TABLE {EVIL}.t (v integer)")
            conn.execute(f"CREATE SCHEMA {SIDE}")
            conn.execute(f"CREATE TABLE {SIDE}.loot (v integer)")
        else:
            conn.execute(EVIL_FUNCTION)
            conn.execute(f"CREATE TABLE {EVIL}.t (v integer CHECK ({EVIL}.ok(v)))")
        with conn.transaction():
            conn.execute("SET LOCAL duban.building = 'on'")
            conn.execute(f"INSERT INTO {EVIL}.t VALUES (1)")
    try:
        _pg_dump([f"--schema={EVIL}"] + ([f"--schema={SIDE}"] if outside else []), dump)
    finally:
        _drop_evil()
    return dump


def _drop_evil() -> None:
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {SIDE} CASCADE")
        conn.execute("DELETE FROM public.tenants_domain WHERE tenant_id IN "
                     "(SELECT id FROM public.tenants_county WHERE slug = 'evil')")
        conn.execute("DELETE FROM public.tenants_county WHERE slug = 'evil'")


def _elsewhere() -> dict:
    """What the attack goes for: county beta's schema, the county rows, the tables of public."""
    with raw_connection() as conn:
        counties = conn.execute("SELECT id, slug, name, schema_name FROM public.tenants_county ORDER BY id").fetchall()
        public = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
        schemas = conn.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'duban_restore%'").fetchall()
    return {"beta": fingerprint("county_beta"), "counties": counties, "public": public, "schemas": schemas,
            "roles": roles}


@pytest.fixture
def victim(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with raw_connection() as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS public.{VICTIM} (x integer)")
    try:
        yield
    finally:
        _drop_evil()
        with raw_connection() as conn:
            conn.execute(f"DROP TABLE IF EXISTS public.{VICTIM}")
            conn.execute("DROP TABLE IF EXISTS county_beta.pwned")
            conn.execute("UPDATE public.tenants_county SET name = '乙县' WHERE slug = 'beta'")


def _restore(path: Path, *args: str) -> str:
    out = io.StringIO()
    in_thread(lambda: call_command("county", "restore", *args, str(path), stdout=out))
    return out.getvalue()


# --- the table of contents is read before anything runs -----------------------------------------
def test_check_refuses_a_dump_carrying_a_function_naming_the_entry(victim, tmp_path):
    archive = _pack(_build_evil_dump(tmp_path), tmp_path / "crafted.tar")
    with pytest.raises(CommandError, match=r"备份中有县的模式不该有的条目：FUNCTION county_evil ok\(integer\)"):
        _restore(archive, "--check")


def test_check_refuses_a_dump_with_an_object_outside_the_countys_schema(victim, tmp_path):
    archive = _pack(_build_evil_dump(tmp_path, outside=True), tmp_path / "outside.tar")
    with pytest.raises(CommandError, match=r"备份中有县的模式以外的条目：SCHEMA - evil_side"):
        _restore(archive, "--check")


def test_restoring_the_crafted_dump_is_refused_and_changes_nothing_elsewhere(victim, tmp_path):
    archive = _pack(_build_evil_dump(tmp_path), tmp_path / "crafted.tar")
    before = _elsewhere()
    with pytest.raises(CommandError, match=r"FUNCTION county_evil ok\(integer\)"):
        _restore(archive)
    assert _elsewhere() == before
    with raw_connection() as conn:
        assert conn.execute("SELECT name FROM public.tenants_county WHERE slug = 'beta'").fetchone() == ("乙县",)
        assert conn.execute("SELECT to_regclass('county_beta.pwned'), to_regclass('public.restore_victim')"
                            ).fetchone() == (None, VICTIM)
        assert conn.execute(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{EVIL}'").fetchone() == (0,)


def test_the_restore_role_cannot_touch_public_or_another_county_even_unfiltered(victim, tmp_path):
    """The table-of-contents filter bypassed: the hostile dump handed straight to the step that runs
    pg_restore. Its function still runs (the CHECK fires on the rows), as the restore's own role,
    which owns only county_evil: every write elsewhere is denied and the whole restore rolls back."""
    from tenants import backup

    dump = _build_evil_dump(tmp_path)
    before = _elsewhere()

    def attack():
        backup.restore_schema_confined(dump, EVIL)

    with pytest.raises(backup.BackupError) as caught:
        in_thread(attack)
    assert "permission denied" in str(caught.value) or "权限" in str(caught.value), caught.value
    assert _elsewhere() == before  # beta, the county rows, public's tables; and no restore role left
    with raw_connection() as conn:
        assert conn.execute("SELECT to_regclass('county_beta.pwned'), to_regclass('public.restore_victim')"
                            ).fetchone() == (None, VICTIM)
        assert conn.execute(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{EVIL}'").fetchone() == (0,)


def test_the_restore_role_restores_a_harmless_dump_owned_like_a_cloned_county(victim, tmp_path):
    """The same step with a dump that does nothing wrong: the schema is there, owned (with all it
    holds) by the role that owns cloned counties, and the restore role is gone."""
    from tenants import backup

    dump = tmp_path / "plain.pgdump"
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"CREATE SCHEMA {EVIL}")
        conn.execute(f"CREATE TABLE {EVIL}.t (id serial PRIMARY KEY, v integer CHECK (v > 0))")
        conn.execute(f"INSERT INTO {EVIL}.t (v) VALUES (1), (2)")
    _pg_dump([f"--schema={EVIL}"], dump)
    _drop_evil()
    in_thread(lambda: backup.restore_schema_confined(dump, EVIL))
    with raw_connection() as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
            [EVIL, EVIL]).fetchall()
        cloned_owner = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'county_beta'"
                                    ).fetchone()
        assert owners == [cloned_owner]
        assert conn.execute(f"SELECT v FROM {EVIL}.t ORDER BY v").fetchall() == [(1,), (2,)]
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'duban_restore%'").fetchall() == []


# --- the manifest: hosts, whole fields, member sizes ---------------------------------------------
@pytest.fixture
def alpha_backup(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = tmp_path / "alpha.tar"
    call_command("county", "backup", "alpha", str(archive), stdout=io.StringIO())
    return archive


def _with_manifest(source: Path, target: Path, change) -> Path:
    def edit(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest, ensure_ascii=False).encode()

    return _rewrite(source, target, edit)


@pytest.mark.parametrize("host", ["localhost", "evil.example.com", "beta.localhost"])
def test_a_manifest_host_that_is_not_the_slug_under_the_base_domain_is_refused(alpha_backup, tmp_path, host):
    crafted = _with_manifest(alpha_backup, tmp_path / "host.tar", lambda m: m["county"]["domains"].append(
        {"domain": host, "is_primary": False}))
    with pytest.raises(CommandError, match=rf"主机名“{host}”不是该县的主机名.*\[domain\]"):
        call_command("county", "restore", "--check", str(crafted), stdout=io.StringIO())


def test_an_extra_host_listed_by_the_operator_and_free_is_accepted(alpha_backup, tmp_path, settings):
    settings.DUBAN_EXTRA_HOSTS = ["duban.jia.gov.cn"]
    crafted = _with_manifest(alpha_backup, tmp_path / "extra.tar", lambda m: m["county"]["domains"].append(
        {"domain": "duban.jia.gov.cn", "is_primary": False}))
    out = io.StringIO()
    call_command("county", "restore", "--check", str(crafted), stdout=out)
    assert "甲县（alpha）" in out.getvalue()


@pytest.mark.parametrize("where", ["domain", "city"])
def test_a_manifest_field_with_a_trailing_newline_is_refused(alpha_backup, tmp_path, where):
    def change(manifest):
        if where == "domain":
            manifest["county"]["domains"][0]["domain"] += "\n"
        else:
            manifest["county"]["city"]["code"] += "\n"

    crafted = _with_manifest(alpha_backup, tmp_path / "newline.tar", change)
    with pytest.raises(CommandError, match=r"\[(file|domain)\]"):
        call_command("county", "restore", "--check", str(crafted), stdout=io.StringIO())


def test_an_oversized_sparse_member_is_refused_before_it_is_read(alpha_backup, tmp_path):
    """A media member that GNU tar stores sparse, declaring 2 GiB, with its true SHA-256 in the
    manifest: the backup used to be hashed (and by a restore written) in full; it is refused by its
    declared size before a byte of it is read."""
    work = tmp_path / "sparse"
    name = "counties/county_alpha/attachments/big.bin"
    with tarfile.open(alpha_backup) as tar:
        tar.extractall(work, filter="data")
    big = work / "media" / name
    big.parent.mkdir(parents=True)
    with open(big, "wb") as handle:
        handle.truncate(2 << 30)
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["media"].append({"path": name, "bytes": 2 << 30, "sha256": SHA_2GIB_ZEROS})
    (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    crafted = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(crafted), "-C", str(work),
                    "manifest.json", "schema.pgdump", f"media/{name}"], check=True, timeout=60)
    assert crafted.stat().st_size < 50 << 20  # stored sparse: the file holds no 2 GiB
    with tarfile.open(crafted) as tar:
        assert tar.getmember(f"media/{name}").size == 2 << 30
    with pytest.raises(CommandError, match=rf"media/{name}.*过大.*\[file\]"):
        call_command("county", "restore", "--check", str(crafted), stdout=io.StringIO())


# --- the restore's own audit event ----------------------------------------------------------------
def test_the_restores_own_audit_event_lands_in_the_countys_schema_never_in_public(victim, tmp_path):
    """A dump whose schema has no audit table: the county's own ``county.restore`` event was
    written through the search path (county schema, then public) and landed in public's trail.
    The restore is refused, and nothing of it is kept."""
    dump = tmp_path / "noaudit.pgdump"
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"CREATE SCHEMA {EVIL}")
        conn.execute(f"CREATE TABLE {EVIL}.t (v integer)")
        conn.execute(f"INSERT INTO {EVIL}.t VALUES (1)")
    _pg_dump([f"--schema={EVIL}"], dump)
    _drop_evil()
    archive = _pack(dump, tmp_path / "noaudit.tar")

    def public_restore_events():
        with raw_connection() as conn:
            return conn.execute("SELECT id, object_type, object_id FROM public.audit_auditevent "
                                "WHERE action = 'county.restore' ORDER BY id").fetchall()

    before = public_restore_events()
    with pytest.raises(CommandError, match=r"audit_auditevent"):
        _restore(archive)
    assert public_restore_events() == before
    with raw_connection() as conn:
        assert conn.execute(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{EVIL}'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM public.tenants_county WHERE slug = 'evil'").fetchone() == (0,)


# --- expressions that would run later, as the application ----------------------------------------
def test_a_default_calling_a_function_the_template_never_calls_is_refused(victim, tmp_path):
    """A table's column default (run on every later insert that omits the column, as the
    application's user, not the restore's role) calling set_config: the table of contents says only
    TABLE and TABLE DATA, but the restored schema's expressions call a function no expression of the
    template calls. Refused, nothing kept."""
    dump = tmp_path / "default.pgdump"
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"CREATE SCHEMA {EVIL}")
        conn.execute(f"CREATE TABLE {EVIL}.audit_auditevent (v text DEFAULT set_config('search_path', "
                     f"'public', false))")
        conn.execute(f"INSERT INTO {EVIL}.audit_auditevent VALUES ('x')")
    _pg_dump([f"--schema={EVIL}"], dump)
    _drop_evil()
    archive = _pack(dump, tmp_path / "default.tar", tables={"audit_auditevent": 1})
    before = _elsewhere()
    with pytest.raises(CommandError, match=r"set_config"):
        _restore(archive)
    assert _elsewhere() == before
    with raw_connection() as conn:
        assert conn.execute(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{EVIL}'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM public.tenants_county WHERE slug = 'evil'").fetchone() == (0,)


def test_a_database_letting_everyone_create_in_public_is_refused_before_the_role_is_used(victim, tmp_path):
    """A database made before PostgreSQL 15 grants CREATE on public to PUBLIC: the restore's role
    could then create objects outside its schema. The restore refuses, naming the schema, before
    pg_restore runs; the role is gone and no schema is left."""
    from tenants import backup

    dump = tmp_path / "plain.pgdump"
    with raw_connection() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {EVIL} CASCADE")
        conn.execute(f"CREATE SCHEMA {EVIL}")
        conn.execute(f"CREATE TABLE {EVIL}.t (v integer)")
    _pg_dump([f"--schema={EVIL}"], dump)
    _drop_evil()
    with raw_connection() as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    try:
        with pytest.raises(backup.BackupError, match=r"REVOKE CREATE ON SCHEMA public FROM PUBLIC") as caught:
            in_thread(lambda: backup.restore_schema_confined(dump, EVIL))
        assert "public" in str(caught.value).split("上建立")[0]
    finally:
        with raw_connection() as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with raw_connection() as conn:
        assert conn.execute(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{EVIL}'").fetchone() == (0,)
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'duban_restore%'").fetchall() == []
