"""The request path as PostgreSQL sees it: at most one ``SET search_path`` per request, and no
tenant lookup on a warm host cache, with many counties.

What counts is what reaches the server, so the statements are read off the wire: the Django
connection is pointed at a small TCP proxy (``WireTap``) in front of PostgreSQL that records the
SQL of every Query and Parse message of the frontend protocol. That sees whatever django-tenants,
Django or psycopg send, by whichever cursor; ``pg_stat_statements`` is not preloaded on every
server we run on, and per-session statement logging needs a log file we can read. The tapped
connection runs the test in a transaction of its own, rolled back at the end (the ``world``
counties are committed, so it sees them).

``test_the_tap_sees_every_set_search_path`` shows the checks would fail: with django-tenants'
``TENANT_LIMIT_SET_CALLS`` off, the same request sends several ``SET search_path`` and the
helper rejects it. A request whose host is not in the cache yet sends one too: the middleware
looks hosts up by the public tables' qualified names, on whatever schema the connection is on
(``test_a_cold_host_lookup_sends_one_set_search_path``; only a connection's very first query
sets a path of its own). Invalidation on a domain change is tests/test_tenant_cache.py's.
"""

from __future__ import annotations

import copy
import re
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from duban.accounts.models import User
from tenants import cache as tenant_cache
from tenants.models import County, Domain

pytestmark = pytest.mark.django_db

SET_SEARCH_PATH = re.compile(r"^\s*SET\s+search_path\b", re.IGNORECASE)
LOOKUP_TABLE = "tenants_domain"  # CountyMiddleware.lookup_in_database reads it, nothing else per request
EXTRA_COUNTIES = 50
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class WireTap:
    """A TCP proxy to PostgreSQL recording the SQL text the client sends ('Q' and 'P' messages).

    Each message is recorded before it is forwarded, so everything a request sent is recorded
    by the time its response is back. Encryption requests are answered "no" (the client is
    configured not to ask anyway): the stream stays readable."""

    def __init__(self, host: str, port: int):
        self.upstream = (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}") if host.startswith("/") else \
            (socket.AF_INET, (host, port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.statements: list[str] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(self.upstream[0], socket.SOCK_STREAM)
            server.connect(self.upstream[1])
            self._sockets += [client, server]
            threading.Thread(target=self._from_client, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with _quiet():
                dst.shutdown(socket.SHUT_WR)

    def _from_client(self, src: socket.socket, dst: socket.socket) -> None:
        buffer, started = b"", False
        try:
            while data := src.recv(65536):
                buffer += data
                out = bytearray()
                while True:
                    if not started:  # untyped: SSLRequest, GSSENCRequest, StartupMessage, CancelRequest
                        if len(buffer) < 8 or len(buffer) < int.from_bytes(buffer[:4], "big"):
                            break
                        length = int.from_bytes(buffer[:4], "big")
                        message, buffer = buffer[:length], buffer[length:]
                        if int.from_bytes(message[4:8], "big") in (SSL_REQUEST, GSSENC_REQUEST):
                            src.sendall(b"N")
                            continue
                        out += message
                        started = True
                        continue
                    if len(buffer) < 5 or len(buffer) < 1 + int.from_bytes(buffer[1:5], "big"):
                        break
                    end = 1 + int.from_bytes(buffer[1:5], "big")
                    kind, payload = buffer[:1], buffer[5:end]
                    if kind == b"Q":  # simple query: the text
                        self._record(payload[:-1])
                    elif kind == b"P":  # parse: statement name, then the text
                        name_end = payload.index(b"\0")
                        self._record(payload[name_end + 1:payload.index(b"\0", name_end + 1)])
                    out += buffer[:end]
                    buffer = buffer[end:]
                if out:
                    dst.sendall(out)
        except OSError:
            pass
        finally:
            with _quiet():
                dst.shutdown(socket.SHUT_WR)

    def _record(self, sql: bytes) -> None:
        with self._lock:
            self.statements.append(sql.decode("utf-8", "replace"))

    @contextmanager
    def watching(self):
        """``with tap.watching() as sent:`` — ``sent`` lists the statements sent inside the block."""
        with self._lock:
            start = len(self.statements)
        sent: list[str] = []
        yield sent
        with self._lock:
            sent.extend(self.statements[start:])

    def close(self) -> None:
        for sock in self._sockets:
            with _quiet():  # shutdown first: it ends the connection even while a thread is in recv()
                sock.shutdown(socket.SHUT_RDWR)
            with _quiet():
                sock.close()


@contextmanager
def _quiet():
    try:
        yield
    except OSError:
        pass


@pytest.fixture
def wire(world, monkeypatch):
    """Django's default connection goes through a WireTap for the test, in a transaction that is
    rolled back; the host cache's clock stands still (entries are warm however slow the run)."""
    original = connections["default"]
    original.ensure_connection()
    info = original.connection.info
    tap = WireTap(info.host, info.port)
    params = copy.deepcopy(original.settings_dict)
    params.update(HOST="127.0.0.1", PORT=str(tap.port))
    params["OPTIONS"] = {**params.get("OPTIONS", {}), "sslmode": "disable", "gssencmode": "disable"}
    tapped = original.__class__(params, alias=original.alias)
    connections["default"] = tapped
    frozen = tenant_cache._now()
    monkeypatch.setattr(tenant_cache, "_now", lambda: frozen)
    tenant_cache.clear()
    backend = None
    try:
        with transaction.atomic():
            with tapped.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            yield tap
            transaction.set_rollback(True)
    finally:
        tapped.close()
        connections["default"] = original
        tenant_cache.clear()
        # The tapped backend ends on the client's Terminate message, which the tap forwards;
        # wait for that, so that the test database can be dropped at the end of the session.
        deadline = time.monotonic() + 10
        while backend and time.monotonic() < deadline:
            with original.cursor() as cursor:  # in a transaction: drop its pg_stat_activity snapshot
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend])
                if cursor.fetchone() is None:
                    break
            time.sleep(0.05)
        tap.close()


