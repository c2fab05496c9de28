"""Scale benchmark: N counties (goal 2,844, every county-level division of China) — provisioning,
migrations, sweep, city comparison, request path and PostgreSQL backend memory.

    python bench/scale.py [N] [--workers W] [--matters M] [--requests R] [--pool P] [--max-schemas K]

In a throw-away database (bench/_support.bench_database) it builds N counties in W processes
(bench/sweep.py's ``build``: one unit, a leader and M overdue matters each — scaffolding, not
product writes). Then, in the same run on the same database:

0. provisioning at N existing counties: the spare pool refilled to P (untimed: beat's work), P
   counties created from it, 5 by clone and 3 by migrations, each the whole ``create_county``
   action; goals p95 < 200 ms and ≥ 20× faster than migrations;
a. a no-op ``duban migrate_schemas`` (a subprocess, as an operator runs it): goal < 3 min at 2,844;
b. one additive migration over every county in parallel: the benchmark writes a real migration
   (``AddField`` of a nullable boolean with a default on ``matters.Matter``) into a throw-away copy
   of that app's migrations in a temp dir, which bench/_scale_settings.py puts in
   ``MIGRATION_MODULES`` for a subprocess ``duban migrate_schemas --executor multiprocessing``
   (W processes). Nothing is written to the repository. It checks (information_schema,
   django_migrations) that the column exists in every county schema and the template;
c. the supervision sweep over every county (bench/sweep.py's ``run_sweep``, releasing the
   connection between counties as the product's loops do): N × M steps; goal < 5 min at 2,844 × 5;
d. the city comparison: full snapshot refresh (one process, and split over W processes as the
   nightly fan-out does) and the endpoint's p50/p95 (bench/city.py's ``measure``); goal p95 < 200 ms;
e. the request path, twice: W spawned processes, each a web worker with a persistent connection
   calling Django's WSGI handler as a WSGI server does (a request's time is until its body is read;
   closing the response afterwards sends ``request_finished``, timed apart),
   request ``/api/v1/matters/`` (token auth, whole middleware stack) on each host twice in a row and
   once more after the pass — first without the connection bound on 1,000 hosts (the service as
   measured at 1,000 counties), then with ``DATABASE_CONN_MAX_SCHEMAS`` (K) on all N hosts; after
   each, the memory of every client backend of this database (RSS / PSS / private from
   ``/proc/<pid>``, ``CacheMemoryContext``) against a fresh backend. Goals: every backend ≤ 150 MB
   RSS, and the bounded run's request p95 within 10 % of the unbounded one's.

Prints each figure as it goes, a summary, and every goal met / NOT met; the database is dropped
afterwards. Like every benchmark here it asserts nothing about time; it exits non-zero if a count
is wrong (steps opened, schemas migrated, the new column, tenant lookups on a warm cache, SET
search_path, a county made by another method than asked).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("API_THROTTLE_USER", "off")  # thousands of requests by one user id
os.environ.setdefault("API_THROTTLE_ANON", "off")
os.environ.setdefault("DUBAN_SPARE_SCHEMAS", "3")  # the production default (the test settings have none)

import _scale_backends as backends
import city as city_bench  # bench/city.py
import sweep as sweep_bench  # bench/sweep.py
from _support import REPO, bench_database, machine, median

GOAL_COUNTIES = 1000  # the first goals' size, and the unbounded request pass's
GOAL_NOOP_MIGRATE_SECONDS = 60.0
MIGRATION_APP = "matters"
MIGRATION_MODEL, MIGRATION_TABLE = "matter", "matters_matter"
NEW_COLUMN = "bench_scale_flag"
GOAL_NOOP_MIGRATE_AT_SCALE = 180.0  # at 2,844 counties
GOAL_SWEEP_SECONDS = 300.0  # 2,844 × 5 overdue
GOAL_COMPARISON_P95_MS = 200.0
GOAL_PROVISION_P95 = 0.200
GOAL_PROVISION_RATIO = 20.0
GOAL_BACKEND_RSS_MB = 150.0
GOAL_REQUEST_P95_SLOWER = 0.10  # bounded at N against unbounded at 1,000, same run
SUMMARY: list[tuple[str, str]] = []
GOALS: list[tuple[str, str]] = []
FAILURES: list[str] = []


def goal(label: str, met: bool, value: str) -> None:
    """A goal of issue 21, printed met / NOT met with its figure."""
    line = f"{value} — {'met' if met else 'NOT met'}"
    print(f"  GOAL {label}: {line}", flush=True)
    GOALS.append((label, line))


def figure(label: str, value: str) -> None:
    print(f"  {label}: {value}", flush=True)
    SUMMARY.append((label, value))


def wrong(message: str) -> None:
    print(f"  WRONG: {message}", flush=True)
    FAILURES.append(message)


# --- provisioning ----------------------------------------------------------------------------
def _build_slice(args) -> list[float]:
    """A build process: provision the counties of these indices (fresh Django set-up), timing
    every ``provisioning.create_county``."""
    indices, matters, database_url, total = args
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from tenants import provisioning

    clones: list[float] = []
    original = provisioning.create_county

    def timed(*a, **kw):
        t0 = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            clones.append(time.perf_counter() - t0)
            if len(clones) % 200 == 0:
                print(f"    a build process: {len(clones)}/{len(indices)} of {total}", flush=True)

    provisioning.create_county = timed
    sweep_bench.build(total, matters, only=indices, city=False)
    return clones


def build(counties: int, matters: int, workers: int) -> tuple[list, list[float]]:
    """The benchmark's counties (bench/sweep.py's build), split over ``workers`` processes —
    scaffolding: the provisioning figures that count are :func:`provisioning_at_scale`'s."""
    from multiprocessing import get_context

    from tenants import provisioning
    from tenants.models import County

    provisioning.create_city("bench", "基准市", actor="bench")
    # Counties outside the compared city: one made first (the template migrated, its clone script
    # built), and provisioning_at_scale's.
    provisioning.create_city("benchpv", "开通市", actor="bench")
    provisioning.create_county("sw-warm", "预热县", "benchpv", actor="bench", admin_username=None)
    slices = [(list(range(k, counties, workers)), matters, os.environ["DATABASE_URL"], counties)
              for k in range(workers)]
    with get_context("spawn").Pool(workers) as pool:
        clones = [t for part in pool.map(_build_slice, slices) for t in part]
    return list(County.objects.filter(slug__regex=r"^sw[0-9]{4}$").order_by("slug")), clones


