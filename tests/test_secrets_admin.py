"""Issue 18 point 5: the county admin must not read API token keys or TOTP keys, and roles change
only through the app's audited action.

Each test performs the attack: a county admin browses the admin site looking for secrets, reads
the database looking for a usable key, or posts a role change straight to /admin/.
"""

from __future__ import annotations

import base64
import importlib
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from duban.accounts import actions as account_actions
from duban.accounts.actions import do_create_user, do_issue_token
from duban.accounts.models import Role
from duban.audit.models import AuditEvent
from duban.core.errors import Invalid
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def host(county) -> str:
    return f"{county.slug}.{settings.DUBAN_BASE_DOMAIN}"


def user(username):
    return get_user_model().objects.get(username=username)


def admin_client(county) -> Client:
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD},
                        HTTP_HOST=host(county))
    assert login.status_code == 302, login.content[:500]
    return client


def admin_pages(client: Client, county) -> dict[str, str]:
    """Every model's changelist and the change page of its first few objects, as the county admin
    sees them on the county's host."""
    pages = {}
    for model, _model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(base, HTTP_HOST=host(county))
        if response.status_code != 200:
            continue
        pages[base] = response.content.decode()
        with tenant_context(county):
            pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:20])
        for pk in pks:
            for suffix in ("change/", "config/", "qrcode/"):
                page = client.get(f"{base}{pk}/{suffix}", HTTP_HOST=host(county))
                if page.status_code == 200:
                    pages[f"{base}{pk}/{suffix}"] = page.content.decode(errors="replace")
    return pages


def test_no_admin_page_shows_an_api_token_key(world):
    with tenant_context(world.alpha):
        key = do_issue_token(user("clerk1"), actor="tests")
    pages = admin_pages(admin_client(world.alpha), world.alpha)
    assert any("accounts/user" in path for path in pages)  # the admin could browse
    leaking = [path for path, body in pages.items() if key in body]
    assert leaking == [], f"the API key of clerk1 is shown on {leaking}"


def test_no_admin_page_shows_a_totp_key(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice  # django_otp's models need the app registry

    with tenant_context(world.alpha):
        device = TOTPDevice.objects.create(user=user("staff"), name="手机", confirmed=True)
        hex_key = device.key
        b32_key = base64.b32encode(device.bin_key).decode()
    client = admin_client(world.alpha)
    pages = admin_pages(client, world.alpha)
    assert any("totpdevice" in path for path in pages)  # the device admin is there, without the key
    leaking = [path for path, body in pages.items()
               if hex_key in body or b32_key in body or b32_key.rstrip("=") in body]
    assert leaking == [], f"the TOTP key of staff is shown on {leaking}"
    for view in ("config", "qrcode"):  # django_otp's QR code pages carry the key: not served
        page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{view}/", HTTP_HOST=host(world.alpha))
        assert page.status_code != 200
        followed = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{view}/", HTTP_HOST=host(world.alpha),
                              follow=True)
        assert hex_key not in followed.content.decode(errors="replace")
        assert b32_key.rstrip("=") not in followed.content.decode(errors="replace")


def _rows_holding(text: str, schema: str) -> list[str]:
    """Every text column of every table in ``schema`` whose value contains ``text``."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = %s
                            AND data_type IN ('character varying', 'text', 'character', 'jsonb', 'json')""",
                       [schema])
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE %s',
                           [f"%{text}%"])
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_the_database_holds_no_raw_api_key(world):
    with tenant_context(world.alpha):
        key = do_issue_token(user("clerk1"), actor="tests")
        assert _rows_holding(key, world.alpha.schema_name) == []
        assert _rows_holding(key[8:], world.alpha.schema_name) == []  # nor the part after the prefix
    assert _rows_holding(key, "public") == []