def set_search_paths(sent: list[str]) -> list[str]:
    return [sql for sql in sent if SET_SEARCH_PATH.match(sql)]


def lookups(sent: list[str]) -> list[str]:
    return [sql for sql in sent if LOOKUP_TABLE in sql]


def request(tap: WireTap, client: Client, path: str, host: str, token: str | None = None,
            status: int = 200, check: bool = True) -> list[str]:
    """GET ``path`` on ``host``; returns the statements sent, having checked the status and
    (``check``) that at most one of them set the search_path, to the schema of ``host``."""
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    with tap.watching() as sent:
        response = client.get(path, **headers)
    assert response.status_code == status, (path, host, response.status_code)
    if check:
        assert_at_most_one_set(sent, expected_schema=getattr(response.wsgi_request.tenant, "schema_name", None))
    return sent


def assert_at_most_one_set(sent: list[str], expected_schema: str | None = None) -> None:
    sets = set_search_paths(sent)
    assert len(sets) <= 1, f"{len(sets)} SET search_path in one request: {sets}"
    if sets and expected_schema:
        assert f'"{expected_schema}"' in sets[0].split("=", 1)[1].split(",")[0], sets[0]


def logged_in(world) -> Client:
    client = Client()
    with tenant_context(world.alpha):  # the session is stored in alpha's schema
        client.force_login(User.objects.get(username=world.owner.username))
    connection.set_schema_to_public()
    return client


def test_one_set_search_path_per_request(world, wire):
    api = Client()
    page = logged_in(world)
    cases = [  # (client, path, host, token, whether the request queries the database)
        (api, "/api/v1/me/", world.owner.host, world.owner.token, True),
        (api, "/api/v1/matters/", world.owner.host, world.owner.token, True),
        (api, "/api/v1/me/", world.outsider.host, world.outsider.token, True),
        (page, "/todo/", world.owner.host, None, True),
        (page, "/matters/", world.owner.host, None, True),
        (api, "/healthz", world.owner.host, None, False),
        (api, "/healthz", "localhost", None, False),
    ]
    for host in {case[2] for case in cases}:  # warm the host cache (see the cold case below)
        api.get("/healthz", HTTP_HOST=host)
    for client, path, host, token, queries in cases:
        sent = request(wire, client, path, host, token)
        assert lookups(sent) == [], (path, host, lookups(sent))
        if queries:
            # One SET, before the first statement of the request, naming the county's schema.
            assert len(set_search_paths(sent)) == 1 and SET_SEARCH_PATH.match(sent[0]), (path, host, sent[:3])
        else:
            assert sent == [], (path, host, sent)


