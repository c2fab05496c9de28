"""The platform operator's web console on the public host (issue 20 point 12): cities, counties
(create, suspend, resume, switch rule pack) and city users (add, list, remove), through the same
provisioning functions as `duban county …` and `duban city …`, audited with the operator as the
actor; refused to everyone else; bad input answered 400 with the field named."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from packs_fixture import on_path, pip_install

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.audit.models import AuditEvent
from tenants import provisioning
from tenants.models import City, CityMembership, County

pytestmark = pytest.mark.django_db
HOST = {"HTTP_HOST": "localhost"}


@pytest.fixture
def operator(world):
    connection.set_schema_to_public()
    user = do_create_user("ops_console", actor="tests", role=Role.PLATFORM_OPERATOR, password=PASSWORD,
                          full_name="平台运维")
    client = Client()
    client.force_login(user)
    return client


def _events(action, **after):
    """This test's audit events of ``action`` by the console's operator (the public schema is shared)."""
    return AuditEvent.objects.filter(action=action, actor_label="user:ops_console", **{
        f"after__{k}": v for k, v in after.items()})


def _field_error(response, field) -> str:
    """The error the page shows for ``field`` (``data-field``), with status 400."""
    assert response.status_code == 400, response.status_code
    body = response.content.decode()
    found = re.search(rf'<ul class="errorlist[^"]*"[^>]*data-field="{field}"[^>]*>(.*?)</ul>', body, re.S)
    assert found, f"no error for {field} on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_console_lists_every_county_with_its_status_pack_and_host(operator, world):
    page = operator.get("/platform/", **HOST)
    assert page.status_code == 200
    body = page.content.decode()
    assert "运维控制台" in body and 'data-county="alpha"' in body and 'data-county="beta"' in body
    assert "county_default" in body and "http://alpha." in body and "/platform/counties/alpha/" in body
    assert operator.get("/platform/counties/alpha/", **HOST).status_code == 200
    assert operator.get("/platform/counties/nosuch/", **HOST).status_code == 404


def test_create_a_county_from_the_web_as_the_cli_does(operator):
    page = operator.get("/platform/counties/new/", **HOST)
    assert page.status_code == 200 and "county_default==" in page.content.decode()
    done = operator.post("/platform/counties/new/", {
        "slug": "webcounty", "name": "网开县", "city": "testcity", "rulepack": "county_default==1.0.0",
        "abbreviation": "网", "admin": "boss", "admin_password": ""}, **HOST)
    assert done.status_code == 200
    body = done.content.decode()
    county = County.objects.get(slug="webcounty")
    assert (county.name, county.city.code, county.abbreviation, county.status) == ("网开县", "testcity", "网", "active")
    shown = re.search(r'<code id="admin-password">([^<]+)</code>', body).group(1)  # the random password, shown once
    with schema_context(county.schema_name):
        boss = User.objects.get(username="boss")
        assert boss.role == Role.COUNTY_ADMIN and boss.check_password(shown)
        # In the county's own trail the operator is named (a public user is no row of the county's users).
        assert AuditEvent.objects.filter(action="county.create", actor_label="user:ops_console", actor=None).exists()
    connection.set_schema_to_public()
    event = _events("county.create", slug="webcounty").get()
    assert event.actor.username == "ops_console" and event.after["rulepack"] == "county_default==1.0.0"


@pytest.mark.parametrize("data, field", [
    ({"slug": "9 slug"}, "slug"),            # the CLI's slug rule
    ({"slug": "alpha"}, "slug"),             # taken
    ({"slug": "platform"}, "slug"),          # reserved
    ({"name": ""}, "name"),                  # the form: required, in Chinese
    ({"city": "nocity"}, "city"),            # not a city
    ({"rulepack": "nopack==9"}, "rulepack"),  # only installed packs
    ({"abbreviation": "E"}, "abbreviation"),  # 1–4 Chinese characters
])
def test_bad_county_input_is_400_naming_the_field_and_creates_nothing(operator, data, field):
    post = {"slug": "webbad", "name": "坏县", "city": "testcity", "rulepack": "county_default==1.0.0",
            "abbreviation": "", "admin": "admin", "admin_password": ""}
    post.update(data)
    before = County.objects.count()
    message = _field_error(operator.post("/platform/counties/new/", post, **HOST), field)
    assert re.search(r"[\u4e00-\u9fff]", message) and not re.search(r"[A-Za-z]{3,} [A-Za-z]{2,}", message), message
    assert County.objects.count() == before and not County.objects.filter(slug="webbad").exists()


def test_suspend_and_resume_a_county_audited(operator, world):
    done = operator.post("/platform/counties/beta/suspend/", {"reason": "欠费暂停"}, **HOST)
    assert done.status_code == 302 and done["Location"] == "/platform/counties/beta/"
    beta = County.objects.get(slug="beta")
    assert (beta.status, beta.status_reason) == ("suspended", "欠费暂停")
    assert _events("county.suspend", reason="欠费暂停").filter(object_id=str(beta.pk)).exists()
    page = operator.get("/platform/counties/beta/", **HOST).content.decode()
    assert 'data-status="suspended"' in page and "已暂停" in page and 'id="resume-form"' in page
    # Suspended twice: refused, the field named, nothing changed.
    assert "已暂停" in _field_error(operator.post("/platform/counties/beta/suspend/", {"reason": ""}, **HOST), "status")
    assert operator.post("/platform/counties/beta/resume/", {"reason": "已缴费"}, **HOST).status_code == 302
    beta.refresh_from_db()
    assert beta.status == "active"
    assert _events("county.resume", reason="已缴费").filter(object_id=str(beta.pk)).exists()
    assert operator.get("/platform/counties/beta/suspend/", **HOST).status_code == 405


def test_switch_the_rule_pack_only_to_an_installed_one(operator, world):
    _field_error(operator.post("/platform/counties/alpha/rulepack/", {"rulepack": "nopack==1.0"}, **HOST), "rulepack")
    # Already on it: the provisioning function's refusal, under the same field, in Chinese.
    assert "已在使用规则包 county_default==1.0.0" in _field_error(operator.post(
        "/platform/counties/alpha/rulepack/", {"rulepack": "county_default==1.0.0"}, **HOST), "rulepack")
    assert not _events("county.set_rulepack").exists()


def test_switch_the_rule_pack_audited_in_public_and_in_the_county(operator, world, tmp_path):
    with on_path(pip_install(tmp_path / "strict", "duban-pack-strict")):
        page = operator.get("/platform/counties/alpha/", **HOST).content.decode()
        assert "county_strict==2.1.0" in page
        done = operator.post("/platform/counties/alpha/rulepack/", {"rulepack": "county_strict==2.1.0"}, **HOST)
        assert done.status_code == 302
        alpha = County.objects.get(slug="alpha")
        assert (alpha.rulepack_name, alpha.rulepack_version) == ("county_strict", "2.1.0")
        assert _events("county.set_rulepack", rulepack="county_strict==2.1.0").exists()
        with schema_context(alpha.schema_name):
            assert AuditEvent.objects.filter(action="county.set_rulepack", actor_label="user:ops_console").exists()


def test_cities_and_city_users_add_list_remove(operator, world):
    page = operator.get("/platform/cities/", **HOST)
    assert page.status_code == 200 and 'data-city="testcity"' in page.content.decode()
    made = operator.post("/platform/cities/", {"code": "webcity", "name": "网开市"}, **HOST)
    assert made.status_code == 302 and made["Location"] == "/platform/cities/webcity/"
    assert City.objects.get(code="webcity").name == "网开市" and _events("city.create", code="webcity").exists()
    assert "已被使用" in _field_error(operator.post("/platform/cities/", {"code": "webcity", "name": "又一个"}, **HOST), "code")
    _field_error(operator.post("/platform/cities/", {"code": "Bad code", "name": "坏市"}, **HOST), "code")
    assert "请填写" in _field_error(operator.post("/platform/cities/", {"code": "x1", "name": ""}, **HOST), "name")

    added = operator.post("/platform/cities/webcity/", {"username": "webcityuser", "full_name": "王科长",
                                                       "email": "", "password": ""}, **HOST)
    assert added.status_code == 200
    shown = re.search(r'<code id="user-password">([^<]+)</code>', added.content.decode()).group(1)
    user = User.objects.get(username="webcityuser")
    assert user.role == Role.CITY_USER and user.check_password(shown) and user.city_membership.city.code == "webcity"
    assert _events("city.member", user="webcityuser").exists()
    assert 'data-user="webcityuser"' in operator.get("/platform/cities/webcity/", **HOST).content.decode()
    # The same name again: refused under the user name.
    _field_error(operator.post("/platform/cities/webcity/", {"username": "webcityuser", "password": ""}, **HOST),
                 "username")

    removed = operator.post("/platform/cities/webcity/users/webcityuser/remove/", **HOST)
    assert removed.status_code == 302
    user.refresh_from_db()
    membership = CityMembership.objects.get(user=user)
    assert user.is_active is False and membership.ended_at is not None  # kept, ended
    assert _events("city.member_remove", user="webcityuser").exists()
    page = operator.get("/platform/cities/webcity/", **HOST).content.decode()
    assert 'id="ops-city-users-ended"' in page
    # Removed twice: 400, the user name named.
    _field_error(operator.post("/platform/cities/webcity/users/webcityuser/remove/", **HOST), "username")
    assert operator.get("/platform/cities/nocity/", **HOST).status_code == 404


WRITES = [
    ("/platform/counties/new/", {"slug": "intruder", "name": "闯县", "city": "testcity",
                                 "rulepack": "county_default==1.0.0", "admin": "admin"}),
    ("/platform/counties/beta/suspend/", {"reason": "x"}),
    ("/platform/counties/alpha/resume/", {}),
    ("/platform/counties/alpha/rulepack/", {"rulepack": "county_default==1.0.0"}),
    ("/platform/cities/", {"code": "intrudercity", "name": "闯市"}),
    ("/platform/cities/testcity/", {"username": "intruder_user"}),
    ("/platform/cities/testcity/users/someone/remove/", {}),
]
PAGES = ["/platform/", "/platform/counties/new/", "/platform/counties/alpha/", "/platform/cities/",
         "/platform/cities/testcity/"]


def test_only_operators_a_city_user_gets_403_and_anonymous_the_login(world):
    connection.set_schema_to_public()
    city_user = provisioning.create_city_user("testcity", "console_city", actor="tests", password=PASSWORD)
    as_city = Client()
    as_city.force_login(city_user)
    anonymous = Client()
    for path in PAGES:
        refused = as_city.get(path, **HOST)
        assert refused.status_code == 403 and "只有平台运维人员" in refused.content.decode(), path
        login = anonymous.get(path, **HOST)
        assert login.status_code == 302 and login["Location"].startswith("/login/"), path
    for path, data in WRITES:
        assert as_city.post(path, data, **HOST).status_code == 403, path
        assert anonymous.post(path, data, **HOST).status_code == 302, path
    assert not County.objects.filter(slug="intruder").exists() and not City.objects.filter(code="intrudercity").exists()
    assert County.objects.get(slug="beta").status == "active"
    assert not User.objects.filter(username="intruder_user").exists()
    # A county's own staff: the console is not on a county's host at all.
    assert Client().get("/platform/", HTTP_HOST="alpha.localhost").status_code in (302, 404)