def test_an_issued_key_authenticates_on_its_own_county_only(world):
    with tenant_context(world.alpha):
        key = do_issue_token(user("clerk1"), actor="tests")
    client = Client()
    me = client.get("/api/v1/me/", HTTP_HOST=host(world.alpha), HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200 and me.json()["username"] == "clerk1"
    assert client.get("/api/v1/me/", HTTP_HOST=host(world.beta),
                      HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    wrong = key[:8] + ("0" if key[8] != "0" else "1") + key[9:]  # the right prefix, a wrong rest
    assert client.get("/api/v1/me/", HTTP_HOST=host(world.alpha),
                      HTTP_AUTHORIZATION=f"Token {wrong}").status_code == 401
    with tenant_context(world.alpha):
        again = do_issue_token(user("clerk1"), actor="tests")  # rotating stops the old key
    assert client.get("/api/v1/me/", HTTP_HOST=host(world.alpha),
                      HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert client.get("/api/v1/me/", HTTP_HOST=host(world.alpha),
                      HTTP_AUTHORIZATION=f"Token {again}").status_code == 200


def test_a_key_issued_before_the_upgrade_keeps_working_and_is_no_longer_stored(world):
    """A county schema as it was before: DRF's authtoken table holding a raw key. The data
    migration hashes it into the new table and drops the old one."""
    old_key = "0123456789abcdef0123456789abcdef01234567"
    migration = importlib.import_module("duban.accounts.migrations.0002_apitoken_hash_old_keys")
    with tenant_context(world.alpha):
        clerk1 = user("clerk1")
        with connection.cursor() as cursor:
            cursor.execute("""CREATE TABLE IF NOT EXISTS authtoken_token (
                                  key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,
                                  user_id bigint NOT NULL UNIQUE)""")
            cursor.execute("DELETE FROM authtoken_token WHERE user_id = %s", [clerk1.pk])
            cursor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, now(), %s)",
                           [old_key, clerk1.pk])
        migration.hash_old_keys(None, SimpleNamespace(connection=connection))
        assert _rows_holding(old_key, world.alpha.schema_name) == []
    me = Client().get("/api/v1/me/", HTTP_HOST=host(world.alpha), HTTP_AUTHORIZATION=f"Token {old_key}")
    assert me.status_code == 200 and me.json()["username"] == "clerk1"


def _change_form(target) -> dict:
    return {
        "username": target.username, "full_name": target.full_name, "phone": target.phone,
        "first_name": "", "last_name": "", "email": target.email,
        "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "role": Role.OFFICE_LEADER, "unit": "",
        "date_joined_0": target.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": target.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
    }


def test_a_role_change_posted_to_the_admin_site_changes_nothing(world):
    with tenant_context(world.alpha):
        target = do_create_user("promote_me", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
        events_before = AuditEvent.objects.count()
    client = admin_client(world.alpha)
    page = client.get(f"/admin/accounts/user/{target.pk}/change/", HTTP_HOST=host(world.alpha))
    assert page.status_code == 200
    client.post(f"/admin/accounts/user/{target.pk}/change/", _change_form(target), HTTP_HOST=host(world.alpha))
    with tenant_context(world.alpha):
        target.refresh_from_db()
        assert target.role == Role.SUPERVISION_STAFF, "the admin site changed a role without the app's action"
        assert not target.is_superuser and not target.is_staff
        assert not AuditEvent.objects.filter(action="user.role").exists()
        assert AuditEvent.objects.count() >= events_before
    added = client.post("/admin/accounts/user/add/", {"username": "sneaky", "password1": "Xy-secret-2026",
                                                      "password2": "Xy-secret-2026", "usable_password": "true"},
                        HTTP_HOST=host(world.alpha))
    assert added.status_code == 403
    with tenant_context(world.alpha):
        assert not get_user_model().objects.filter(username="sneaky").exists()


def test_the_role_action_changes_the_role_and_audits_it(world):
    with tenant_context(world.alpha):
        admin_user = user("admin")
        target = do_create_user("move_me", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
        changed = account_actions.do_change_role(target, actor=admin_user, role=Role.OFFICE_LEADER)
        assert changed.role == Role.OFFICE_LEADER
        target.refresh_from_db()
        assert target.role == Role.OFFICE_LEADER
        event = AuditEvent.objects.get(action="user.role", object_id=str(target.pk))
        assert event.actor == admin_user
        assert event.before == {"role": Role.SUPERVISION_STAFF, "unit": None}
        assert event.after == {"role": Role.OFFICE_LEADER, "unit": None}
        with pytest.raises(Invalid) as bad:
            account_actions.do_change_role(target, actor=admin_user, role=Role.UNIT_STAFF)
        assert bad.value.field == "unit"
        with pytest.raises(Invalid) as self_change:
            account_actions.do_change_role(admin_user, actor=admin_user, role=Role.SUPERVISION_STAFF)
        assert self_change.value.field == "username"
        with pytest.raises(Invalid) as not_admin:
            account_actions.do_change_role(target, actor=user("staff"), role=Role.COUNTY_LEADER)
        assert not_admin.value.field == "role"
        target.refresh_from_db()
        assert target.role == Role.OFFICE_LEADER


def test_the_county_admin_changes_a_role_through_the_api(world):
    with tenant_context(world.alpha):
        admin_key = do_issue_token(user("admin"), actor="tests")
        target = do_create_user("api_move", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
    client = Client()
    url = f"/api/v1/users/{target.pk}/role/"
    auth = {"HTTP_HOST": host(world.alpha), "HTTP_AUTHORIZATION": f"Token {admin_key}"}
    bad = client.post(url, {"role": "emperor"}, content_type="application/json", **auth)
    assert bad.status_code == 400 and "role" in bad.json()["error"]["fields"]
    no_unit = client.post(url, {"role": Role.UNIT_STAFF}, content_type="application/json", **auth)
    assert no_unit.status_code == 400 and "unit" in no_unit.json()["error"]["fields"]
    ok = client.post(url, {"role": Role.UNIT_STAFF, "unit": "T01"}, content_type="application/json", **auth)
    assert ok.status_code == 200, ok.content
    assert ok.json()["role"] == Role.UNIT_STAFF and ok.json()["unit"] == "T01"
    staff = client.post(url, {"role": Role.COUNTY_LEADER}, content_type="application/json",
                        HTTP_HOST=host(world.alpha), HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert staff.status_code in (403, 404)
    with tenant_context(world.alpha):
        target.refresh_from_db()
        assert (target.role, target.unit.code) == (Role.UNIT_STAFF, "T01")
        assert AuditEvent.objects.filter(action="user.role", object_id=str(target.pk)).count() == 1


def test_what_the_admin_site_may_still_change_about_a_user_is_audited(world):
    """Deactivating a user or setting their password in the admin site is a state change like any
    other: each leaves an audit event (who, which user, which fields; never the password)."""
    with tenant_context(world.alpha):
        target = do_create_user("leaving_clerk", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
    client = admin_client(world.alpha)
    form = dict(_change_form(target), full_name="离任人员", is_staff="", is_superuser="",
                role=Role.SUPERVISION_STAFF)
    form.pop("is_active")  # unticked: deactivate
    saved = client.post(f"/admin/accounts/user/{target.pk}/change/", form, HTTP_HOST=host(world.alpha))
    assert saved.status_code == 302, saved.content[:2000]
    changed = client.post(f"/admin/accounts/user/{target.pk}/password/",
                          {"password1": "New-secret-2026x", "password2": "New-secret-2026x",
                           "usable_password": "true"}, HTTP_HOST=host(world.alpha))
    assert changed.status_code == 302, changed.content[:2000]
    with tenant_context(world.alpha):
        target.refresh_from_db()
        assert not target.is_active and target.full_name == "离任人员"
        admin_user = user("admin")
        details = AuditEvent.objects.get(action="user.update", object_id=str(target.pk))
        assert details.actor == admin_user
        assert details.before == {"is_active": True, "full_name": ""}
        assert details.after == {"is_active": False, "full_name": "离任人员"}
        password = AuditEvent.objects.get(action="user.password", object_id=str(target.pk))
        assert password.actor == admin_user
        assert "New-secret-2026x" not in str(password.before) + str(password.after)
