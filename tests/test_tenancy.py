"""Cross-county isolation baseline, unknown and suspended hosts."""

import pytest
from conftest import PASSWORD
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants import provisioning

pytestmark = pytest.mark.django_db


def api_get(host, path="/api/v1/me/", token=None, client=None):
    client = client or Client()
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client.get(path, **headers)


def test_token_works_on_its_own_county(world):
    response = api_get(world.owner.host, token=world.owner.token)
    assert response.status_code == 200
    assert response.json()["county"] == {"slug": "alpha", "name": "甲县"}
    assert response.json()["role"] == "supervision_staff"


def test_token_of_county_a_gets_nothing_on_county_b(world):
    # The outsider's token is valid in beta; alpha's token presented on beta's host is unknown there.
    response = api_get(world.outsider.host, token=world.owner.token)
    assert response.status_code == 401
    response = api_get(world.owner.host, token=world.outsider.token)
    assert response.status_code == 401
    # Same user name in both counties, different people and different tokens.
    assert world.owner.token != world.outsider.token


def test_session_of_county_a_is_not_valid_on_county_b(world):
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD},
                        HTTP_HOST=world.owner.host)
    assert login.status_code == 302, login.content[:500]
    cookie = login.cookies["duban_session"]
    assert cookie["domain"] == ""  # host-only: browsers never send it to another county's host
    assert api_get(world.owner.host, client=client).status_code == 200
    # Even when the cookie is presented to beta's host, beta has no such session.
    assert client.cookies["duban_session"].value
    response = api_get(world.outsider.host, client=client)
    assert response.status_code == 401  # not authenticated there
    admin_page = client.get("/admin/", HTTP_HOST=world.outsider.host)
    assert admin_page.status_code == 302 and "/admin/login/" in admin_page["Location"]


def test_users_live_in_their_own_county_schema(world):
    from duban.accounts.models import User

    with schema_context(world.alpha.schema_name):
        alpha_users = set(User.objects.values_list("username", flat=True))
    with schema_context(world.beta.schema_name):
        beta_users = set(User.objects.values_list("username", flat=True))
        assert User.objects.filter(username="clerk1").exists()
    assert alpha_users == beta_users == {"admin", "staff", "clerk", "clerk1"}
    connection.set_schema_to_public()
    assert not User.objects.filter(username="staff").exists()


@pytest.mark.parametrize("host", ["nowhere.localhost", "evil.example.com", "alpha.localhost.evil.com"])
def test_unknown_host_is_404(world, host):
    for path in ("/", "/healthz", "/api/v1/me/"):
        assert Client().get(path, HTTP_HOST=host).status_code == 404


def test_public_host_serves_the_platform_not_a_county(world):
    assert Client().get("/healthz", HTTP_HOST="localhost").status_code == 200
    assert Client().get("/", HTTP_HOST="localhost").status_code == 200
    # The county API does not exist on the public host, and a county's token means nothing there.
    assert api_get("localhost", "/api/v1/matters/", token=world.owner.token).status_code == 404
    assert api_get("localhost", token=world.owner.token).status_code == 401


def test_suspended_county_shows_suspended_page_and_keeps_data(world):
    from duban.units.models import Unit

    provisioning.set_status("beta", "suspended", actor="tests", reason="合同到期")
    try:
        page = Client().get("/", HTTP_HOST=world.outsider.host)
        assert page.status_code == 403
        assert "已暂停服务" in page.content.decode()
        assert api_get(world.outsider.host, token=world.outsider.token).status_code == 403
        # Probes still answer; another county is unaffected.
        assert Client().get("/healthz", HTTP_HOST=world.outsider.host).status_code == 200
        assert api_get(world.owner.host, token=world.owner.token).status_code == 200
        with schema_context(world.beta.schema_name):
            assert Unit.objects.count() == 2
    finally:
        provisioning.set_status("beta", "active", actor="tests")
    assert api_get(world.outsider.host, token=world.outsider.token).status_code == 200


def test_suspend_and_resume_are_audited_and_validated(world):
    from duban.audit.models import AuditEvent

    provisioning.set_status("beta", "suspended", actor="tests", reason="测试")
    with pytest.raises(provisioning.ProvisioningError, match="状态已是“已暂停”"):
        provisioning.set_status("beta", "suspended", actor="tests")
    provisioning.set_status("beta", "active", actor="tests")
    with pytest.raises(provisioning.ProvisioningError, match="没有标识为“gamma”的县"):
        provisioning.set_status("gamma", "active", actor="tests")
    actions = list(AuditEvent.objects.filter(object_type="tenants.county", object_id=str(world.beta.pk))
                   .order_by("id").values_list("action", "before", "after"))
    assert [a for a, _, _ in actions][-2:] == ["county.suspend", "county.resume"]
    assert actions[-2][1]["status"] == "active" and actions[-2][2] == {"status": "suspended", "reason": "测试"}


def test_county_admin_does_not_show_platform_models(world):
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD},
                HTTP_HOST=world.owner.host)
    index = client.get("/admin/", HTTP_HOST=world.owner.host)
    assert index.status_code == 200
    body = index.content.decode()
    assert "/admin/units/unit/" in body
    assert "/admin/tenants/county/" not in body
    assert client.get("/admin/tenants/county/", HTTP_HOST=world.owner.host).status_code == 403