def provisioning_at_scale(existing: int, pool_size: int, clones: int, migrations: int) -> int:
    """Counties created one by one with ``existing`` counties in the database: from a refilled pool
    of spare schemas (the default), by clone and by migrations, timed alike (the whole
    ``create_county`` action). Returns how many counties it added."""
    from django.db import connection

    from tenants import provisioning, spares

    print(f"provisioning at {existing} existing counties: {pool_size} from the spare pool, {clones} by clone, "
          f"{migrations} by migrations …", flush=True)
    started = time.perf_counter()
    refilled = spares.refill(pool_size, actor="bench")
    refill_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {"spare": [], "clone": [], "migrate": []}
    plan = ["spare"] * pool_size + ["clone"] * clones + ["migrate"] * migrations
    for i, method in enumerate(plan):
        t0 = time.perf_counter()
        made = provisioning.create_county(f"pv{i:03d}", f"开通{i}县", "benchpv", actor="bench", admin_username=None,
                                          method=method)
        timings[method].append(time.perf_counter() - t0)
        connection.set_schema_to_public()
        if made.method != method:
            wrong(f"county pv{i:03d}: asked for {method}, made by {made.method}")

    def spread(values: list[float]) -> str:
        return (f"p50 {median(values) * 1000:.0f} ms, p95 {backends.percentile(values, 0.95) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms")

    spare_p95 = backends.percentile(timings["spare"], 0.95)
    ratio = median(timings["migrate"]) / median(timings["spare"])
    figure("provisioning from the spare pool", f"{spread(timings['spare'])} over {pool_size} counties "
           f"(the pool refilled beforehand: {len(refilled.created)} clones in {refill_seconds:.1f} s, beat's work)")
    figure("provisioning by clone (method=\"clone\")", spread(timings["clone"]))
    figure("provisioning by migrations", spread(timings["migrate"]))
    goal(f"provisioning p95 < {GOAL_PROVISION_P95 * 1000:.0f} ms at {existing} counties",
         spare_p95 < GOAL_PROVISION_P95, f"p95 {spare_p95 * 1000:.0f} ms")
    goal(f"provisioning ≥ {GOAL_PROVISION_RATIO:.0f}× faster than migrations", ratio >= GOAL_PROVISION_RATIO,
         f"{ratio:.0f}× (medians {median(timings['migrate']) * 1000:.0f} / {median(timings['spare']) * 1000:.0f} ms)")
    spares.refill(actor="bench")  # back to DUBAN_SPARE_SCHEMAS, as `duban county create` leaves it
    return len(plan) + 1  # and build's first county


