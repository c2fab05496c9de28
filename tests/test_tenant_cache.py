"""The host → county lookup cache (tenants.cache): warm requests make no tenant query, and a
change to a County or Domain row is seen at the next request."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tenants import cache as tenant_cache
from tenants import provisioning
from tenants.models import County, Domain

pytestmark = pytest.mark.django_db

TENANT_TABLES = ("tenants_domain", "tenants_county")


@pytest.fixture(autouse=True)
def _empty_cache():
    tenant_cache.clear()
    yield
    tenant_cache.clear()


def me(host, token=None, client=None):
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    return (client or Client()).get("/api/v1/me/", **headers)


def tenant_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in TENANT_TABLES)]


def request_counting(host, path="/api/v1/me/", token=None):
    """(response, tenant-lookup queries made by the request)."""
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    with CaptureQueriesContext(connection) as captured:
        response = Client().get(path, **headers)
    return response, tenant_queries(captured)


@pytest.fixture
def shared_cache(tmp_path):
    """Django's cache shared between processes (the file backend: no server needed), as with
    Redis in production; returns the backend. The default LocMemCache is per process."""
    location = tmp_path / "cache"
    with override_settings(CACHES={"default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(location)}}):
        tenant_cache.clear()
        assert tenant_cache.is_shared()
        yield caches["default"]
    tenant_cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """Moves the cache's clock forward: ``clock.advance(seconds)``."""

    class Clock:
        offset = 0.0

        def advance(self, seconds):
            self.offset += seconds

    c = Clock()
    real = tenant_cache._now
    monkeypatch.setattr(tenant_cache, "_now", lambda: real() + c.offset)
    return c


def test_cold_lookup_queries_and_warm_lookup_does_not(world):
    response, cold = request_counting(world.owner.host, token=world.owner.token)
    assert response.status_code == 200
    assert cold, "the cold request should have looked the host up in tenants_domain"
    for path in ("/api/v1/me/", "/healthz", "/login/"):  # "/" redirects to the login page
        response, warm = request_counting(world.owner.host, path=path, token=world.owner.token)
        assert response.status_code == 200, (path, response.status_code)
        assert warm == [], f"warm request to {path} queried the tenant tables: {warm}"
    assert response.wsgi_request.tenant.slug == "alpha"


def test_each_county_keeps_its_own_entry(world):
    assert me(world.owner.host, world.owner.token).json()["county"]["slug"] == "alpha"
    assert me(world.outsider.host, world.outsider.token).json()["county"]["slug"] == "beta"
    for persona, slug in ((world.owner, "alpha"), (world.outsider, "beta")):
        response, queries = request_counting(persona.host, token=persona.token)
        assert response.json()["county"]["slug"] == slug and queries == []
    # Tokens stay confined to their county with a warm cache too.
    assert me(world.outsider.host, world.owner.token).status_code == 401


def test_requests_get_their_own_copy_of_the_county(world):
    first = Client().get("/healthz", HTTP_HOST=world.owner.host).wsgi_request.tenant
    first.name = "changed by a view"
    second = Client().get("/healthz", HTTP_HOST=world.owner.host).wsgi_request.tenant
    assert second is not first
    assert second.name == "甲县"


def test_suspending_and_resuming_is_seen_on_the_next_request(world):
    assert me(world.outsider.host, world.outsider.token).status_code == 200  # warm
    provisioning.set_status("beta", "suspended", actor="tests", reason="缓存测试")
    try:
        assert me(world.outsider.host, world.outsider.token).status_code == 403
        assert Client().get("/", HTTP_HOST=world.outsider.host).status_code == 403
        assert me(world.owner.host, world.owner.token).status_code == 200  # alpha unaffected
    finally:
        provisioning.set_status("beta", "active", actor="tests")
    assert me(world.outsider.host, world.outsider.token).status_code == 200


def test_changing_a_domain_is_seen_on_the_next_request(world):
    old_host = world.owner.host
    new_host = f"alpha-{uuid.uuid4().hex[:6]}.localhost"
    assert me(old_host, world.owner.token).status_code == 200  # warm
    assert me(new_host, world.owner.token).status_code == 404  # and negatively cached
    domain = Domain.objects.get(domain=old_host)
    domain.domain = new_host
    domain.save()
    try:
        assert me(old_host, world.owner.token).status_code == 404
        response = me(new_host, world.owner.token)
        assert response.status_code == 200 and response.json()["county"]["slug"] == "alpha"
    finally:
        domain.domain = old_host
        domain.save()
    assert me(old_host, world.owner.token).status_code == 200
    assert me(new_host, world.owner.token).status_code == 404


def test_deleting_a_domain_is_seen_on_the_next_request(world):
    extra = Domain.objects.create(domain=f"extra-{uuid.uuid4().hex[:6]}.localhost", tenant=world.alpha,
                                  is_primary=False)
    assert me(extra.domain, world.owner.token).status_code == 200
    host = extra.domain
    extra.delete()
    assert me(host, world.owner.token).status_code == 404


