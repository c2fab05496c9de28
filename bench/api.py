"""API benchmark: the matter list under gunicorn, against a bare Django view, with and without
tenant routing.

    python bench/api.py [--seconds S] [--rounds R] [--concurrency N] [--workers W] [--threads T]
                        [--matters M] [--warmup S]

In a throw-away database it provisions one county (``tenants.provisioning.create_county``) with a
supervision-staff user, a DRF token and MATTERS matters (default 200; bulk-inserted rows with one
lead unit each — scaffolding, not product writes). Then it starts two gunicorn servers on
127.0.0.1 (W workers each, sync; gthread with --threads > 1), both on the production profile
with bench-only settings (bench/_api_settings*.py, bench/_api_site.py):

* **with routing**: the product's middleware, ``tenants.middleware.CountyMiddleware`` first
  (Host header → county, from its per-process cache);
* **without routing**: the same stack with that middleware replaced by one that sets the
  county's schema directly (``connection.set_tenant`` of a county fetched once at start-up).

Targets, each loaded by N client threads on http.client keep-alive connections (gunicorn's sync
workers close every connection, so with them each request opens one) for S seconds in all, after
a warm-up; the S seconds are cut into R slices, and the targets take turns slice by slice, the
order reversed every other round, so that drift (other load, CPU frequency) hits them alike:

* ``/bench/bare/``: a bare Django JSON view of the same 100 matters (``values()`` + ``JsonResponse``);
* ``/api/v1/matters/?page_size=100``: the real DRF list endpoint (token auth, access helper,
  serializer, pagination) — ``/api/v1/me/`` if the API has no ``matters`` route yet.

Prints requests/s, p50 and p95 per target and three goals, as met / NOT met: (a) matter list rps
/ bare view rps ≥ 40 %; (b) tenancy overhead = 1 − rps(with routing) / rps(without) ≤ 5 %;
(c) tenant-lookup queries of a request on a warm cache = 0 (measured in this process with
CaptureQueriesContext). Like every benchmark here it asserts nothing about time; it fails if a
request fails. Everything is torn down at the end: both servers stopped, the database dropped.

(bench/ is not a package and must not come before the repository root on ``sys.path``: this
file's name would shadow the ``api`` package. _support puts the root first; the servers get
``PYTHONPATH=<root>:<root>/platform:<root>/bench``.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _support import REPO, bench_database, machine, median

GOAL_API_SHARE = 0.40
GOAL_TENANCY_OVERHEAD = 0.05
GOAL_LOOKUP_QUERIES = 0
SLUG = "bench"
HOST = f"{SLUG}.localhost"
BARE_PATH = "/bench/bare/"
MATTERS_PATH = "/api/v1/matters/?page_size=100"
ME_PATH = "/api/v1/me/"
TENANT_TABLES = ("tenants_domain", "tenants_county")


# --- set-up --------------------------------------------------------------------------------------
def build(matters: int) -> str:
    """The county with its staff user and MATTERS matters; returns the user's token key."""
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from duban.accounts.actions import do_issue_token
    from duban.accounts.models import Role, User
    from duban.core import clock
    from duban.matters.models import Matter, MatterUnit
    from duban.matters.states import State
    from duban.units.models import Unit
    from tenants import provisioning

    provisioning.create_city("bench", "基准市", actor="bench")
    county = provisioning.create_county(SLUG, "基准县", "bench", actor="bench", admin_username=None).county
    today = clock.today()
    now = clock.now()
    with schema_context(county.schema_name), transaction.atomic():
        unit = Unit.objects.create(code="D01", name="一号局", kind=Unit.Kind.DEPARTMENT)
        leader = User.objects.create(username="leader", role=Role.COUNTY_LEADER, password=make_password(None))
        staff = User.objects.create(username="staff", role=Role.SUPERVISION_STAFF, password=make_password(None))
        rows = Matter.objects.bulk_create([
            Matter(number=f"DB-API-{n:05d}", title=f"基准事项{n}", content="基准", category="work_report",
                   state=State.IN_PROGRESS, proposed_by=leader, registered_by=staff, registered_at=now,
                   approved_by=leader, approved_at=now, assigned_by=staff, assigned_at=now,
                   assigned_on=today - timedelta(days=10), deadline=today + timedelta(days=20),
                   deadline_working_days=20, requirements="按期办结")
            for n in range(matters)], batch_size=1000)
        MatterUnit.objects.bulk_create([MatterUnit(matter=m, unit=unit, role=MatterUnit.Role.LEAD, received_at=now)
                                        for m in rows], batch_size=1000)
        key = do_issue_token(staff, actor="bench")
        with connection.cursor() as cursor:
            for table in ("matters_matter", "matters_matterunit", "accounts_user", "accounts_apitoken"):
                cursor.execute(f'ANALYZE "{county.schema_name}".{table}')
    connection.set_schema_to_public()
    return key