def tokens_for(counties: list) -> list[tuple[str, str]]:
    """(slug, API token of the county's leader) for the request workers (scaffolding)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from duban.accounts.actions import do_issue_token
    from duban.accounts.models import User
    from duban.core import connections

    out = []
    for county in connections.bounded(counties):
        with schema_context(county.schema_name):
            out.append((county.slug, do_issue_token(User.objects.get(username="leader"), actor="bench")))
    connection.set_schema_to_public()
    return out


# --- migrations --------------------------------------------------------------------------------
def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # DATABASE_URL names the bench database (bench_database set it)
    paths = [str(REPO), str(REPO / "platform"), str(REPO / "bench")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def duban_command() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from duban.cli import main; main()"]


def run_duban(args: list[str], env: dict[str, str], log: Path) -> tuple[float, str]:
    started = time.perf_counter()
    with open(log, "w") as out:
        result = subprocess.run(duban_command() + args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if result.returncode != 0:
        raise SystemExit(f"bench: duban {' '.join(args)} failed ({result.returncode}):\n{text[-4000:]}")
    return elapsed, text


def noop_migrate(counties: int, workdir: Path) -> None:
    print(f"a. no-op `duban migrate_schemas` over {counties} counties …", flush=True)
    elapsed, text = run_duban(["migrate_schemas", "--noinput", "-v", "1"], subprocess_env(), workdir / "noop.log")
    found = re.search(r"共 (\d+) 个县：迁移 (\d+) 个，(\d+) 个已是最新（用时 ([\d.]+) 秒）", text)
    if not found:
        raise SystemExit(f"bench: no summary line in migrate_schemas' output:\n{text[-3000:]}")
    total, migrated, skipped, own = int(found[1]), int(found[2]), int(found[3]), float(found[4])
    if total != counties or migrated != 0:
        wrong(f"no-op migrate_schemas: {total} counties, {migrated} migrated (expected {counties}, 0)")
    # The command's own clock covers public, the template and the counties; the rest is start-up.
    projected = (elapsed - own) + own / counties * GOAL_COUNTIES
    figure("no-op migrate_schemas", f"{elapsed:.1f} s wall ({own:.1f} s by the command's own clock); "
           f"{skipped} schemas skipped, {migrated} migrated")
    if counties >= 2000:
        goal(f"no-op migrate_schemas < {GOAL_NOOP_MIGRATE_AT_SCALE / 60:.0f} min at {counties} counties",
             elapsed < GOAL_NOOP_MIGRATE_AT_SCALE, f"{elapsed:.1f} s")
    elif counties >= GOAL_COUNTIES:
        goal(f"no-op migrate_schemas < {GOAL_NOOP_MIGRATE_SECONDS:.0f} s at {counties} counties",
             elapsed < GOAL_NOOP_MIGRATE_SECONDS, f"{elapsed:.1f} s")
    else:
        figure("no-op migrate_schemas, projected", f"≤ {projected:.0f} s at {GOAL_COUNTIES} (start-up + the "
               f"command's time per county × {GOAL_COUNTIES})")


def write_migration(tmp: Path) -> tuple[str, str]:
    """A copy of MIGRATION_APP's migrations plus one AddField; returns (module, migration name)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    module_name, _ = MigrationLoader.migrations_module(MIGRATION_APP)
    source = Path(importlib.import_module(module_name).__path__[0])
    (leaf,) = loader.graph.leaf_nodes(MIGRATION_APP)
    package = "bench_scale_migrations"
    target = tmp / package
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    number = int(leaf[1].split("_")[0]) + 1 if leaf[1][:4].isdigit() else 9999
    name = f"{number:04d}_bench_scale_column"
    (target / f"{name}.py").write_text(
        "# Written by bench/scale.py into a temp dir; never part of the repository.\n"
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [({MIGRATION_APP!r}, {leaf[1]!r})]\n"
        "    operations = [migrations.AddField(\n"
        f"        model_name={MIGRATION_MODEL!r}, name={NEW_COLUMN!r},\n"
        "        field=models.BooleanField(default=False, null=True))]\n")
    return package, name


