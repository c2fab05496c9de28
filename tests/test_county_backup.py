"""Backing up and restoring ONE county (`duban county backup|restore`, tenants.backup).

pg_dump and pg_restore work on connections of their own, so the county under test is built and
committed on a thread of its own (sweep_helpers.in_thread), and dropped again afterwards: the rest
of the suite counts the counties it fans out to."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import REPO, subprocess_env
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_exists, tenant_context
from sweep_helpers import in_thread, raw_connection
from test_provisioning import structure

from duban.core import clock

pytestmark = pytest.mark.django_db

SLUG = "bkp"
SCHEMA = "county_bkp"
CITY = "bkpcity"
PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# --- helpers ------------------------------------------------------------------------------------
def build_county_with_data() -> dict:
    """A committed county with units, people, tokens, matters in several states (some overdue,
    swept: escalation steps and ledger entries), an attachment (a file under MEDIA_ROOT)."""

    def setup():
        from matter_helpers import make_cast, to_state

        from duban.accounts.actions import do_create_user, do_issue_token
        from duban.accounts.models import Role
        from duban.core.clock import as_of
        from duban.matters.actions import do_attach_file
        from duban.supervision import steps
        from duban.units.actions import do_create_unit
        from tenants import provisioning

        provisioning.create_city(CITY, "备份市", actor="tests")
        county = provisioning.create_county(SLUG, "备份县", CITY, actor="tests", admin_username="admin",
                                            admin_password="Test-pass-2026").county
        with tenant_context(county):
            d01 = do_create_unit("D01", "一号局", "department", actor="tests")
            t01 = do_create_unit("T01", "一号镇", "township", actor="tests")
            staff = do_create_user("staff", actor="tests", role=Role.SUPERVISION_STAFF, password="x", full_name="张督办")
            do_create_user("clerk", actor="tests", role=Role.UNIT_STAFF, password="x", unit=d01, full_name="赵科员")
            do_create_user("clerk1", actor="tests", role=Role.UNIT_STAFF, password="x", unit=t01)
            do_issue_token(staff, actor="tests")
            cast = make_cast()
            with as_of(clock.today() - timedelta(days=70)):  # overdue today, whatever today is
                overdue = [to_state(cast, "in_progress", deadline_working_days=10) for _ in range(2)]
            reported = to_state(cast, "reported")
            to_state(cast, "approved")
            opened = steps.sweep(actor="sweep")
            attachment = do_attach_file(overdue[0].pk, actor=cast.lead_clerk,
                                        upload=SimpleUploadedFile("方案.pdf", PDF_BYTES, "application/pdf"))
        return {"county_id": county.pk, "opened": len(opened), "attachment": attachment.file.name,
                "matters": [m.pk for m in overdue] + [reported.pk]}

    return in_thread(setup, timeout=180)


def drop(slug: str = SLUG, *, city: bool = True) -> None:
    """Remove the county (row, hosts, schema) and, if asked and it has no county left, its city."""

    def work():
        from django.db import connection

        from tenants.models import City, County

        connection.set_schema_to_public()
        county = County.objects.filter(slug=slug).first()
        if county is not None:
            owner = county.city
            county.delete(force_drop=True)
            if city and not owner.counties.exists():
                City.objects.filter(pk=owner.pk).delete()
        with connection.cursor() as cursor:  # a failed test may leave the schema without its row
            cursor.execute(f'DROP SCHEMA IF EXISTS "county_{slug}" CASCADE')

    in_thread(work, timeout=120)


def fingerprint(schema: str, *, without_restore_event: bool = False) -> dict:
    """Every table's rows (count and md5 of all rows in a canonical order) and every sequence's
    state, as committed. ``without_restore_event`` leaves out the one audit event a restore adds."""
    tables, sequences = {}, {}
    with raw_connection() as conn:
        names = [n for (n,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1", [schema]).fetchall()]
        for name in names:
            where = ("WHERE t.action <> 'county.restore'"
                     if without_restore_event and name == "audit_auditevent" else "")
            tables[name] = conn.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, \',\' ORDER BY t::text), \'\')) '
                f'FROM "{schema}"."{name}" t {where}').fetchone()
        for (name,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s ORDER BY 1",
                                    [schema]).fetchall():
            sequences[name] = conn.execute(f'SELECT last_value, is_called FROM "{schema}"."{name}"').fetchone()
    return {"tables": tables, "sequences": sequences}


def public_rows(slug: str) -> dict:
    def read():
        from tenants.models import County, Domain

        county = County.objects.select_related("city").get(slug=slug)
        return {"id": county.pk, "name": county.name, "schema": county.schema_name, "city": county.city.code,
                "city_name": county.city.name, "rulepack": (county.rulepack_name, county.rulepack_version),
                "status": county.status, "time_zone": county.time_zone,
                "domains": sorted(Domain.objects.filter(tenant=county).values_list("domain", "is_primary"))}

    return in_thread(read)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def outbox_settled(schema: str, quiet: float = 1.5, timeout: float = 30.0) -> None:
    """Wait until no worker is still delivering the county's notifications (a worker of an earlier
    test may take the deliveries its actions queued on commit): the outbox's rows unchanged for
    ``quiet`` seconds. Otherwise the data can change between the fingerprint and the backup."""
    def state():
        with raw_connection() as conn:
            return conn.execute(
                f'SELECT (SELECT count(*) FROM "{schema}".notifications_deliveryattempt), '
                f'(SELECT string_agg(status || attempts::text, \',\' ORDER BY id) FROM "{schema}".notifications_delivery)'
            ).fetchone()

    deadline = time.monotonic() + timeout
    last, since = state(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = state()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


@pytest.fixture
def committed_county(media):
    drop()
    try:
        facts = build_county_with_data()
        outbox_settled(SCHEMA)
        yield facts
    finally:
        drop()


# --- the round trip -----------------------------------------------------------------------------
def test_dump_one_county_drop_it_restore_it_data_identical(committed_county, media, tmp_path):
    facts = committed_county
    assert facts["opened"] >= 2  # the sweep opened escalation steps: supervision tables hold rows
    before = fingerprint(SCHEMA)
    shape = in_thread(lambda: structure(SCHEMA))  # own connection: no lock outlives the call
    rows_before = public_rows(SLUG)
    attachment = media / facts["attachment"]
    assert attachment.read_bytes() == PDF_BYTES
    populated = {name for name, (count, _) in before["tables"].items() if count}
    assert {"matters_matter", "matters_matterunit", "supervision_escalationstep", "audit_auditevent",
            "accounts_user", "units_unit", "accounts_apitoken", "matters_attachment"} <= populated

    # Back up (through the CLI command), on a connection of its own.
    archive = tmp_path / "bkp.tar"
    out = io.StringIO()
    in_thread(lambda: call_command("county", "backup", SLUG, str(archive), stdout=out))
    printed = out.getvalue()
    assert f"已备份备份县（{SLUG}），数据库模式 {SCHEMA}：{len(before['tables'])} 张表" in printed
    assert "1 个文件，" in printed and str(archive) in printed
    with tarfile.open(archive) as tar:
        assert tar.getnames()[:2] == ["manifest.json", "schema.pgdump"]
        manifest = json.load(tar.extractfile("manifest.json"))
        assert tar.getnames()[2:] == [f"media/{facts['attachment']}"]
    county = manifest["county"]
    assert (county["slug"], county["schema"], county["id"], county["city"]) == (
        SLUG, SCHEMA, facts["county_id"], {"code": CITY, "name": "备份市"})
    assert county["rulepack"] == {"name": rows_before["rulepack"][0], "version": rows_before["rulepack"][1]}
    assert county["domains"] == [{"domain": f"{SLUG}.localhost", "is_primary": True}]
    # pg_dump of the server's own major version (the embedded 16, or the machine's server).
    assert manifest["database"]["pg_dump_major"] == int(manifest["database"]["server_version"].split(".")[0])
    assert manifest["database"]["tables"] == {name: count for name, (count, _) in before["tables"].items()}
    assert manifest["duban_version"] and manifest["created_at"]
    assert fingerprint(SCHEMA) == before  # a backup changes nothing in the county

    # Lose the county entirely: its row, hosts, schema, city, and its files.
    drop()
    shutil.rmtree(media / "counties" / SCHEMA)
    assert not in_thread(lambda: schema_exists(SCHEMA))

    out = io.StringIO()
    in_thread(lambda: call_command("county", "restore", str(archive), stdout=out))
    printed = out.getvalue()
    assert f"已恢复备份县（{SLUG}）到数据库模式 {SCHEMA}：{len(before['tables'])} 张表" in printed
    assert f"县记录：已重建；所属市 {CITY}（已重建）" in printed
    assert f"域名：{SLUG}.localhost（已重建）" in printed

    # Every table row for row, every sequence, the structure, the public rows, the file.
    after = fingerprint(SCHEMA, without_restore_event=True)
    assert after["tables"] == before["tables"]
    audit_seq = "audit_auditevent_id_seq"
    assert after["sequences"].pop(audit_seq)[0] == before["sequences"].pop(audit_seq)[0] + 1  # the restore event
    assert after["sequences"] == before["sequences"]
    assert in_thread(lambda: structure(SCHEMA)) == shape
    assert public_rows(SLUG) == rows_before
    assert attachment.read_bytes() == PDF_BYTES

    # Audited, in the public trail and in the county's own.
    def audits():
        from django_tenants.utils import schema_context

        from duban.audit.models import AuditEvent

        public = list(AuditEvent.objects.filter(action__in=["county.backup", "county.restore"],
                                                object_id=str(facts["county_id"]))
                      .order_by("id").values_list("action", "actor_label"))
        with schema_context(SCHEMA):
            own = list(AuditEvent.objects.filter(action="county.restore").values_list("action", "after"))
        return public, own

    public, own = in_thread(audits)
    assert public == [("county.backup", "cli"), ("county.restore", "cli")]
    assert len(own) == 1 and own[0][1]["row_recreated"] is True and own[0][1]["rows"] == sum(
        count for count, _ in before["tables"].values())

    # The restored county works: the app reads it, the append-only trail still refuses changes.
    def works():
        from django.db import connection

        from duban.matters.models import Matter
        from tenants.models import County

        with tenant_context(County.objects.get(slug=SLUG)):
            count = Matter.objects.filter(pk__in=facts["matters"]).count()
            with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
                cursor.execute("UPDATE audit_auditevent SET note = 'x'")
        return count

    assert in_thread(works) == len(facts["matters"])


def test_restore_refuses_a_county_whose_schema_exists_and_holds_data(world, media, tmp_path):
    archive = tmp_path / "alpha.tar"
    call_command("county", "backup", "alpha", str(archive), stdout=io.StringIO())
    before = fingerprint("county_alpha")
    with pytest.raises(CommandError, match=r"模式 county_alpha 已存在且有数据：恢复从不覆盖县。.*\[schema\]"):
        call_command("county", "restore", str(archive), stdout=io.StringIO())
    assert fingerprint("county_alpha") == before
    # --check reads and verifies the file without touching anything.
    out = io.StringIO()
    call_command("county", "restore", "--check", str(archive), stdout=out)
    assert "甲县（alpha），数据库模式 county_alpha，所属市 testcity" in out.getvalue()
    assert "校验和无误" in out.getvalue()
    # Backups are never overwritten; unknown counties are named.
    with pytest.raises(CommandError, match=r"已存在：请换一个新文件名.*\[file\]"):
        call_command("county", "backup", "alpha", str(archive), stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"没有标识为“nowhere”的县。 \[slug\]"):
        call_command("county", "backup", "nowhere", str(tmp_path / "x.tar"), stdout=io.StringIO())


def _rewrite(source: Path, target: Path, change) -> Path:
    """A copy of the archive ``source`` with ``change(name, data) -> data`` applied to each member."""
    with tarfile.open(source) as tar, tarfile.open(target, "w") as out:
        for info in tar.getmembers():
            data = change(info.name, tar.extractfile(info).read())
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def test_a_bad_file_gives_a_clear_cli_error(world, media, tmp_path):
    def restore(path):
        call_command("county", "restore", str(path), stdout=io.StringIO())

    with pytest.raises(CommandError, match=r"nothing\.tar：没有这个文件。 \[file\]"):
        restore(tmp_path / "nothing.tar")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a backup\n" * 40)
    with pytest.raises(CommandError, match=r"junk\.tar 不是可用的督办县备份：它不是 tar 归档文件。"):
        restore(junk)
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(REPO / "pyproject.toml", arcname="pyproject.toml")
    with pytest.raises(CommandError, match=r"不是可用的督办县备份：缺少 manifest\.json"):
        restore(other)

    good = tmp_path / "alpha.tar"
    call_command("county", "backup", "alpha", str(good), stdout=io.StringIO())
    damaged = _rewrite(good, tmp_path / "damaged.tar",
                       lambda name, data: data[:-100] + bytes(100) if name == "schema.pgdump" else data)
    with pytest.raises(CommandError, match=r"schema\.pgdump 已损坏（SHA-256 与清单所记不同）"):
        call_command("county", "restore", "--check", str(damaged), stdout=io.StringIO())

    def evil(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["county"]["schema"] = 'public"; DROP SCHEMA public; --'
        return json.dumps(manifest).encode()

    with pytest.raises(CommandError, match=r"manifest\.json 不完整或格式有误（模式“.*”与县标识“alpha”不对应）"):
        restore(_rewrite(good, tmp_path / "evil.tar", evil))

    def newer(name, data):
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "format_version": 99}).encode()

    with pytest.raises(CommandError, match=r"由较新版本的督办写成（格式 99"):
        restore(_rewrite(good, tmp_path / "newer.tar", newer))

    # The real CLI: one line on stderr naming the file and the problem, exit status 1, no traceback.
    result = subprocess.run([sys.executable, "-m", "duban.cli", "county", "restore", str(junk)],
                            env=subprocess_env(), capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"CommandError: {junk} 不是可用的督办县备份：它不是 tar 归档文件。 [file]", result.stderr


# --- the client tools of the server's version ----------------------------------------------------
def _fake_tool(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)
    return tool


def _server_major() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def test_the_client_tools_are_chosen_by_the_servers_major_version(world, settings, tmp_path):
    from duban.core import pgclient

    major = _server_major()
    # A pg_dump of another version first in line (DUBAN_PG_BIN) is passed over for the matching one.
    _fake_tool(tmp_path / "old", "pg_dump", f"{major - 1}.9")
    settings.DUBAN_PG_BIN = str(tmp_path / "old")
    found = pgclient.client_for("pg_dump", major)
    assert found.major == major and not found.path.startswith(str(tmp_path))
    assert any(c.path == str(tmp_path / "old" / "pg_dump") and c.major == major - 1
               for c in pgclient.candidates("pg_dump"))
    # DUBAN_PG_BIN holding the server's version wins.
    chosen = _fake_tool(tmp_path / "mine", "pg_restore", f"{major}.1")
    settings.DUBAN_PG_BIN = str(tmp_path / "mine")
    assert pgclient.client_for("pg_restore", major).path == str(chosen)


def test_no_client_of_the_servers_version_is_a_clear_error_naming_it(world, media, tmp_path, monkeypatch):
    """The machine's pg_dump 15 against the embedded PostgreSQL 16, as a fresh machine had it: the
    backup stops before writing anything and says which version it needs."""
    from duban.core import pgclient

    major = _server_major()
    old = _fake_tool(tmp_path / "old", "pg_dump", f"{major - 1}.19")
    monkeypatch.setattr(pgclient, "candidate_folders", lambda: [tmp_path / "old"])
    monkeypatch.setattr(pgclient.shutil, "which", lambda name: None)
    with pytest.raises(pgclient.ClientNotFound) as caught:
        pgclient.client_for("pg_dump", major)
    assert str(caught.value) == (
        f"pg_dump {major} is needed for this PostgreSQL {major} server ({old} is {major - 1}): install "
        f"postgresql-client-{major}, or set DUBAN_PG_BIN to the folder holding pg_dump {major}")

    target = tmp_path / "alpha.tar"
    with pytest.raises(CommandError, match=rf"pg_dump {major} is needed for this PostgreSQL {major} server"):
        call_command("county", "backup", "alpha", str(target), stdout=io.StringIO())
    assert not target.exists() and not list(tmp_path.glob(".duban-backup-*"))