def api_path() -> str:
    """The matter list if the API has it yet, else /api/v1/me/."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/matters/", urlconf="duban.urls")
        return MATTERS_PATH
    except Resolver404:
        return ME_PATH


def lookup_figures(path: str, token: str) -> dict:
    """Tenant-lookup queries of one request, cold and warm (this process, CaptureQueriesContext);
    the cost of one lookup, warm (cache) and from the database; the cost of the routing
    middleware against setting the schema directly; and the API request's time in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tenants import cache as tenant_cache
    from tenants.middleware import CountyMiddleware

    def one_request():
        with CaptureQueriesContext(connection) as captured:
            response = Client().get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        sqls = [q["sql"] for q in captured.captured_queries]
        return sum(any(t in sql for t in TENANT_TABLES) for sql in sqls), len(sqls)

    tenant_cache.clear()
    cold_lookup, cold_total = one_request()
    warm_lookup, warm_total = one_request()
    connection.set_schema_to_public()

    def per_call(fn, n):
        started = time.perf_counter()
        for _ in range(n):
            fn(HOST)
        return (time.perf_counter() - started) / n

    CountyMiddleware.lookup(HOST)
    warm_seconds = median([per_call(CountyMiddleware.lookup, 5000) for _ in range(3)])
    database_seconds = median([per_call(CountyMiddleware.lookup_in_database, 200) for _ in range(3)])

    # The routing middleware against setting the schema directly, per request, without HTTP noise,
    # and the API request's own time in this process (Django test client, warm).
    from django.test import RequestFactory
    from django.urls import set_urlconf

    from tenants.models import County

    request = RequestFactory().get(path, HTTP_HOST=HOST)
    middleware = CountyMiddleware(lambda r: None)
    county = County.objects.get(slug=SLUG)

    def routed(_):
        middleware.process_request(request)

    def direct(_):
        request.tenant = county
        connection.set_tenant(county)

    routed_seconds = median([per_call(routed, 3000) for _ in range(3)])
    direct_seconds = median([per_call(direct, 3000) for _ in range(3)])
    client = Client()

    def api_request(_):
        client.get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json")

    request_seconds = median([per_call(api_request, 5) for _ in range(3)])
    connection.set_schema_to_public()
    set_urlconf(None)
    return {"cold_lookup": cold_lookup, "cold_total": cold_total, "warm_lookup": warm_lookup,
            "warm_total": warm_total, "warm_us": warm_seconds * 1e6, "database_us": database_seconds * 1e6,
            "routed_us": routed_seconds * 1e6, "direct_us": direct_seconds * 1e6,
            "request_ms": request_seconds * 1e3, "cache": tenant_cache.stats()}