def additive_migration(counties: list, workers: int, workdir: Path) -> None:
    from django.db import connection

    from duban.core import schemas

    print(f"b. one additive migration over {len(counties)} counties, --executor multiprocessing × {workers} …",
          flush=True)
    package, name = write_migration(workdir)
    env = subprocess_env(DJANGO_SETTINGS_MODULE="_scale_settings", DUBAN_BENCH_SCALE_APP=MIGRATION_APP,
                         DUBAN_BENCH_SCALE_MIGRATIONS=package, DUBAN_BENCH_SCALE_WORKERS=str(workers))
    env["PYTHONPATH"] += os.pathsep + str(workdir)
    elapsed, text = run_duban(["migrate_schemas", "--noinput", "-v", "1", "--executor", "multiprocessing"],
                              env, workdir / "additive.log")
    county_schemas = {c.schema_name for c in counties}
    expected = county_schemas | {schemas.template_schema()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.columns WHERE table_name = %s "
                       "AND column_name = %s", [MIGRATION_TABLE, NEW_COLUMN])
        with_column = {row[0] for row in cursor.fetchall()}
        recorded = 0
        for schema in sorted(county_schemas):
            cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                           [MIGRATION_APP, name])
            recorded += cursor.fetchone()[0]
    connection.set_schema_to_public()
    missing = expected - with_column
    if missing:
        wrong(f"column {MIGRATION_TABLE}.{NEW_COLUMN} missing in {len(missing)} schemas, "
              f"e.g. {sorted(missing)[:5]}\n{text[-3000:]}")
    if recorded != len(counties):
        wrong(f"{name} recorded in {recorded} of {len(counties)} county schemas")
    applied_lines = len(re.findall(rf"Applying {MIGRATION_APP}\.{name}", text))
    figure("additive migration", f"{elapsed:.1f} s wall with {workers} processes ({elapsed / len(counties) * 1000:.0f} ms "
           f"per county); {recorded} county schemas migrated ({applied_lines} 'Applying' lines: counties, public, "
           f"template), column present in "
           f"{len(with_column & county_schemas)}/{len(counties)} counties + template: "
           f"{'ok' if not missing else 'WRONG'}")


# --- sweep, comparison ---------------------------------------------------------------------------
def sweep(counties: list, matters: int) -> None:
    print(f"c. the sweep over {len(counties)} counties …", flush=True)
    seconds, opened, queries = sweep_bench.run_sweep(counties)
    in_db = sweep_bench.steps_in_database(counties)
    expected = len(counties) * matters
    if not opened == in_db == expected:
        wrong(f"sweep opened {opened} steps ({in_db} in the database), expected {expected}")
    figure("sweep", f"{seconds:.1f} s, {opened} steps opened (expected {expected}); "
           f"{seconds / len(counties) * 1000:.1f} ms per county, {queries[0] / len(counties):.0f} statements "
           f"per county, {queries[1] / len(counties):.1f} of them SET search_path")
    goal(f"sweep < {GOAL_SWEEP_SECONDS / 60:.0f} min ({len(counties)} × {matters} overdue)",
         seconds < GOAL_SWEEP_SECONDS, f"{seconds:.1f} s")


