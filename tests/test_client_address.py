"""Issue 18 point 4: who is the client behind the ingress, and whom does a failed login lock.

Attacks performed here, through the real middleware stack on the real database:
- five wrong passwords for the office leader's user name, sent through the (trusted) ingress
  from many addresses, must not keep the leader out of their own office's computer;
- behind a trusted proxy the lockout keys on the real client: the attacker's address is
  locked, the user's is not;
- with no trusted proxy, rotating ``X-Forwarded-For`` neither bypasses the anonymous API
  throttle nor resets a lockout;
- distributed guessing of one user name is slowed down for addresses the user never logged
  in from (a Chinese message says when to retry), while the user's own address still works.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context
from matter_helpers import PASSWORD

from duban.core.clientip import client_ip
from duban.settings.env import Env
from duban.web.slowdown import retry_after

pytestmark = pytest.mark.django_db

OFFICE_PC = "10.20.0.7"       # the leader's own computer in the county office
INGRESS = "10.244.0.5"        # the ingress controller's pod: the REMOTE_ADDR of every request


def host(county) -> str:
    return f"{county.slug}.{settings.DUBAN_BASE_DOMAIN}"


def login(county, username, password, *, client_ip=None, remote=INGRESS, client=None):
    extra = {"HTTP_HOST": host(county), "REMOTE_ADDR": remote}
    if client_ip is not None:
        extra["HTTP_X_FORWARDED_FOR"] = client_ip
    return (client or Client()).post("/login/", {"username": username, "password": password}, **extra)


@pytest.fixture(autouse=True)
def _fresh_attempts(world):
    cache.clear()
    for county in (world.alpha, world.beta):
        with schema_context(county.schema_name):
            AccessAttempt.objects.all().delete()
            AccessLog.objects.all().delete()
    yield
    cache.clear()


# --- the one function -------------------------------------------------------------------------
def _request(remote, xff=None):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


def test_client_address_trusts_nothing_by_default(settings):
    settings.DUBAN_TRUSTED_PROXIES = 0
    assert client_ip(_request("10.244.0.5", "1.2.3.4")) == "10.244.0.5"


def test_client_address_with_a_count_of_proxies(settings):
    settings.DUBAN_TRUSTED_PROXIES = 1
    # The ingress appends the address it saw; whatever the client wrote before it is ignored.
    assert client_ip(_request(INGRESS, "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request(INGRESS, "203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request(INGRESS)) == INGRESS  # reached the pod directly
    assert client_ip(_request(INGRESS, "not-an-address")) == INGRESS
    settings.DUBAN_TRUSTED_PROXIES = 2
    assert client_ip(_request(INGRESS, "6.6.6.6, 203.0.113.9, 10.0.0.1")) == "203.0.113.9"


def test_client_address_with_trusted_networks(settings):
    settings.DUBAN_TRUSTED_PROXIES = ["10.244.0.0/16", "192.168.0.0/24"]
    assert client_ip(_request(INGRESS, "6.6.6.6, 203.0.113.9, 192.168.0.3")) == "203.0.113.9"
    # A request that did not come through a trusted proxy: its X-Forwarded-For is a lie.
    assert client_ip(_request("198.51.100.1", "203.0.113.9")) == "198.51.100.1"
    assert client_ip(_request(INGRESS, "2001:db8::1")) == "2001:db8::1"


@pytest.mark.parametrize("value", ["ten", "10.0.0.0/33", "10.0.0.1/8, x", "-1"])
def test_a_bad_trusted_proxies_setting_stops_start_up_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="DUBAN_TRUSTED_PROXIES"):
        Env({"DUBAN_TRUSTED_PROXIES": value}).trusted_proxies("DUBAN_TRUSTED_PROXIES")


def test_the_trusted_proxies_setting_parses_counts_and_networks():
    assert Env({}).trusted_proxies("DUBAN_TRUSTED_PROXIES") == 0
    assert Env({"DUBAN_TRUSTED_PROXIES": "1"}).trusted_proxies("DUBAN_TRUSTED_PROXIES") == 1
    assert Env({"DUBAN_TRUSTED_PROXIES": "10.244.0.0/16, fd00::/8"}).trusted_proxies(
        "DUBAN_TRUSTED_PROXIES") == ["10.244.0.0/16", "fd00::/8"]


# --- the lockout behind the ingress -----------------------------------------------------------
def test_wrong_passwords_from_many_addresses_do_not_lock_out_the_real_user(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 1
    # The leader has worked from the office computer before.
    assert login(world.alpha, "staff", PASSWORD, client_ip=OFFICE_PC).status_code == 302
    for n in range(1, 6):
        refused = login(world.alpha, "staff", f"guess-{n}", client_ip=f"198.51.100.{n}")
        assert refused.status_code in (200, 429), n
    # The real user still gets in from their own address.
    response = login(world.alpha, "staff", PASSWORD, client_ip=OFFICE_PC)
    assert response.status_code == 302, response.content.decode()[:500]


def test_behind_a_trusted_proxy_the_lockout_keys_on_the_real_client(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 1
    attacker = "198.51.100.66"
    assert login(world.alpha, "clerk1", PASSWORD, client_ip=OFFICE_PC).status_code == 302  # the user's own
    for n in range(1, 5):
        assert login(world.alpha, "clerk1", f"guess-{n}", client_ip=attacker).status_code == 200
    assert login(world.alpha, "clerk1", "guess-5", client_ip=attacker).status_code == 403
    # The attacker's address is locked, even with the right password …
    assert login(world.alpha, "clerk1", PASSWORD, client_ip=attacker).status_code == 403
    # … and a client pretending to be someone else, in front of the ingress, is still the attacker.
    assert login(world.alpha, "clerk1", PASSWORD, client_ip=f"{OFFICE_PC}, {attacker}").status_code == 403
    # The user, at their own address, is not locked.
    assert login(world.alpha, "clerk1", PASSWORD, client_ip=OFFICE_PC).status_code == 302
    with schema_context(world.alpha.schema_name):
        assert set(AccessAttempt.objects.filter(username="clerk1").values_list("ip_address", flat=True)) == {attacker}


def test_rotating_x_forwarded_for_does_not_reset_the_lockout_without_a_trusted_proxy(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 0
    remote = "198.51.100.77"
    for n in range(1, 5):
        assert login(world.alpha, "clerk1", f"guess-{n}", remote=remote, client_ip=f"10.9.9.{n}").status_code == 200
    assert login(world.alpha, "clerk1", "guess-5", remote=remote, client_ip="10.9.9.5").status_code == 403
    assert login(world.alpha, "clerk1", PASSWORD, remote=remote, client_ip="10.9.9.6").status_code == 403


def test_distributed_guessing_of_one_user_is_slowed_down_with_a_chinese_message(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 1
    assert login(world.alpha, "clerk", PASSWORD, client_ip=OFFICE_PC).status_code == 302
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        assert login(world.alpha, "clerk", f"guess-{n}", client_ip=f"198.51.100.{n + 1}").status_code == 200
    # The next guess from yet another address is refused before the password is even checked …
    slowed = login(world.alpha, "clerk", PASSWORD, client_ip="198.51.100.200")
    assert slowed.status_code == 429
    body = slowed.content.decode()
    assert "登录尝试过于频繁" in body and "之后再试" in body
    assert int(slowed["Retry-After"]) >= 1
    # … and it did not count as one more failure.
    with schema_context(world.alpha.schema_name):
        assert sum(AccessAttempt.objects.filter(username="clerk").values_list("failures_since_start", flat=True)) == limit
    # The user's own address, where they logged in recently, is not slowed down.
    assert login(world.alpha, "clerk", PASSWORD, client_ip=OFFICE_PC).status_code == 302


def test_the_slow_down_grows_and_ends(world, settings):

    settings.DUBAN_TRUSTED_PROXIES = 1
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        login(world.alpha, "clerk", f"guess-{n}", client_ip=f"198.51.100.{n + 1}")
    request = _request(INGRESS, "198.51.100.250")
    with schema_context(world.alpha.schema_name):
        first = retry_after(request, "clerk")
        assert first is not None and first > timezone.now()
        # Once the delay has passed, the next guess may go through …
        AccessAttempt.objects.filter(username="clerk").update(attempt_time=timezone.now() - timedelta(minutes=20))
        assert retry_after(request, "clerk") is None
        # … and after one more failure the wait is longer than the first one.
        last = AccessAttempt.objects.filter(username="clerk").first()
        AccessAttempt.objects.filter(pk=last.pk).update(failures_since_start=last.failures_since_start + 1,
                                                        attempt_time=timezone.now())
        second = retry_after(request, "clerk")
        assert second is not None and (second - timezone.now()) > (first - timezone.now())
        # Past the window, the failures are forgotten.
        AccessAttempt.objects.filter(username="clerk").update(attempt_time=timezone.now() - timedelta(
            minutes=settings.DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES + 1))
        assert retry_after(request, "clerk") is None


# --- the API throttle -------------------------------------------------------------------------
# The schema is the county API's page an anonymous caller may read (everything else is 401 before
# any throttle counts), so it is the one the anonymous throttle guards.
SCHEMA = "/api/v1/schema/?format=json"


def test_rotating_x_forwarded_for_does_not_bypass_the_anonymous_throttle(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 0
    settings.DUBAN_API_THROTTLE = {"user": "100/min", "anon": "2/min"}
    statuses = [Client().get(SCHEMA, HTTP_HOST=host(world.alpha), REMOTE_ADDR="198.51.100.5",
                             HTTP_X_FORWARDED_FOR=f"10.1.1.{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 429, 429]


def test_behind_a_trusted_proxy_the_anonymous_throttle_counts_each_real_client(world, settings):
    settings.DUBAN_TRUSTED_PROXIES = 1
    settings.DUBAN_API_THROTTLE = {"user": "100/min", "anon": "2/min"}

    def call(client_ip):
        return Client().get(SCHEMA, HTTP_HOST=host(world.alpha), REMOTE_ADDR=INGRESS,
                            HTTP_X_FORWARDED_FOR=client_ip).status_code

    assert [call("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert call("203.0.113.2") == 200  # another client behind the same ingress has its own budget
    assert call("6.6.6.6, 203.0.113.1") == 429  # a forged left-hand entry changes nothing


def test_the_admin_login_is_slowed_down_too(world, settings):
    """/admin/ has its own login form: guessing through it is slowed down the same way."""
    settings.DUBAN_TRUSTED_PROXIES = 1

    def admin_login(password, client_ip):
        return Client().post("/admin/login/", {"username": "admin", "password": password, "next": "/admin/"},
                             HTTP_HOST=host(world.alpha), REMOTE_ADDR=INGRESS, HTTP_X_FORWARDED_FOR=client_ip)

    assert admin_login("Test-pass-2026", OFFICE_PC).status_code == 302
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert admin_login(f"guess-{n}", f"198.51.100.{n + 1}").status_code == 200
    slowed = admin_login("Test-pass-2026", "198.51.100.200")
    assert slowed.status_code == 200 and "登录尝试过于频繁" in slowed.content.decode()
    assert admin_login("Test-pass-2026", OFFICE_PC).status_code == 302
