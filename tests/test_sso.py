"""Per-county single sign-on with OpenID Connect (issue 22 point 1), end to end against a real
OpenID Provider: the `oidc-provider` npm package started by tests/oidc_helpers.py on 127.0.0.1.

Our side is driven with Django's test Client on the county hosts (alpha.localhost, beta.localhost);
the provider's pages (sign-in, consent, end-session) with ``requests``, as a browser would. Each
county has its own client at the provider (``duban-alpha``, ``duban-beta``), registered with its
own host's callback. Forged ID tokens come from the provider's test hook, which re-signs the next
token response's ID token (as an attacker between us and the provider would).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import PASSWORD
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context
from oidc_helpers import OidcProvider, confirm_logout, sign_in

from duban.accounts.models import NO_ROLE, Role, User
from duban.audit.models import AuditEvent
from duban.identity import sealing
from duban.identity.actions import do_configure_sso, do_link_sso_subject, do_set_sso_mapping
from duban.identity.flow import ID_TOKEN_KEY, PENDING_KEY
from duban.identity.models import SsoProvider

pytestmark = pytest.mark.django_db

IDP_PASSWORD = "Idp-pass-2026"
SECRETS = {"alpha": "alpha-client-secret-Vq3n8Zr2LpX7", "beta": "beta-client-secret-Hk5w1Tj9NbM4"}


def host(slug: str) -> str:
    return f"{slug}.{settings.DUBAN_BASE_DOMAIN}"


def _client(slug: str) -> dict:
    return {"client_id": f"duban-{slug}", "client_secret": SECRETS[slug],
            "redirect_uris": [f"http://{host(slug)}/login/sso/callback/"],
            "post_logout_redirect_uris": [f"http://{host(slug)}/login/"]}


def _user(groups, amr=("pwd",), **claims):
    return {"password": IDP_PASSWORD, "amr": list(amr), "claims": {"groups": list(groups), **claims}}


USERS = {
    "zhang": _user(["督查室"], preferred_username="zhang", name="张三", email="zhang@example.gov.cn"),
    "li": _user(["一号局"], preferred_username="li", name="李四"),
    "newbie": _user([], preferred_username="newbie", name="王新"),
    "wang": _user(["办公室"], amr=("pwd", "otp"), preferred_username="wang", name="王主任"),
    "zhao": _user(["办公室"], preferred_username="zhao", name="赵主任"),
    # Carries the e-mail of an existing account, but is not tied to it.
    "mailman": _user([], preferred_username="mailman", email="staff-mail@example.gov.cn"),
}


@pytest.fixture(scope="module")
def idp():
    with OidcProvider([_client("alpha"), _client("beta")], USERS) as provider:
        yield provider


def configure(county, idp, **overrides):
    values = {"issuer": idp.issuer, "client_id": f"duban-{county.slug}", "client_secret": SECRETS[county.slug],
              "scopes": "openid profile email groups", "username_claim": "preferred_username", "role_claim": "groups"}
    values.update(overrides)
    with tenant_context(county):
        return do_configure_sso(actor="tests", **values)


def in_county(county, fn):
    with tenant_context(county):
        return fn()


def start(client: Client, slug: str, next_url: str | None = None) -> str:
    response = client.get("/login/sso/", {"next": next_url} if next_url else {}, HTTP_HOST=host(slug))
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def callback(client: Client, url: str, slug: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", HTTP_HOST=host(slug))


def sso_login(client: Client, slug: str, login: str, *, agent=None, next_url=None, tamper=None, idp=None):
    """Start on the county's host, sign in at the provider, come back: our callback's answer."""
    back = sign_in(start(client, slug, next_url), login, IDP_PASSWORD, agent=agent)
    assert urlsplit(back).netloc == host(slug), back
    if tamper:
        idp.tamper(*tamper) if isinstance(tamper, tuple) else idp.tamper(tamper)
    return callback(client, back, slug)


def last_event(county, action: str) -> AuditEvent | None:
    return in_county(county, lambda: AuditEvent.objects.filter(action=action).order_by("-id").first())


def refused(response, words: str):
    body = response.content.decode()
    assert response.status_code == 403, (response.status_code, body[:800])
    assert "统一身份认证登录未成功" in body and words in body, body[:2000]


# --- logging in -------------------------------------------------------------------------------------
def test_the_authorization_request_carries_state_nonce_and_pkce(world, idp):
    configure(world.alpha, idp)
    client = Client()
    query = parse_qs(urlsplit(start(client, "alpha")).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["duban-alpha"]
    assert query["redirect_uri"] == [f"http://{host('alpha')}/login/sso/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    pending = client.session[PENDING_KEY][query["state"][0]]
    assert pending["nonce"] == query["nonce"][0] and len(query["nonce"][0]) >= 32
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == [challenge]
    assert "groups" in query["scope"][0].split()


def test_login_and_role_mapping(world, idp):
    """An account tied to the provider identity signs in and its role follows the mapping; an
    unknown user with a mapped group is opened with that role and unit."""
    configure(world.alpha, idp, create_unknown_users=True)

    def setup():
        do_set_sso_mapping(actor="tests", claim_value="督查室", role=Role.SUPERVISION_STAFF)
        do_set_sso_mapping(actor="tests", claim_value="一号局", role=Role.UNIT_STAFF, unit_code="D01")
        clerk1 = User.objects.get(username="clerk1")  # unit staff of T01
        do_link_sso_subject(clerk1, actor="tests", subject="zhang")

    in_county(world.alpha, setup)
    client = Client()
    answer = sso_login(client, "alpha", "zhang", next_url="/matters/")
    assert answer.status_code == 302 and answer["Location"] == "/matters/", answer.content[:500]
    assert client.get("/", HTTP_HOST=host("alpha"))["Location"] == "/todo/"
    clerk1 = in_county(world.alpha, lambda: User.objects.get(username="clerk1"))
    assert (clerk1.role, clerk1.unit_id) == (Role.SUPERVISION_STAFF, None)
    changed = last_event(world.alpha, "user.role")
    assert changed.actor_label == "sso" and changed.before["role"] == "unit_staff"
    assert changed.after["role"] == "supervision_staff"
    login = last_event(world.alpha, "sso.login")
    assert login.actor_id == clerk1.pk and login.after["subject"] == "zhang" and login.after["mapping"] == "督查室"
    assert login.after["opened"] is False

    other = Client()
    answer = sso_login(other, "alpha", "li")
    assert answer.status_code == 302 and answer["Location"] == "/"
    li = in_county(world.alpha, lambda: User.objects.select_related("unit").get(sso_subject="li"))
    assert (li.username, li.role, li.unit.code, li.full_name) == ("li", Role.UNIT_STAFF, "D01", "李四")
    assert not li.has_usable_password()
    assert other.get("/", HTTP_HOST=host("alpha"))["Location"] == "/unit/"


def test_first_login_opens_an_account_with_no_role_until_an_admin_gives_one(world, idp):
    configure(world.alpha, idp, create_unknown_users=True)
    client = Client()
    assert sso_login(client, "alpha", "newbie").status_code == 302
    user = in_county(world.alpha, lambda: User.objects.get(sso_subject="newbie"))
    assert user.role == NO_ROLE and user.unit_id is None and user.full_name == "王新"
    opened = last_event(world.alpha, "user.create")
    assert opened.actor_label == "sso" and opened.after == {"username": "newbie", "role": "", "unit": None,
                                                             "sso_subject": "newbie"}
    for path in ("/", "/todo/", "/matters/", "/settings/sso/"):
        page = client.get(path, HTTP_HOST=host("alpha"))
        assert page.status_code == 403 and "尚未为您分配角色" in page.content.decode(), path
    api = client.get("/api/v1/me/", HTTP_HOST=host("alpha"))
    assert api.status_code == 403 and api.json()["error"]["code"] == "no_role"

    admin = Client()
    in_county(world.alpha, lambda: admin.force_login(User.objects.get(username="admin")))
    page = admin.get("/settings/sso/", HTTP_HOST=host("alpha"))
    assert "newbie" in page.content.decode() and "等待分配角色的账号" in page.content.decode()
    given = admin.post("/settings/sso/", {"form": "assign", "user": user.pk, "role": "supervision_staff", "unit": ""},
                       HTTP_HOST=host("alpha"))
    assert given.status_code == 302
    assert client.get("/", HTTP_HOST=host("alpha"))["Location"] == "/todo/"
    assert last_event(world.alpha, "user.role").after == {"role": "supervision_staff", "unit": None}


def test_an_unknown_user_is_refused_when_creation_is_off(world, idp):
    configure(world.alpha, idp, create_unknown_users=False)
    answer = sso_login(Client(), "alpha", "newbie")
    refused(answer, "统一身份认证账号“newbie”在本县没有对应的账号")
    assert not in_county(world.alpha, lambda: User.objects.filter(sso_subject="newbie").exists())
    event = last_event(world.alpha, "sso.refused")
    assert event.after["reason"] == "unknown_user" and event.after["subject"] == "newbie" and event.actor_id is None


def test_an_account_is_never_found_by_its_email(world, idp):
    configure(world.alpha, idp)
    in_county(world.alpha, lambda: User.objects.filter(username="staff").update(email="staff-mail@example.gov.cn"))
    refused(sso_login(Client(), "alpha", "mailman"), "“mailman”在本县没有对应的账号")


def test_a_disabled_account_is_refused(world, idp):
    configure(world.alpha, idp)

    def setup():
        staff = User.objects.get(username="staff")
        do_link_sso_subject(staff, actor="tests", subject="zhang")
        User.objects.filter(pk=staff.pk).update(is_active=False)

    in_county(world.alpha, setup)
    client = Client()
    refused(sso_login(client, "alpha", "zhang"), "该账号已停用")
    assert last_event(world.alpha, "sso.refused").after["reason"] == "inactive"
    assert client.get("/todo/", HTTP_HOST=host("alpha"))["Location"].startswith("/login/")


def test_county_a_user_is_refused_on_county_b_host(world, idp):
    configure(world.alpha, idp)
    configure(world.beta, idp)  # the same provider, beta's own client
    in_county(world.alpha, lambda: do_link_sso_subject(User.objects.get(username="staff"), actor="tests",
                                                       subject="zhang"))
    agent = requests.Session()

    # 1. Alpha's callback (code and state of a login started on alpha) brought to beta's host.
    client = Client()
    back = sign_in(start(client, "alpha"), "zhang", IDP_PASSWORD, agent=agent)
    refused(callback(client, back, "beta"), "不是从本县的登录页发起的")
    assert last_event(world.beta, "sso.refused").after["reason"] == "state"
    # ... and alpha's code under a login started on beta: the provider issued it to alpha's client.
    fresh = parse_qs(urlsplit(start(client, "beta")).query)["state"][0]
    code = parse_qs(urlsplit(back).query)["code"][0]
    refused(client.get("/login/sso/callback/", {"code": code, "state": fresh, "iss": idp.issuer},
                       HTTP_HOST=host("beta")), "拒绝了这次登录凭据")
    assert last_event(world.beta, "sso.refused").after["reason"] == "token"

    # 2. Signed in on alpha: the session means nothing on beta's host.
    client = Client()
    assert sso_login(client, "alpha", "zhang", agent=agent).status_code == 302
    assert client.get("/todo/", HTTP_HOST=host("alpha")).status_code == 200
    assert client.get("/todo/", HTTP_HOST=host("beta"))["Location"].startswith("/login/")

    # 3. The same person through beta's own client: beta has no account tied to "zhang".
    refused(sso_login(Client(), "beta", "zhang", agent=agent), "在本县没有对应的账号")

    # 4. An ID token issued to alpha's client, handed to beta (correctly signed by the provider).
    in_county(world.beta, lambda: do_link_sso_subject(User.objects.get(username="staff"), actor="tests",
                                                      subject="zhang"))
    refused(sso_login(Client(), "beta", "zhang", agent=agent, tamper=("other-client", "duban-alpha"), idp=idp),
            "未通过校验")
    assert "aud" in last_event(world.beta, "sso.refused").after["detail"]
    # Beta's own token for the same person works (the provider and the flow are sound).
    assert sso_login(Client(), "beta", "zhang", agent=agent).status_code == 302


def test_a_replayed_authorization_code_or_state_is_refused(world, idp):
    configure(world.alpha, idp)
    in_county(world.alpha, lambda: do_link_sso_subject(User.objects.get(username="staff"), actor="tests",
                                                       subject="zhang"))
    client = Client()
    back = sign_in(start(client, "alpha"), "zhang", IDP_PASSWORD)
    assert callback(client, back, "alpha").status_code == 302
    # The same callback again: its state was used up.
    refused(callback(client, back, "alpha"), "已经用过、已过期")
    assert last_event(world.alpha, "sso.refused").after == {"reason": "state", "detail": "unknown state", "subject": ""}
    # The old code under a fresh state: the provider refuses a code used once.
    fresh = parse_qs(urlsplit(start(client, "alpha")).query)["state"][0]
    code = parse_qs(urlsplit(back).query)["code"][0]
    refused(client.get("/login/sso/callback/", {"code": code, "state": fresh}, HTTP_HOST=host("alpha")),
            "可能已经用过或已过期")
    event = last_event(world.alpha, "sso.refused")
    assert event.after["reason"] == "token" and "invalid_grant" in event.after["detail"]
    # No state at all (a forged link), and a state from another browser's session.
    refused(client.get("/login/sso/callback/", {"code": code}, HTTP_HOST=host("alpha")), "不是从本县的登录页发起的")
    other = Client()
    stolen = sign_in(start(other, "alpha"), "zhang", IDP_PASSWORD)
    refused(callback(Client(), stolen, "alpha"), "不是从本县的登录页发起的")


@pytest.mark.parametrize("mode, detail", [
    ("wrong-signature", "BadSignatureError"),
    ("wrong-aud", "aud"),
    ("wrong-nonce", "nonce"),
    ("wrong-iss", "iss"),
    ("expired", "expired"),
])
def test_a_forged_id_token_is_refused(world, idp, mode, detail):
    configure(world.alpha, idp)
    in_county(world.alpha, lambda: do_link_sso_subject(User.objects.get(username="staff"), actor="tests",
                                                       subject="zhang"))
    client = Client()
    refused(sso_login(client, "alpha", "zhang", tamper=mode, idp=idp), "未通过校验")
    event = last_event(world.alpha, "sso.refused")
    assert event.after["reason"] == "id_token" and detail in event.after["detail"], event.after
    assert client.get("/todo/", HTTP_HOST=host("alpha"))["Location"].startswith("/login/")
    assert last_event(world.alpha, "sso.login") is None


# --- the second factor ----------------------------------------------------------------------------
def _office_leader_with_totp(username: str, subject: str) -> User:
    from duban.accounts.actions import do_create_user

    user = do_create_user(username, actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD)
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    do_link_sso_subject(user, actor="tests", subject=subject)
    return user


def test_amr_mfa_skips_totp_and_no_amr_asks_totp(world, idp):
    configure(world.alpha, idp)
    in_county(world.alpha, lambda: (_office_leader_with_totp("sso_wang", "wang"),
                                    _office_leader_with_totp("sso_zhao", "zhao")))
    # wang's provider login asserts amr ["pwd", "otp"]: our code is not asked again.
    client = Client()
    assert sso_login(client, "alpha", "wang").status_code == 302
    assert client.get("/", HTTP_HOST=host("alpha"))["Location"] == "/office/"
    assert client.get("/office/", HTTP_HOST=host("alpha")).status_code == 200
    assert last_event(world.alpha, "sso.login").after["mfa"] is True
    # zhao's says only ["pwd"]: the one-time password is asked before anything opens.
    client = Client()
    answer = sso_login(client, "alpha", "zhao")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/otp/")
    assert client.get("/office/", HTTP_HOST=host("alpha"))["Location"].startswith("/login/otp/")
    # A county that does not count the provider's MFA asks wang too.
    configure(world.alpha, idp, trust_provider_mfa=False)
    client = Client()
    assert sso_login(client, "alpha", "wang")["Location"].startswith("/login/otp/")


# --- logging out ----------------------------------------------------------------------------------
def _provider_asks_to_sign_in(url: str, agent: requests.Session) -> bool:
    for _hop in range(10):
        response = agent.get(url, allow_redirects=False, timeout=10)
        if not response.is_redirect:
            return 'name="login"' in response.text
        url = requests.compat.urljoin(url, response.headers["Location"])
        if "/login/sso/callback/" in url:
            return False
    raise AssertionError("the provider kept redirecting")


def test_logout_is_local_and_at_the_provider(world, idp):
    configure(world.alpha, idp)
    in_county(world.alpha, lambda: do_link_sso_subject(User.objects.get(username="staff"), actor="tests",
                                                       subject="zhang"))
    agent = requests.Session()  # the browser's cookies at the provider
    client = Client()
    assert sso_login(client, "alpha", "zhang", agent=agent).status_code == 302
    id_token = client.session[ID_TOKEN_KEY]
    assert not _provider_asks_to_sign_in(start(Client(), "alpha"), agent)  # signed in at the provider

    out = client.post("/logout/", HTTP_HOST=host("alpha"))
    # A page of ours sends the browser on (a redirect answering the form would break CSP form-action).
    assert out.status_code == 200 and "no-store" in out["Cache-Control"]
    found = re.search(r'href="([^"]+)" data-provider-logout', out.content.decode())
    end_session = html.unescape(found.group(1))
    assert f'content="0;url={found.group(1)}"' in out.content.decode()
    target = urlsplit(end_session)
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{idp.issuer}/session/end"
    assert query["id_token_hint"] == [id_token] and query["client_id"] == ["duban-alpha"]
    assert query["post_logout_redirect_uri"] == [f"http://{host('alpha')}/login/"]
    assert client.get("/todo/", HTTP_HOST=host("alpha"))["Location"].startswith("/login/")  # local session gone

    assert confirm_logout(end_session, agent=agent) == f"http://{host('alpha')}/login/"
    assert _provider_asks_to_sign_in(start(Client(), "alpha"), agent)  # the provider's session ended too

    # A password login logs out locally only.
    client = Client()
    client.post("/login/", {"username": "clerk", "password": PASSWORD}, HTTP_HOST=host("alpha"))
    assert client.post("/logout/", HTTP_HOST=host("alpha"))["Location"] == "/login/"


# --- passwords --------------------------------------------------------------------------------------
def test_password_login_can_be_closed_but_county_admins_keep_it(world, idp):
    login_page = Client().get("/login/", HTTP_HOST=host("alpha")).content.decode()
    assert "统一身份认证登录" not in login_page  # nothing configured: the password form alone
    configure(world.alpha, idp, password_login=False)
    body = Client().get("/login/", HTTP_HOST=host("alpha")).content.decode()
    assert "统一身份认证登录" in body and 'name="password"' not in body and "县管理员使用密码登录" in body
    assert 'name="password"' in Client().get("/login/?password=1", HTTP_HOST=host("alpha")).content.decode()
    refused_post = Client().post("/login/", {"username": "staff", "password": PASSWORD}, HTTP_HOST=host("alpha"))
    assert refused_post.status_code == 200 and "本县已关闭用户名密码登录" in refused_post.content.decode()
    admin = Client()
    assert admin.post("/login/", {"username": "admin", "password": PASSWORD},
                      HTTP_HOST=host("alpha")).status_code == 302
    # Another county is untouched; and switched back on, passwords work again.
    assert Client().post("/login/", {"username": "staff", "password": PASSWORD},
                         HTTP_HOST=host("beta")).status_code == 302
    configure(world.alpha, idp, password_login=True)
    body = Client().get("/login/", HTTP_HOST=host("alpha")).content.decode()
    assert "统一身份认证登录" in body and 'name="password"' in body
    assert Client().post("/login/", {"username": "staff", "password": PASSWORD},
                         HTTP_HOST=host("alpha")).status_code == 302


# --- the configuration -------------------------------------------------------------------------------
def _admin_client(county) -> Client:
    client = Client()
    in_county(county, lambda: client.force_login(User.objects.get(username="admin")))
    return client


def _settings_post(idp, **overrides):
    data = {"form": "settings", "issuer": idp.issuer, "client_id": "duban-alpha", "client_secret": SECRETS["alpha"],
            "scopes": "openid profile groups", "username_claim": "preferred_username", "role_claim": "groups",
            "password_login": "on", "trust_provider_mfa": "on", "enabled": "on"}
    data.update(overrides)
    return data


def test_the_client_secret_is_never_shown_after_saving(world, idp):
    admin = _admin_client(world.alpha)
    page = admin.get("/settings/sso/", HTTP_HOST=host("alpha"))
    assert page.status_code == 200 and "/login/sso/callback/" in page.content.decode()
    saved = admin.post("/settings/sso/", _settings_post(idp), HTTP_HOST=host("alpha"))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    body = admin.get("/settings/sso/", HTTP_HOST=host("alpha")).content.decode()
    assert SECRETS["alpha"] not in body and "已设置" in body
    provider = in_county(world.alpha, SsoProvider.objects.get)
    assert SECRETS["alpha"] not in provider.client_secret_sealed
    assert sealing.unseal(provider.client_secret_sealed) == SECRETS["alpha"]
    events = in_county(world.alpha, lambda: list(AuditEvent.objects.filter(action__startswith="sso.")))
    assert events and all(SECRETS["alpha"] not in json.dumps([e.before, e.after], ensure_ascii=False) for e in events)
    assert events[0].after["client_secret"] == "set"
    # Saving again with the secret left empty keeps it; SSO still works with it.
    admin.post("/settings/sso/", _settings_post(idp, client_secret="", create_unknown_users="on"), HTTP_HOST=host("alpha"))
    provider = in_county(world.alpha, SsoProvider.objects.get)
    assert provider.create_unknown_users and sealing.unseal(provider.client_secret_sealed) == SECRETS["alpha"]
    assert sso_login(Client(), "alpha", "newbie").status_code == 302
    # The CLI shows "已设置", never the secret.
    out = StringIO()
    call_command("county", "sso", "show", "alpha", stdout=out)
    assert "已设置" in out.getvalue() and SECRETS["alpha"] not in out.getvalue()
    # A bad issuer is refused under its field, in Chinese.
    bad = admin.post("/settings/sso/", _settings_post(idp, issuer="http://id.example.com/realm"), HTTP_HOST=host("alpha"))
    assert bad.status_code == 400 and "须以 https:// 开头" in bad.content.decode()


def test_the_secret_is_sealed_with_a_key_from_the_settings_and_survives_rotation():
    with override_settings(SECRET_KEY="old-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[], DUBAN_SSO_KEY=None):
        token = sealing.seal("the-secret")
    assert "the-secret" not in token
    with override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50],
                           DUBAN_SSO_KEY=None):
        assert sealing.unseal(token) == "the-secret"
    with override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=[], DUBAN_SSO_KEY=None):
        with pytest.raises(sealing.SecretUnreadable):
            sealing.unseal(token)
    with override_settings(SECRET_KEY="old-key-" + "x" * 50, DUBAN_SSO_KEY="a-dedicated-sso-key-" + "z" * 30):
        sealed = sealing.seal("other")
        assert sealing.unseal(sealed) == "other" and sealing.unseal(token) == "the-secret"
    with override_settings(SECRET_KEY="old-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[], DUBAN_SSO_KEY=None):
        with pytest.raises(sealing.SecretUnreadable):
            sealing.unseal(sealed)  # sealed under DUBAN_SSO_KEY, not SECRET_KEY


def test_configuration_changes_are_audited(world, idp, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRETS["alpha"] + "\n")
    out = StringIO()
    call_command("county", "sso", "set", "alpha", "--issuer", idp.issuer, "--client-id", "duban-alpha",
                 "--client-secret-file", str(secret_file), "--role-claim", "groups", stdout=out)
    assert "已保存" in out.getvalue() and "/login/sso/callback/" in out.getvalue()
    created = last_event(world.alpha, "sso.configure")
    assert created.actor_label == "cli" and created.before is None and created.after["issuer"] == idp.issuer
    call_command("county", "sso", "set", "alpha", "--no-password-login", "--create-users", stdout=StringIO())
    changed = last_event(world.alpha, "sso.configure")
    assert changed.before == {"password_login": True, "create_unknown_users": False}
    assert changed.after == {"password_login": False, "create_unknown_users": True}
    call_command("county", "sso", "map", "alpha", "一号局", "unit_staff", "--unit", "D01", stdout=StringIO())
    assert last_event(world.alpha, "sso.mapping.set").after == {"claim_value": "一号局", "role": "unit_staff",
                                                                "unit": "D01", "position": 0}
    call_command("county", "sso", "unmap", "alpha", "一号局", stdout=StringIO())
    assert last_event(world.alpha, "sso.mapping.remove").before["claim_value"] == "一号局"
    call_command("county", "sso", "link", "alpha", "clerk", "li", stdout=StringIO())
    assert last_event(world.alpha, "user.sso_link").after == {"username": "clerk", "subject": "li"}
    # The admin's page is audited with the admin as actor.
    admin = _admin_client(world.alpha)
    admin.post("/settings/sso/", {"form": "mapping", "claim_value": "督查室", "role": "supervision_staff", "unit": ""},
               HTTP_HOST=host("alpha"))
    mapped = last_event(world.alpha, "sso.mapping.set")
    assert mapped.actor_label == "user:admin" and mapped.after["role"] == "supervision_staff"
    admin.post("/settings/sso/", {"form": "remove"}, HTTP_HOST=host("alpha"))
    removed = last_event(world.alpha, "sso.remove")
    assert removed.actor_label == "user:admin" and removed.before["mappings"] == ["督查室"]
    assert not in_county(world.alpha, SsoProvider.objects.exists)
    # Other roles may not open the page.
    staff = Client()
    in_county(world.alpha, lambda: staff.force_login(User.objects.get(username="staff")))
    assert staff.get("/settings/sso/", HTTP_HOST=host("alpha")).status_code == 403


def _cli_error(*args) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("county", "sso", *args, stdout=StringIO(), stderr=StringIO())
    return str(caught.value)


def test_cli_errors_name_the_problem(world, idp, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "--client-secret-file" in _cli_error("set", "alpha", "--issuer", idp.issuer, "--client-id", "x")
    assert "--issuer" in _cli_error("set", "alpha", "--client-id", "x", "--client-secret-file", str(secret))
    assert "须以 https:// 开头" in _cli_error("set", "alpha", "--issuer", "http://id.example.com", "--client-id", "x",
                                            "--client-secret-file", str(secret))
    assert "无法连接身份认证平台" in _cli_error("set", "alpha", "--issuer", "http://127.0.0.1:9/", "--client-id", "x",
                                          "--client-secret-file", str(secret))
    assert "不是可用的 OpenID Connect 身份认证平台" in _cli_error(
        "set", "alpha", "--issuer", idp.issuer + "/nowhere", "--client-id", "x", "--client-secret-file", str(secret))
    assert "包含 openid" in _cli_error("set", "alpha", "--issuer", idp.issuer, "--client-id", "x", "--scopes",
                                     "profile", "--client-secret-file", str(secret))
    assert "是空的" in _cli_error("set", "alpha", "--issuer", idp.issuer, "--client-id", "x",
                                "--client-secret-file", str(empty))
    assert "无法读取客户端密钥文件" in _cli_error("set", "alpha", "--issuer", idp.issuer, "--client-id", "x",
                                         "--client-secret-file", str(tmp_path / "missing"))
    assert "没有代码为“nowhere”的县" in _cli_error("show", "nowhere")
    assert "尚未设置统一身份认证" in _cli_error("map", "alpha", "督查室", "supervision_staff")
    configure(world.alpha, idp)
    assert "“boss”不是可选的角色" in _cli_error("map", "alpha", "督查室", "boss")
    assert "必须选择所属单位" in _cli_error("map", "alpha", "一号局", "unit_staff")
    assert "没有编码为“X99”的单位" in _cli_error("map", "alpha", "一号局", "unit_staff", "--unit", "X99")
    assert "没有值为“无此组”的角色映射" in _cli_error("unmap", "alpha", "无此组")
    assert "本县没有用户名为“ghost”的用户" in _cli_error("link", "alpha", "ghost", "g")
    call_command("county", "sso", "link", "alpha", "staff", "zhang", stdout=StringIO())
    assert "已关联到用户“staff”" in _cli_error("link", "alpha", "clerk", "zhang")