def current_quarter() -> date:
    from duban.core import clock

    today = clock.today()
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def comparison(counties: list, workers: int, requests: int) -> None:
    from multiprocessing import get_context

    from duban.comparison.actions import do_set_reference_pack
    from duban.comparison.models import CountySnapshot
    from duban.comparison.refresh import refresh_all
    from tenants.models import City

    print(f"d. the city comparison over {len(counties)} counties …", flush=True)
    do_set_reference_pack(City.objects.get(code="bench"), "county_default", actor="bench")
    rows, seconds = refresh_all(counties, kind="full")
    figure("comparison refresh", f"{seconds:.1f} s in one process, {rows} snapshots "
           f"({seconds / len(counties) * 1000:.0f} ms per county)")
    if workers > 1:
        slugs = [c.slug for c in counties]
        chunks = [(slugs[i::workers], os.environ["DATABASE_URL"]) for i in range(workers)]
        started = time.perf_counter()
        with get_context("spawn").Pool(workers) as pool:
            pool.map(city_bench._refresh_slice, chunks)
        figure("comparison refresh, split", f"{time.perf_counter() - started:.1f} s over {workers} processes")
    # bench/city.py's data sits in a fixed quarter; these counties' matters are recent: ask for
    # the current quarter, which every county has a snapshot of.
    city_bench.QUARTER = current_quarter()
    snapshots = CountySnapshot.objects.filter(period_kind="quarter", period_start=city_bench.QUARTER).count()
    if snapshots != len(counties):
        wrong(f"{snapshots} quarter snapshots for {city_bench.QUARTER}, expected {len(counties)}")
    times, statements, shown = city_bench.measure(requests)
    if shown != len(counties):
        wrong(f"the comparison showed {shown} counties, expected {len(counties)}")
    p95 = backends.percentile(times, 0.95)
    figure("comparison endpoint", f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
           f"over {len(times)} requests ({shown} counties, {statements} SQL statements per request)")
    goal(f"comparison endpoint p95 < {GOAL_COMPARISON_P95_MS:.0f} ms ({shown} counties)",
         p95 < GOAL_COMPARISON_P95_MS, f"p95 {p95:.1f} ms")