# --- servers -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    settings: str
    port: int
    log: Path
    process: subprocess.Popen | None = None

    def start(self, workers: int, threads: int, static_root: str) -> Server:
        env = dict(os.environ)
        for name in ("SECRET_KEY_FILE", "SENTRY_DSN", "SENTRY_DSN_FILE", "DATABASE_URL_FILE"):
            env.pop(name, None)
        env.update({
            "DJANGO_SETTINGS_MODULE": self.settings,
            "DUBAN_ENV": "production",
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "platform"), str(REPO / "bench"),
                                           *filter(None, [os.environ.get("PYTHONPATH")])]),
            "SECRET_KEY": secrets.token_urlsafe(64),
            "DUBAN_SSL_REDIRECT": "false",
            "DUBAN_STATIC_ROOT": static_root,
            "DEBUG": "false",
            "LOG_LEVEL": "warning",
            "BENCH_COUNTY": SLUG,
        })
        worker_class = "sync" if threads == 1 else "gthread"
        out = open(self.log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "duban.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
             "--timeout", "60", "--log-level", "warning"],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            try:
                status, _ = fetch(self.port, "/healthz", {"Host": HOST})
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: no answer on /healthz within 60 s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the gunicorn master; it stops its workers
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def fetch(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- load ----------------------------------------------------------------------------------------
class _CountingConnection(http.client.HTTPConnection):
    opened = 0  # per instance, set on connect

    def connect(self):
        self.opened += 1
        super().connect()


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    errors: dict[str, int]
    connections: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(port: int, path: str, headers: dict, seconds: float, concurrency: int) -> Run:
    """CONCURRENCY threads, each on its own keep-alive connection, for SECONDS."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: dict[str, int] = {}
    finished = [0.0] * concurrency
    opened = [0] * concurrency
    ready = threading.Barrier(concurrency + 1)
    stop_at = [0.0]
    lock = threading.Lock()

    def client(i: int) -> None:
        conn = _CountingConnection("127.0.0.1", port, timeout=30)
        out = latencies[i]
        ready.wait()
        while True:
            started = time.perf_counter()
            if started >= stop_at[0]:
                break
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status = type(exc).__name__
            if status == 200:
                out.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        finished[i] = time.perf_counter()
        opened[i] = conn.opened
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    begun = time.perf_counter()
    stop_at[0] = begun + seconds
    ready.wait()
    for t in threads:
        t.join()
    pooled = [x for part in latencies for x in part]
    return Run(len(pooled), max(finished) - begun, pooled, errors, sum(opened))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Target:
    label: str
    server: Server
    path: str
    runs: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        seconds = sum(r.seconds for r in self.runs)
        return sum(r.requests for r in self.runs) / seconds if seconds else 0.0

    @property
    def latencies(self) -> list[float]:
        return [x for r in self.runs for x in r.latencies]

    @property
    def errors(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for r in self.runs:
            for k, v in r.errors.items():
                total[k] = total.get(k, 0) + v
        return total


def check_response(target: Target, headers: dict) -> str:
    status, body = fetch(target.server.port, target.path, headers)
    if status != 200:
        raise RuntimeError(f"{target.label}: {target.path} answered {status}: {body[:300]!r}\n{target.server.tail()}")
    data = json.loads(body)
    rows = len(data["results"]) if isinstance(data, dict) and "results" in data else None
    return f"{len(body) / 1024:.1f} KiB" + (f", {rows} rows" if rows is not None else "")


# --- main ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--rounds", type=int, default=4,
                        help="slices the seconds are cut into; the targets take turns slice by slice")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (> 1: gthread workers)")
    parser.add_argument("--matters", type=int, default=200, help="matters in the county (≥ 100)")
    args = parser.parse_args()
    if args.matters < 100:
        parser.error("--matters must be at least 100 (the lists are 100 rows)")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be ≥ 1 and --seconds > 0")

    servers: list[Server] = []
    workdir = Path(tempfile.mkdtemp(prefix="duban-bench-api-"))
    with bench_database("duban_bench_api") as database:
        try:
            started = time.perf_counter()
            token = build(args.matters)
            build_seconds = time.perf_counter() - started
            path = api_path()
            lookups = lookup_figures(path, token)

            static_root = workdir / "static"
            static_root.mkdir()
            routed = Server("with routing", "_api_settings", free_port(), workdir / "routed.log")
            direct = Server("without routing", "_api_settings_direct", free_port(), workdir / "direct.log")
            for server in (routed, direct):
                servers.append(server)
                server.start(args.workers, args.threads, str(static_root))

            api_name = "matter list API" if path == MATTERS_PATH else "/me API (no matters route yet)"
            targets = [
                Target("bare view, with routing", routed, BARE_PATH),
                Target(f"{api_name}, with routing", routed, path),
                Target(f"{api_name}, without routing", direct, path),
                Target("bare view, without routing", direct, BARE_PATH),
            ]
            headers = {"Host": HOST, "Authorization": f"Token {token}", "Accept": "application/json"}
            sizes = {t.label: check_response(t, headers) for t in targets}
            for target in targets:
                load(target.server.port, target.path, headers, args.warmup, args.concurrency)
            for r in range(args.rounds):
                for target in (targets if r % 2 == 0 else targets[::-1]):
                    target.runs.append(load(target.server.port, target.path, headers, args.seconds / args.rounds,
                                            args.concurrency))
        finally:
            for server in servers:
                server.stop()
            logs = {s.name: s.tail() for s in servers}
            shutil.rmtree(workdir, ignore_errors=True)

        workers = f"{args.workers} {'sync' if args.threads == 1 else f'gthread×{args.threads}'} workers"
        print(f"API benchmark on {machine()} (database {database})")
        print(f"  county {SLUG}: {args.matters} matters built in {build_seconds:.1f} s; "
              f"gunicorn with {workers} per server, production settings")
        print(f"  load: {args.concurrency} client threads (http.client, keep-alive when the server allows it), "
              f"{args.seconds:g} s per target in {args.rounds} turn{'s' if args.rounds > 1 else ''} of "
              f"{args.seconds / args.rounds:g} s, "
              f"after {args.warmup:g} s warm-up each")
        print(f"  {'target':44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'requests':>9}  "
              f"{'req/s per turn':24} {'conns':>6}  response")
        for t in targets:
            lat = t.latencies
            per_round = (" / ".join(f"{r.rps:.0f}" for r in t.runs) if len(t.runs) <= 4 else
                         f"{min(r.rps for r in t.runs):.0f} … {max(r.rps for r in t.runs):.0f}")
            print(f"  {t.label:44} {t.rps:8.1f} {percentile(lat, .5) * 1000:8.2f} {percentile(lat, .95) * 1000:8.2f} "
                  f"{len(lat):9d}  {per_round:24} {sum(r.connections for r in t.runs):6d}  {sizes[t.label]}")
        failed = {t.label: t.errors for t in targets if t.errors}
        if failed:
            print(f"  FAILED requests: {failed}")
            for name, tail in logs.items():
                print(f"  --- end of the {name} server's log ---\n{tail}")

        bare_r, api_r, api_d, bare_d = targets
        share = api_r.rps / bare_r.rps
        overhead = 1 - api_r.rps / api_d.rps
        bare_overhead = 1 - bare_r.rps / bare_d.rps
        turns = [1 - a.rps / d.rps for a, d in zip(api_r.runs, api_d.runs, strict=False) if d.rps]
        per_round = (", ".join(f"{x * 100:+.1f} %" for x in turns) if len(turns) <= 4 else
                     f"from {min(turns) * 100:+.1f} % to {max(turns) * 100:+.1f} %, median {median(turns) * 100:+.1f} %")
        print(f"  (a) {api_name} / bare view (both with routing): {share * 100:.1f} % of the requests/s   "
              f"(goal ≥ {GOAL_API_SHARE * 100:.0f} %: {'met' if share >= GOAL_API_SHARE else 'NOT met'})"
              + ("" if path == MATTERS_PATH else "  [NOT the matter list: the API has no matters route]"))
        print(f"  (b) tenancy overhead on the API, 1 − with/without routing: {overhead * 100:+.1f} %   "
              f"(goal ≤ {GOAL_TENANCY_OVERHEAD * 100:.0f} %: "
              f"{'met' if overhead <= GOAL_TENANCY_OVERHEAD else 'NOT met'}); per turn: {per_round}")
        if len(turns) > 1 and max(turns) - min(turns) > 2 * GOAL_TENANCY_OVERHEAD:
            print(f"      noisy: the turns spread over {(max(turns) - min(turns)) * 100:.0f} points, more than twice "
                  f"the goal, so the verdict above is weak (more --seconds narrow the pooled figure); the "
                  f"in-process figure below has no HTTP or scheduling noise")
        print(f"      on the bare view (reference, not a goal): {bare_overhead * 100:+.1f} %")
        extra_us = lookups["routed_us"] - lookups["direct_us"]
        print(f"      in process, no HTTP: routing middleware {lookups['routed_us']:.1f} µs per request, setting the "
              f"schema directly {lookups['direct_us']:.1f} µs: +{extra_us:.1f} µs = "
              f"{extra_us / (lookups['request_ms'] * 1000) * 100:.2f} % of the API request's "
              f"{lookups['request_ms']:.1f} ms here")
        met_c = lookups["warm_lookup"] <= GOAL_LOOKUP_QUERIES
        print(f"  (c) tenant-lookup queries of one API request on a warm cache: {lookups['warm_lookup']}   "
              f"(goal {GOAL_LOOKUP_QUERIES}: {'met' if met_c else 'NOT met'}); cold: {lookups['cold_lookup']}; "
              f"the request made {lookups['warm_total']} queries in all (cold {lookups['cold_total']})")
        print(f"      one lookup: {lookups['warm_us']:.1f} µs from the cache, {lookups['database_us']:.0f} µs "
              f"from the database; cache: {'shared' if lookups['cache']['shared'] else 'per process'}, "
              f"TTL {lookups['cache']['ttl']:g} s")
        print(f"  machine: {machine()} — the client, both servers and PostgreSQL share these CPUs")
        if failed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