def test_unknown_host_is_cached_briefly_and_a_new_domain_ends_it(world, clock):
    host = f"later-{uuid.uuid4().hex[:6]}.localhost"
    response, cold = request_counting(host, path="/healthz")
    assert response.status_code == 404 and cold
    response, warm = request_counting(host, path="/healthz")
    assert response.status_code == 404 and warm == []
    clock.advance(tenant_cache.NEGATIVE_TTL + 0.1)
    response, expired = request_counting(host, path="/healthz")
    assert response.status_code == 404 and expired, "an unknown host is remembered only briefly"
    Domain.objects.create(domain=host, tenant=world.alpha, is_primary=False)
    assert Client().get("/healthz", HTTP_HOST=host).status_code == 200


def test_negative_entries_are_bounded(world, monkeypatch):
    monkeypatch.setattr(tenant_cache, "MAX_NEGATIVE", 3)
    hosts = [f"spray-{i}-{uuid.uuid4().hex[:6]}.localhost" for i in range(6)]
    for host in hosts:
        assert Client().get("/healthz", HTTP_HOST=host).status_code == 404
    assert tenant_cache.stats()["unknown_hosts"] == 3


def test_a_change_without_signals_is_seen_after_the_ttl(world, clock):
    """QuerySet.update() sends no signal (nor does another process with a per-process cache):
    the entry expires after the TTL."""
    assert me(world.outsider.host, world.outsider.token).status_code == 200  # warm
    County.objects.filter(pk=world.beta.pk).update(status=County.Status.SUSPENDED)
    assert me(world.outsider.host, world.outsider.token).status_code == 200  # still cached
    clock.advance(tenant_cache.ttl() + 0.1)
    assert me(world.outsider.host, world.outsider.token).status_code == 403
    County.objects.filter(pk=world.beta.pk).update(status=County.Status.ACTIVE)
    tenant_cache.clear()
    assert me(world.outsider.host, world.outsider.token).status_code == 200


def test_per_process_cache_backend_is_not_used_for_the_token(world):
    assert not tenant_cache.is_shared()  # the project's CACHES today: LocMemCache
    assert tenant_cache.ttl() == tenant_cache.LOCAL_TTL
    me(world.owner.host, world.owner.token)
    assert caches["default"].get(tenant_cache.GENERATION_KEY) is None


def test_with_a_shared_cache_a_warm_lookup_makes_no_query_either(world, shared_cache):
    assert tenant_cache.ttl() == tenant_cache.SHARED_TTL
    me(world.owner.host, world.owner.token)
    response, warm = request_counting(world.owner.host, token=world.owner.token)
    assert response.status_code == 200 and warm == []
    assert shared_cache.get(tenant_cache.GENERATION_KEY)


def test_a_new_generation_token_drops_every_entry(world, shared_cache):
    """Another process publishing a change writes a new token into the shared cache."""
    me(world.owner.host, world.owner.token)
    _, warm = request_counting(world.owner.host, token=world.owner.token)
    assert warm == []
    shared_cache.set(tenant_cache.GENERATION_KEY, "from-another-process", None)
    _, after = request_counting(world.owner.host, token=world.owner.token)
    assert after, "a new generation token must force a fresh lookup"
    _, warm_again = request_counting(world.owner.host, token=world.owner.token)
    assert warm_again == []


def test_uncommitted_changes_are_seen_by_their_thread_and_never_cached(world):
    assert me(world.outsider.host, world.outsider.token).status_code == 200  # warm

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        provisioning.set_status("beta", "suspended", actor="tests", reason="回滚")
        # This thread sees its own change, straight from the database.
        response, queries = request_counting(world.outsider.host, token=world.outsider.token)
        assert response.status_code == 403 and queries
        raise Rollback
    # The outermost transaction (the test's) is still the one that changed a row: still bypassed.
    assert me(world.outsider.host, world.outsider.token).status_code == 200


def test_commit_publishes_a_new_generation(world, shared_cache, django_capture_on_commit_callbacks):
    backend = shared_cache
    me(world.owner.host, world.owner.token)
    before = backend.get(tenant_cache.GENERATION_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        domain = Domain.objects.get(domain=world.owner.host)
        domain.save()
    assert callbacks, "the invalidation waits for the commit"
    assert backend.get(tenant_cache.GENERATION_KEY) != before


def test_a_failing_shared_cache_falls_back_to_the_database(world, monkeypatch, django_capture_on_commit_callbacks):
    class Broken:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

        add = set = get

    monkeypatch.setattr(tenant_cache, "_token_store", lambda: Broken())
    for _ in range(2):
        response, queries = request_counting(world.owner.host, token=world.owner.token)
        assert response.status_code == 200 and queries
    with django_capture_on_commit_callbacks(execute=True) as published:
        provisioning.set_status("beta", "suspended", actor="tests")  # publishing fails: logged, not raised
    assert published
    try:
        assert me(world.outsider.host, world.outsider.token).status_code == 403
    finally:
        provisioning.set_status("beta", "active", actor="tests")