# --- request path and backend memory -----------------------------------------------------------
def collect(results, processes) -> list[dict]:
    """One result per worker process; fails if one dies without sending its result."""
    import queue

    outs = []
    while len(outs) < len(processes):
        try:
            outs.append(results.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise SystemExit(f"bench: a request worker died (exit code {dead[0]})") from None
    return outs


def request_pass(label: str, tokens: list[tuple[str, str]], matters: int, workers: int, bound: int) -> dict:
    """W spawned request workers (DATABASE_CONN_MAX_SCHEMAS = ``bound``) over these hosts, then
    the memory of every client backend of this database while the workers hold their connections.
    Returns {"cold_p95", "warm_p95", "rss": [(role, MB)…]}."""
    import psycopg
    from _support import _conninfo
    from django.db import connection

    print(f"e. {label}: {workers} worker processes × {len(tokens)} county hosts "
          f"(DATABASE_CONN_MAX_SCHEMAS={bound}), then memory per PostgreSQL backend …", flush=True)
    from multiprocessing import get_context

    ctx = get_context("spawn")
    results, release = ctx.Queue(), ctx.Event()
    saved = os.environ.get("DATABASE_CONN_MAX_SCHEMAS")
    os.environ["DATABASE_CONN_MAX_SCHEMAS"] = str(bound)  # the spawned workers read it at set-up
    try:
        processes = [ctx.Process(target=backends.request_worker, args=(tokens, matters, results, release))
                     for _ in range(workers)]
        for p in processes:
            p.start()
    finally:
        if saved is None:
            os.environ.pop("DATABASE_CONN_MAX_SCHEMAS", None)
        else:
            os.environ["DATABASE_CONN_MAX_SCHEMAS"] = saved
    try:
        outs = collect(results, processes)
        errors = [o["error"] for o in outs if "error" in o]
        if errors:
            raise SystemExit(f"bench: request worker failed: {errors[0]}")
        for i, o in enumerate(outs):
            fresh = (f"; the bound replaced its backend {o['reconnects']} times, after the response (worker time "
                     f"after the client had its answer: p50 {o['release'][0]:.1f} / p95 {o['release'][1]:.1f} ms); "
                     f"the requests on the fresh backend: p50 {o['fresh'][0]:.1f} / p95 {o['fresh'][1]:.1f} ms"
                     if o["fresh"] else "; no backend replaced")
            figure(f"{label}, worker {i + 1}",
                   f"cold p50 {o['cold'][0]:.1f} / p95 {o['cold'][1]:.1f} ms, warm p50 {o['warm'][0]:.1f} / "
                   f"p95 {o['warm'][1]:.1f} ms, revisit p50 {o['revisit'][0]:.1f} / p95 {o['revisit'][1]:.1f} ms; "
                   f"tenant lookups: cold {o['cold_lookups']}, warm {o['warm_lookups']}, revisit after the "
                   f"{o['pass_seconds']:.0f} s pass {o['revisit_lookups']} (host cache TTL {o['cache_ttl']:.0f} s); "
                   f"most SET search_path in one request: cold {o['max_sets']['cold']}, warm {o['max_sets']['warm']}, "
                   f"revisit {o['max_sets']['revisit']}{fresh}; schemas on its connection at the end {o['visited']}")
            if o["max_sets"]["warm"] > 1:
                wrong(f"worker {i + 1}: a request on a warm host cache sent {o['max_sets']['warm']} SET search_path")
            if o["warm_lookups"]:
                wrong(f"worker {i + 1}: {o['warm_lookups']} tenant lookups on a warm cache")

        # Every client backend of this database, seen while the workers hold their connections.
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own = cursor.fetchone()[0]
            own_cache = backends.cache_context_bytes(cursor)
        with psycopg.connect(_conninfo(os.environ["DATABASE_URL"]), autocommit=True) as fresh_conn:
            fresh_pid = fresh_conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with fresh_conn.cursor() as cursor:
                fresh_cache = backends.cache_context_bytes(cursor)
            fresh_memory = backends.backend_memory(fresh_pid)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() "
                               "AND backend_type = 'client backend' ORDER BY pid")
                seen = cursor.fetchall()
            roles = {own: ("this process (migrations' checks, sweep, refresh)", own_cache),
                     fresh_pid: ("fresh connection (baseline)", fresh_cache)}
            for i, o in enumerate(outs):
                roles[o["backend"]] = (f"request worker {i + 1}", o["cache_bytes"])
            rows = []
            for pid, application in seen:
                memory = fresh_memory if pid == fresh_pid else backends.backend_memory(pid)
                role, cache_bytes = roles.get(pid, (f"other ({application})", None))
                rows.append((pid, role, memory, cache_bytes))
    finally:
        release.set()
        for p in processes:
            p.join(60)

    print(f"  {len(rows)} client backends of this database in pg_stat_activity:")
    for pid, role, memory, cache_bytes in rows:
        cache = f", CacheMemoryContext {cache_bytes / 2**20:.1f} MB" if cache_bytes is not None else ""
        mem = (f"RSS {memory['rss'] / 1024:.1f} MB (the server's shared memory {memory['shmem'] / 1024:.1f} MB, "
               f"its own {memory['own'] / 1024:.1f} MB), PSS {memory['pss'] / 1024:.1f} MB, private "
               f"{memory['private'] / 1024:.1f} MB, anon {memory['anon'] / 1024:.1f} MB" if memory
               else "memory not readable from /proc (server not on this machine, or not root)")
        print(f"    pid {pid}: {role}: {mem}{cache}")
    touched = [(role, m, c) for pid, role, m, c in rows if pid != fresh_pid and m]
    if touched:
        def spread(key: str) -> str:
            values = [m[key] / 1024 for _, m, _ in touched]
            return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f} MB"

        caches = [c / 2**20 for _, _, c in touched if c is not None]
        figure(f"{label}: backend memory (min / median / max of {len(touched)})",
               f"RSS {spread('rss')} (of which the server's shared memory {spread('shmem')}, its own "
               f"{spread('own')}); PSS {spread('pss')}; private {spread('private')}"
               + (f"; CacheMemoryContext {min(caches):.1f} / {statistics.median(caches):.1f} / {max(caches):.1f} MB"
                  if caches else ""))
    if fresh_memory:
        figure("fresh backend (baseline)", f"RSS {fresh_memory['rss'] / 1024:.1f} MB, private "
               f"{fresh_memory['private'] / 1024:.1f} MB"
               + (f", CacheMemoryContext {fresh_cache / 2**20:.1f} MB" if fresh_cache is not None else ""))
    all_ms = [ms for o in outs for ms in o["all_ms"]]
    return {"p95": backends.percentile(all_ms, 0.95), "cold_p95": max(o["cold"][1] for o in outs),
            "warm_p95": max(o["warm"][1] for o in outs),
            "rss": [(role, m["rss"] / 1024) for role, m, _ in touched],
            "own": [(role, m["own"] / 1024) for role, m, _ in touched]}


