"""`duban county archive SLUG`: a final backup, then the county's schema and hosts removed, its row
kept and marked archived (issue 20 point 12). Like test_county_backup, the county is committed on a
thread of its own (pg_dump reads on its own connection) and dropped again afterwards."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_exists, tenant_context
from sweep_helpers import in_thread

pytestmark = pytest.mark.django_db

SLUG, SCHEMA, CITY = "arc", "county_arc", "arccity"


def drop() -> None:
    def work():
        from django.db import connection

        from tenants.models import City, County

        connection.set_schema_to_public()
        county = County.objects.filter(slug=SLUG).first()
        if county is not None:
            county.delete(force_drop=True)
        City.objects.filter(code=CITY, counties__isnull=True).delete()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')

    in_thread(work, timeout=120)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def county(media):
    drop()

    def setup():
        from duban.units.actions import do_create_unit
        from tenants import provisioning

        provisioning.create_city(CITY, "归档市", actor="tests")
        county = provisioning.create_county(SLUG, "归档县", CITY, actor="tests", admin_username="admin",
                                            admin_password="Test-pass-2026").county
        with tenant_context(county):
            do_create_unit("D01", "一号局", "department", actor="tests")
        return county.pk

    try:
        yield in_thread(setup, timeout=180)
    finally:
        drop()


def public_state():
    def read():
        from duban.audit.models import AuditEvent
        from tenants.models import County, Domain

        row = County.objects.filter(slug=SLUG).first()
        return {"status": row.status if row else None, "hosts": list(Domain.objects.filter(tenant__slug=SLUG)
                                                                        .values_list("domain", flat=True)),
                "schema": schema_exists(SCHEMA),
                "events": list(AuditEvent.objects.filter(action__startswith="county.", object_id=str(row.pk))
                               .order_by("id").values_list("action", flat=True)) if row else []}

    return in_thread(read)


def archive(*args) -> str:
    out = io.StringIO()
    in_thread(lambda: call_command("county", "archive", *args, stdout=out), timeout=180)
    return out.getvalue()


def test_county_archive_writes_a_backup_then_removes_schema_and_hosts(county, tmp_path):
    target = tmp_path / "arc-final.tar"
    printed = archive(SLUG, "--file", str(target), "--yes")
    assert str(target) in printed and "归档县" in printed
    with tarfile.open(target) as tar:
        assert tar.getnames()[:2] == ["manifest.json", "schema.pgdump"]
    state = public_state()
    assert state["status"] == "archived"  # the row stays: the public audit trail still names it
    assert state["hosts"] == [] and state["schema"] is False
    assert state["events"][-2:] == ["county.backup", "county.archive"]

    def after():
        from duban.audit.models import AuditEvent
        from tenants import provisioning
        from tenants.middleware import CountyMiddleware
        from tenants.models import County

        assert CountyMiddleware.lookup_in_database(f"{SLUG}.localhost") is None  # no longer served

        event = AuditEvent.objects.filter(action="county.archive").latest("id")
        active = list(County.objects.filter(status=County.Status.ACTIVE).values_list("slug", flat=True))
        with pytest.raises(provisioning.ProvisioningError, match="归档"):
            provisioning.set_status(SLUG, County.Status.ACTIVE, actor="tests")
        return event.after, active

    change, active = in_thread(after)
    assert change["file"] == str(target) and change["hosts"] == [f"{SLUG}.localhost"]
    assert SLUG not in active  # no longer swept, refreshed or fanned out to
    with pytest.raises(CommandError, match="归档"):  # twice
        archive(SLUG, "--file", str(tmp_path / "again.tar"), "--yes")

    # The archive's backup restores: schema, hosts, and the county active again.
    out = io.StringIO()
    in_thread(lambda: call_command("county", "restore", str(target), stdout=out), timeout=180)
    state = public_state()
    assert state["status"] == "active" and state["hosts"] == [f"{SLUG}.localhost"] and state["schema"] is True

    def units():
        from duban.units.models import Unit
        from tenants.models import County

        with tenant_context(County.objects.get(slug=SLUG)):
            return list(Unit.objects.values_list("code", flat=True))

    assert in_thread(units) == ["D01"]


def test_county_archive_refuses_without_a_backup(county, tmp_path):
    # Without --yes (and no terminal to ask on): refused, nothing written.
    with pytest.raises(CommandError, match="--yes"):
        archive(SLUG, "--file", str(tmp_path / "a.tar"))
    assert not (tmp_path / "a.tar").exists()
    # The backup cannot be written (its folder is missing; an existing file is never overwritten).
    with pytest.raises(CommandError, match="备份"):
        archive(SLUG, "--file", str(tmp_path / "missing" / "a.tar"), "--yes")
    taken = tmp_path / "taken.tar"
    taken.write_bytes(b"")
    with pytest.raises(CommandError, match="备份"):
        archive(SLUG, "--file", str(taken), "--yes")
    state = public_state()
    assert state["status"] == "active" and state["hosts"] == [f"{SLUG}.localhost"] and state["schema"] is True
    assert "county.archive" not in state["events"]
    # An unknown county.
    with pytest.raises(CommandError, match="nosuch"):
        archive("nosuch", "--file", str(tmp_path / "b.tar"), "--yes")


def test_county_archive_refuses_when_the_written_backup_is_empty(county, tmp_path, monkeypatch):
    from tenants import archiving

    def empty_backup(slug, destination, *, actor, media_root=None):
        open(destination, "wb").close()
        return None

    monkeypatch.setattr(archiving.backup, "backup_county", empty_backup)
    with pytest.raises(CommandError, match="备份"):
        archive(SLUG, "--file", str(tmp_path / "c.tar"), "--yes")
    state = public_state()
    assert state["status"] == "active" and state["schema"] is True
