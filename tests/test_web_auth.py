"""The web UI's front door: login per county host and on the public host, lockout after
repeated failures (django-axes), the TOTP second step (django-otp), the idle timeout, the role
homes, the language switch and the completeness of the English catalogue.

Requests go through Django's test client with the county's Host header, on the real database.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django_otp.oath import totp
from django_tenants.utils import schema_context, tenant_context
from matter_helpers import PASSWORD, make_cast, to_state

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.web.middleware import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
PO_FILE = REPO / "platform" / "duban" / "locale" / "en" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue():
    """`make` compiles the catalogues; a bare pytest run compiles the English one if it is stale."""
    mo = PO_FILE.with_suffix(".mo")
    if PO_FILE.exists() and (not mo.exists() or mo.stat().st_mtime < PO_FILE.stat().st_mtime):
        from django.core.management import call_command

        call_command("compilemessages", locale=["en"], verbosity=0)
    from django.utils.translation import trans_real

    trans_real._translations = {}  # forget catalogues loaded before the compile
    trans_real._default = None
    yield


def host(county) -> str:
    return f"{county.slug}.{settings.DUBAN_BASE_DOMAIN}"


def login(client: Client, county_host: str, username: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password, **extra}, HTTP_HOST=county_host)


def totp_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


# --- login ------------------------------------------------------------------------------------
def test_login_page_is_chinese_and_names_the_county(world):
    page = Client().get("/login/", HTTP_HOST=host(world.alpha))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'lang="zh-CN"' in body
    assert "甲县" in body and "登录" in body and "用户名" in body and "密码" in body
    # An English-language browser still gets Chinese until the user picks English.
    page = Client().get("/login/", HTTP_HOST=host(world.alpha), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="zh-CN"' in page.content.decode()


def test_login_works_on_the_county_host_and_lands_on_the_role_home(world):
    client = Client()
    response = login(client, host(world.alpha), "staff")
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/", HTTP_HOST=host(world.alpha))
    assert home.status_code == 302 and home["Location"] == "/todo/"
    # `next` is honoured, but only on this host.
    client = Client()
    assert login(client, host(world.alpha), "clerk", next="/unit/")["Location"] == "/unit/"
    client = Client()
    assert login(client, host(world.alpha), "clerk", next="https://evil.example.com/")["Location"] == "/"


def test_wrong_password_is_refused_with_a_chinese_message(world):
    response = login(Client(), host(world.alpha), "staff", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_a_user_of_another_county_cannot_log_in_here(world):
    with schema_context(world.beta.schema_name):
        do_create_user("beta_only", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
    refused = login(Client(), host(world.alpha), "beta_only")
    assert refused.status_code == 200 and "用户名或密码不正确" in refused.content.decode()
    client = Client()
    assert login(client, host(world.beta), "beta_only").status_code == 302
    assert client.get("/", HTTP_HOST=host(world.beta))["Location"] == "/todo/"
    # The beta session means nothing on alpha's host.
    on_alpha = client.get("/", HTTP_HOST=host(world.alpha))
    assert on_alpha.status_code == 302 and on_alpha["Location"] == "/login/"


def test_logout_ends_the_session(world):
    client = Client()
    login(client, host(world.alpha), "clerk")
    assert client.get("/unit/", HTTP_HOST=host(world.alpha)).status_code == 200
    assert client.get("/logout/", HTTP_HOST=host(world.alpha)).status_code == 200  # asks first
    out = client.post("/logout/", HTTP_HOST=host(world.alpha))
    assert out.status_code == 302 and out["Location"] == "/login/"
    again = client.get("/unit/", HTTP_HOST=host(world.alpha))
    assert again.status_code == 302 and again["Location"].startswith("/login/?next=/unit/")


# --- lockout ----------------------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_user_out_with_a_chinese_page(world):
    client = Client()
    for attempt in range(1, 5):
        response = login(client, host(world.alpha), "clerk1", f"wrong-{attempt}")
        assert response.status_code == 200, attempt
    locked = login(client, host(world.alpha), "clerk1", "wrong-5")
    assert locked.status_code == 403
    body = locked.content.decode()
    assert "登录已暂时锁定" in body and "请于以下时间之后再试" in body
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", body)  # the time to retry
    # The right password is refused too while locked out, and no session is created.
    still = login(client, host(world.alpha), "clerk1", PASSWORD)
    assert still.status_code == 403 and "登录已暂时锁定" in still.content.decode()
    assert client.get("/unit/", HTTP_HOST=host(world.alpha)).status_code == 302
    # The lockout is this county's: the same user name in beta logs in.
    assert login(Client(), host(world.beta), "clerk1").status_code == 302
    with schema_context(world.alpha.schema_name):
        from axes.models import AccessAttempt

        assert AccessAttempt.objects.filter(username="clerk1", failures_since_start__gte=5).exists()


# --- TOTP -------------------------------------------------------------------------------------
def _device_for(user, confirmed=True):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="test", confirmed=confirmed)


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
def test_a_user_with_a_confirmed_device_must_give_the_code(world):
    with tenant_context(world.alpha):
        office = do_create_user("otp_office", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
        device = _device_for(office)
    client = Client()
    response = login(client, host(world.alpha), "otp_office", next="/office/")
    assert response.status_code == 302 and response["Location"] == "/login/otp/?next=%2Foffice%2F"
    # Nothing else is reachable before the code.
    blocked = client.get("/office/", HTTP_HOST=host(world.alpha))
    assert blocked.status_code == 302 and blocked["Location"].startswith("/login/otp/")
    page = client.get("/login/otp/?next=/office/", HTTP_HOST=host(world.alpha))
    assert page.status_code == 200 and "动态验证码" in page.content.decode()
    wrong = client.post("/login/otp/", {"token": "000000" if totp_code(device) != "000000" else "111111",
                                        "next": "/office/"}, HTTP_HOST=host(world.alpha))
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    assert client.get("/office/", HTTP_HOST=host(world.alpha)).status_code == 302
    ok = client.post("/login/otp/", {"token": totp_code(device), "next": "/office/"}, HTTP_HOST=host(world.alpha))
    assert ok.status_code == 302 and ok["Location"] == "/office/"
    assert client.get("/office/", HTTP_HOST=host(world.alpha)).status_code == 200


def test_roles_without_otp_and_users_without_a_device_go_straight_in(world):
    with tenant_context(world.alpha):
        clerk = User.objects.get(username="clerk")
        _device_for(clerk)  # unit staff are not asked for a code even with a device
        office = do_create_user("otp_none", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
        _device_for(office, confirmed=False)  # an unconfirmed device does not count
    for username, home in (("clerk", "/unit/"), ("otp_none", "/office/")):
        client = Client()
        login(client, host(world.alpha), username)
        assert client.get(home, HTTP_HOST=host(world.alpha)).status_code == 200, username


def test_the_admin_login_cannot_skip_the_code(world):
    with tenant_context(world.alpha):
        _device_for(User.objects.get(username="admin"))
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD},
                           HTTP_HOST=host(world.alpha))
    assert response.status_code == 302
    admin = client.get("/admin/", HTTP_HOST=host(world.alpha))
    assert admin.status_code == 302 and admin["Location"].startswith("/login/otp/")
    api = client.get("/api/v1/me/", HTTP_HOST=host(world.alpha))
    assert api.status_code == 403 and api.json()["error"]["code"] == "otp_required"


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
def test_setting_up_a_device_with_a_qr_code_and_a_confirmation_code(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    login(client, host(world.alpha), "staff")
    page = client.get("/account/otp/", HTTP_HOST=host(world.alpha))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "扫描二维码" in body
    with tenant_context(world.alpha):
        device = TOTPDevice.objects.get(user__username="staff", confirmed=False)
    assert device.config_url.split("secret=")[1][:8] in body.replace(" ", "") or "data-otp-secret" in body
    bad = client.post("/account/otp/", {"action": "confirm", "token": "12345"}, HTTP_HOST=host(world.alpha))
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    ok = client.post("/account/otp/", {"action": "confirm", "token": totp_code(device)}, HTTP_HOST=host(world.alpha))
    assert ok.status_code == 302
    with tenant_context(world.alpha):
        assert TOTPDevice.objects.get(pk=device.pk).confirmed
    # The next login asks for the code.
    client = Client()
    assert login(client, host(world.alpha), "staff")["Location"].startswith("/login/otp/")
    # Unit staff have no such page.
    clerk = Client()
    login(clerk, host(world.alpha), "clerk")
    assert clerk.get("/account/otp/", HTTP_HOST=host(world.alpha)).status_code == 403


# --- idle timeout -----------------------------------------------------------------------------
@override_settings(DUBAN_IDLE_TIMEOUT_SECONDS=60)
def test_idle_timeout_logs_out(world):
    client = Client()
    login(client, host(world.alpha), "clerk")
    assert client.get("/unit/", HTTP_HOST=host(world.alpha)).status_code == 200

    def set_last_activity(seconds_ago: int):
        with tenant_context(world.alpha):  # the session lives in the county's schema
            session = client.session
            assert LAST_ACTIVITY_KEY in session
            session[LAST_ACTIVITY_KEY] = int(time.time()) - seconds_ago
            session.save()

    set_last_activity(30)  # within the timeout: still signed in
    assert client.get("/unit/", HTTP_HOST=host(world.alpha)).status_code == 200
    set_last_activity(61)
    out = client.get("/unit/", HTTP_HOST=host(world.alpha))
    assert out.status_code == 302 and out["Location"] == "/login/?next=%2Funit%2F"
    page = client.get(out["Location"], HTTP_HOST=host(world.alpha))
    assert "长时间未操作" in page.content.decode()
    assert client.get("/unit/", HTTP_HOST=host(world.alpha)).status_code == 302


# --- role homes -------------------------------------------------------------------------------
@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def test_root_sends_each_role_to_its_home(world, cast):
    with tenant_context(world.alpha):
        to_state(cast, "reported")  # something to show on the homes
    assert Client().get("/", HTTP_HOST=host(world.alpha))["Location"] == "/login/"
    expected = {"staff": "/todo/", "m_leader": "/leader/", "m_office": "/office/", "clerk": "/unit/",
                "admin": "/admin/"}
    pages = {}
    for username, home in expected.items():
        client = Client()
        assert login(client, host(world.alpha), username).status_code == 302, username
        response = client.get("/", HTTP_HOST=host(world.alpha))
        assert response.status_code == 302 and response["Location"] == home, username
        if home in ("/leader/", "/office/", "/unit/"):
            page = client.get(home, HTTP_HOST=host(world.alpha))
            assert page.status_code == 200, (username, page.content[:300])
            pages[home] = page.content.decode()
    assert "推进老旧小区改造" in pages["/leader/"] and "我提出的事项" in pages["/leader/"]
    assert "待审核结果" in pages["/office/"] and "推进老旧小区改造" in pages["/office/"] and "/ledger/" in pages["/office/"]
    assert "一号局" in pages["/unit/"] and "/scores/D01/" in pages["/unit/"] and "推进老旧小区改造" in pages["/unit/"]
    assert "〔" in pages["/unit/"]  # the assignment notice the unit received
    # Navigation per role, with the unread count of the inbox.
    assert 'href="/register/"' in pages["/office/"] and 'href="/register/"' not in pages["/unit/"]
    assert 'href="/notifications/"' in pages["/unit/"]


def test_a_role_home_is_refused_to_other_roles(world, cast):
    client = Client()
    login(client, host(world.alpha), "clerk")
    assert client.get("/leader/", HTTP_HOST=host(world.alpha)).status_code == 403
    assert client.get("/office/", HTTP_HOST=host(world.alpha)).status_code == 403
    assert Client().get("/unit/", HTTP_HOST=host(world.alpha))["Location"] == "/login/?next=/unit/"


# --- language ---------------------------------------------------------------------------------
def test_language_switch_sets_english(world):
    client = Client()
    login(client, host(world.alpha), "clerk")
    chinese = client.get("/unit/", HTTP_HOST=host(world.alpha)).content.decode()
    assert "本单位事项" in chinese and 'action="/i18n/setlang/"' in chinese
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/unit/"}, HTTP_HOST=host(world.alpha))
    assert switched.status_code == 302 and switched["Location"] == "/unit/"
    english = client.get("/unit/", HTTP_HOST=host(world.alpha)).content.decode()
    assert 'lang="en"' in english
    assert "本单位事项" not in english and "Matters of my unit" in english
    assert "Sign out" in english
    login_page = Client()
    login_page.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Sign in" in login_page.get("/login/", HTTP_HOST=host(world.alpha)).content.decode()


def _po_entries(text: str):
    """(msgid, msgstr, flags) of every entry of a .po file (msgstr of a plural entry: all forms)."""
    entries, current, key, flags = [], None, None, ""
    for line in text.splitlines() + [""]:
        line = line.strip()
        if not line:
            if current is not None:
                entries.append((current.get("msgid", ""), current, flags))
            current, key, flags = None, None, ""
            continue
        if line.startswith("#,"):
            flags = line
            continue
        if line.startswith("#"):
            continue
        current = current if current is not None else {}
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
        if match:
            key = match.group(1)
            current[key] = match.group(2)
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
    return entries


def test_english_catalogue_is_complete():
    entries = _po_entries(PO_FILE.read_text(encoding="utf-8"))
    assert len(entries) > 200
    empty = [msgid for msgid, entry, _flags in entries if msgid
             and any(not value for name, value in entry.items() if name.startswith("msgstr"))]
    fuzzy = [msgid for msgid, _entry, flags in entries if msgid and "fuzzy" in flags]
    assert not empty, f"{len(empty)} untranslated: {empty[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:10]}"


# Folders makemessages does not read (the same list as `make makemessages`, plus the catalogues).
MAKEMESSAGES_IGNORE = [".venv", "node_modules", ".duban", "tests", "bench", "build", "helm", "docs", "dist",
                       "locale", "*/locale"]


def test_every_translatable_string_has_an_english_translation(tmp_path, monkeypatch):
    """Extract the messages of the whole project again (as `make makemessages` does, into a
    copy of the catalogue): every one of them must already be translated."""
    from django.core.management import call_command

    locale = tmp_path / "locale"
    shutil.copytree(PO_FILE.parent.parent.parent, locale, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.chdir(REPO)
    with override_settings(LOCALE_PATHS=[locale]):
        call_command("makemessages", locale=["en"], ignore_patterns=MAKEMESSAGES_IGNORE, no_obsolete=True,
                     no_wrap=True, add_location="file", verbosity=0)
    entries = _po_entries((locale / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    untranslated = [msgid for msgid, entry, flags in entries if msgid and (
        "fuzzy" in flags or any(not value for name, value in entry.items() if name.startswith("msgstr")))]
    assert not untranslated, (
        f"{len(untranslated)} message(s) without an English translation — run `make makemessages` and "
        f"translate them in {PO_FILE.relative_to(REPO)}: {untranslated[:15]}")


# --- the public host --------------------------------------------------------------------------
def test_public_host_login_city_portal_and_operator_page(world):
    from tenants.models import City, CityMembership

    with schema_context("public"):
        city_user = do_create_user("cityview", actor="tests", role=Role.CITY_USER, password=PASSWORD)
        CityMembership.objects.create(user=city_user, city=City.objects.get(code="testcity"))
        do_create_user("operator", actor="tests", role=Role.PLATFORM_OPERATOR, password=PASSWORD)
    assert Client().get("/", HTTP_HOST="localhost").status_code == 200
    page = Client().get("/login/", HTTP_HOST="localhost")
    assert page.status_code == 200 and "督办平台" in page.content.decode()
    # A county's user does not exist on the public host.
    assert login(Client(), "localhost", "staff").status_code == 200

    city = Client()
    assert login(city, "localhost", "cityview").status_code == 302
    assert city.get("/", HTTP_HOST="localhost")["Location"] == "/city/"
    portal = city.get("/city/", HTTP_HOST="localhost")
    assert portal.status_code == 200
    body = portal.content.decode()
    assert "甲县" in body and "乙县" in body and 'id="chart-scores"' in body
    assert "http://alpha.localhost:8000/" in body
    assert city.get("/platform/", HTTP_HOST="localhost").status_code == 403

    operator = Client()
    login(operator, "localhost", "operator")
    assert operator.get("/", HTTP_HOST="localhost")["Location"] == "/platform/"
    listing = operator.get("/platform/", HTTP_HOST="localhost").content.decode()
    assert "甲县" in listing and "county_default" in listing and "正常" in listing
    assert operator.get("/city/", HTTP_HOST="localhost").status_code == 403