def request_path_and_memory(tokens: list[tuple[str, str]], matters: int, workers: int, bound: int) -> None:
    """The same request workers twice: without the bound on 1,000 hosts (the service as it was
    measured at 1,000 counties) and with it on every host; the goals compare the two."""
    baseline_hosts = tokens[:GOAL_COUNTIES]
    before = request_pass(f"requests without the bound, {len(baseline_hosts)} hosts", baseline_hosts, matters,
                          workers, 0)
    after = request_pass(f"requests with the bound, {len(tokens)} hosts", tokens, matters, workers, bound)
    worst = max(after["rss"], key=lambda row: row[1]) if after["rss"] else ("none readable", float("nan"))
    goal(f"every backend ≤ {GOAL_BACKEND_RSS_MB:.0f} MB RSS under the load over all {len(tokens)} hosts",
         bool(after["rss"]) and worst[1] <= GOAL_BACKEND_RSS_MB,
         f"largest {worst[1]:.1f} MB ({worst[0]}); without the bound after {len(baseline_hosts)} hosts the largest "
         f"was {max((r for _, r in before['rss']), default=float('nan')):.1f} MB; apart from the server's shared "
         f"memory, the largest backend's own {max((r for _, r in after['own']), default=float('nan')):.1f} MB "
         f"(unbounded {max((r for _, r in before['own']), default=float('nan')):.1f} MB)")
    slower = after["p95"] / before["p95"] - 1
    goal(f"request p95 within {GOAL_REQUEST_P95_SLOWER:.0%} of the unbounded run at {len(baseline_hosts)} hosts",
         slower <= GOAL_REQUEST_P95_SLOWER,
         f"p95 of all cold and warm requests {after['p95']:.1f} ms against {before['p95']:.1f} ms ({slower:+.1%}); "
         f"cold p95 {after['cold_p95']:.1f} vs {before['cold_p95']:.1f} ms, warm p95 {after['warm_p95']:.1f} vs "
         f"{before['warm_p95']:.1f} ms (worst worker)")


# --- main ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counties", nargs="?", type=int, default=GOAL_COUNTIES)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="processes for the parallel migration, the split refresh and the request workers")
    parser.add_argument("--matters", type=int, default=5, help="overdue matters per county (default 5)")
    parser.add_argument("--requests", type=int, default=200, help="comparison endpoint requests (default 200)")
    parser.add_argument("--pool", type=int, default=20, help="counties created from the spare pool at scale (20)")
    parser.add_argument("--max-schemas", type=int, default=None,
                        help="DATABASE_CONN_MAX_SCHEMAS for the bounded request pass (default: the setting's)")
    args = parser.parse_args()
    sweep_bench._broker_for_settings()
    workdir = Path(tempfile.mkdtemp(prefix="duban-bench-scale-"))
    try:
        with bench_database("duban_bench_scale") as database:
            print(f"bench/scale.py · {machine()} · database {database}")
            print(f"building {args.counties} counties ({args.matters} overdue matters each) in {args.workers} "
                  f"processes …", flush=True)
            started = time.perf_counter()
            counties, clones = build(args.counties, args.matters, args.workers)
            built = time.perf_counter() - started
            if len(counties) != args.counties:
                raise SystemExit(f"bench: built {len(counties)} counties, expected {args.counties}")
            figure("build (scaffolding)", f"{args.counties} counties in {built:.1f} s with their rows over "
                   f"{args.workers} processes; create_county median {median(clones) * 1000:.0f} ms, p95 "
                   f"{backends.percentile(clones, 0.95) * 1000:.0f} ms while {args.workers} ran at once")
            extra = provisioning_at_scale(args.counties, args.pool, clones=5, migrations=3)
            tokens = tokens_for(counties)

            noop_migrate(len(counties) + extra, workdir)
            additive_migration(counties, args.workers, workdir)
            sweep(counties, args.matters)
            comparison(counties, args.workers, args.requests)
            from django.conf import settings

            bound = settings.DATABASE_CONN_MAX_SCHEMAS if args.max_schemas is None else args.max_schemas
            request_path_and_memory(tokens, args.matters, args.workers, bound)

            print(f"\n=== bench/scale.py summary: {args.counties} counties ===")
            for label, value in SUMMARY:
                print(f"  {label}: {value}")
            print(f"  machine: {machine()}")
            print(f"\n=== goals ({len(GOALS)}) ===")
            for label, line in GOALS:
                print(f"  {label}: {line}")
            print(f"  result: {'ok' if not FAILURES else f'{len(FAILURES)} WRONG: ' + '; '.join(FAILURES)}")
            print("  tear-down: the database is dropped now")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