def test_a_cold_host_lookup_sends_one_set_search_path(world, wire):
    sent = request(wire, Client(), "/api/v1/me/", world.owner.host, world.owner.token)
    assert len(lookups(sent)) == 1


def test_the_in_process_count_matches_the_wire(world, wire):
    """bench/sweep.py and bench/scale.py count SET search_path with Django's execute_wrapper:
    django-tenants issues it on the wrapped cursor, so that count is the server's."""
    seen_by_django = []
    client = Client()
    request(wire, client, "/api/v1/me/", world.owner.host, world.owner.token, check=False)  # warm the host
    with connection.execute_wrapper(lambda execute, sql, *args: seen_by_django.append(sql) or execute(sql, *args)):
        sent = request(wire, client, "/api/v1/matters/", world.owner.host, world.owner.token)
    assert set_search_paths(seen_by_django) == set_search_paths(sent) and len(set_search_paths(sent)) == 1


def test_warm_lookups_make_no_query_with_many_counties(world, wire):
    city_id = world.alpha.city_id
    extra = County.objects.bulk_create([  # bulk: no signals, so nothing invalidates the cache
        County(schema_name=f"county_many{i:03d}", slug=f"many{i:03d}", name=f"多{i}县", city_id=city_id,
               rulepack_name=world.alpha.rulepack_name, rulepack_version=world.alpha.rulepack_version)
        for i in range(EXTRA_COUNTIES)])
    Domain.objects.bulk_create([Domain(domain=f"{c.slug}.localhost", tenant=c, is_primary=True) for c in extra])
    with connection.cursor() as cursor:
        for county in extra:
            cursor.execute(f'CREATE SCHEMA "{county.schema_name}"')
    assert County.objects.count() >= EXTRA_COUNTIES + 2

    api, page = Client(), logged_in(world)
    hosts = [f"{c.slug}.localhost" for c in extra]

    def round_(check: bool) -> list[list[str]]:
        sent = [request(wire, api, "/healthz", host, check=check) for host in hosts]
        sent.append(request(wire, api, "/api/v1/me/", world.owner.host, world.owner.token, check=check))
        sent.append(request(wire, api, "/api/v1/me/", world.outsider.host, world.outsider.token, check=check))
        sent.append(request(wire, page, "/todo/", world.owner.host, check=check))
        return sent

    cold = round_(check=False)  # a cold lookup sends a SET of its own: see the xfail above
    assert sum(len(lookups(s)) for s in cold) == EXTRA_COUNTIES + 2, "each host looked up once, when cold"
    assert tenant_cache.stats()["entries"] >= EXTRA_COUNTIES + 2
    warm = round_(check=True)
    assert [lookups(s) for s in warm] == [[]] * len(warm), "a warm host cache makes no tenant query"
    assert all(s == [] for s in warm[:EXTRA_COUNTIES]), "a warm /healthz sends nothing at all"
    assert all(len(set_search_paths(s)) == 1 for s in warm[EXTRA_COUNTIES:])


def test_the_tap_sees_every_set_search_path(world, wire):
    """Negative check: were search_path set more than once per request, the tests above would fail.
    Without TENANT_LIMIT_SET_CALLS django-tenants sends it before every cursor."""
    client = Client()
    request(wire, client, "/api/v1/me/", world.owner.host, world.owner.token, check=False)  # warm the host
    with override_settings(TENANT_LIMIT_SET_CALLS=False):
        with wire.watching() as sent:
            response = client.get("/api/v1/matters/", HTTP_HOST=world.owner.host,
                                  HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert response.status_code == 200
    assert len(set_search_paths(sent)) > 1
    with pytest.raises(AssertionError, match="SET search_path in one request"):
        assert_at_most_one_set(sent)
    # And a SET naming another county's schema is caught too.
    with pytest.raises(AssertionError):
        assert_at_most_one_set(['SET search_path = "county_beta","public"'], expected_schema="county_alpha")
