"""Scale benchmark: N counties (goal 1,000) — migrations, sweep, city comparison, request path
and PostgreSQL backend memory.

    python bench/scale.py [N] [--workers W] [--matters M] [--requests R]

In a throw-away database (bench/_support.bench_database) it provisions N counties by clone
(``tenants.provisioning.create_county``, through bench/sweep.py's ``build``: one unit, a leader
and M overdue matters each — benchmark scaffolding, not product writes), timing every clone.
Then, in the same run on the same database:

a. a no-op ``duban migrate_schemas`` (a subprocess, as an operator runs it): seconds, schemas
   skipped vs migrated; goal < 60 s at 1,000 counties;
b. one additive migration over every county in parallel: the benchmark writes a real migration
   (``AddField`` of a nullable boolean with a default on ``matters.Matter``) into a throw-away copy
   of that app's migrations in a temp dir, which bench/_scale_settings.py puts in
   ``MIGRATION_MODULES`` for a subprocess ``duban migrate_schemas --executor multiprocessing``
   (W processes, ``TENANT_MULTIPROCESSING_MAX_PROCESSES``). Nothing is written to the
   repository. It checks (information_schema, django_migrations) that the column exists in every
   county schema and the template;
c. the supervision sweep over every county (bench/sweep.py's ``run_sweep``): it must open N × M
   steps;
d. the city comparison: full snapshot refresh (``duban.comparison.refresh.refresh_all``, one
   process, and split over W processes as the nightly fan-out does) and the comparison
   endpoint's p50/p95 (bench/city.py's ``measure``);
e. the request path: W spawned processes, each standing for a web worker with a persistent
   connection, request ``/api/v1/matters/`` on every county's host (token auth, whole middleware
   stack) twice in a row and once more after the pass: latencies, ``SET search_path`` per request
   (at most 1) and tenant-lookup queries on a warm host cache (must be 0);
f. memory per PostgreSQL backend after touching all N schemas: RSS / PSS / private memory from
   ``/proc/<pid>`` of every client backend of this database in ``pg_stat_activity`` (this
   process's, which ran the sweep and the refresh, and the request workers'), with
   ``CacheMemoryContext`` where the backend can report it, against a fresh backend.

Prints each figure as it goes and a summary at the end; the database is dropped afterwards. Like
every benchmark here it asserts nothing about time; it exits non-zero if a count is wrong (steps
opened, schemas migrated, the new column, tenant lookups on a warm cache, SET search_path).
"""

from __future__ import annotations

import argparse
import contextlib
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

import _scale_backends as backends
import city as city_bench  # bench/city.py
import sweep as sweep_bench  # bench/sweep.py
from _support import REPO, bench_database, machine, median

GOAL_COUNTIES = 1000
GOAL_NOOP_MIGRATE_SECONDS = 60.0
MIGRATION_APP = "matters"
MIGRATION_MODEL, MIGRATION_TABLE = "matter", "matters_matter"
NEW_COLUMN = "bench_scale_flag"
SUMMARY: list[tuple[str, str]] = []
FAILURES: list[str] = []


def figure(label: str, value: str) -> None:
    print(f"  {label}: {value}", flush=True)
    SUMMARY.append((label, value))


def wrong(message: str) -> None:
    print(f"  WRONG: {message}", flush=True)
    FAILURES.append(message)


# --- provisioning ----------------------------------------------------------------------------
@contextlib.contextmanager
def timing_clones(into: list[float], total: int):
    """Time every ``provisioning.create_county`` that bench/sweep.py's build makes."""
    from tenants import provisioning

    original = provisioning.create_county
    started = time.perf_counter()

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - t0)
            if len(into) % 100 == 0 or len(into) == total:
                print(f"    provisioned {len(into)}/{total} ({time.perf_counter() - started:.0f} s)", flush=True)

    provisioning.create_county = timed
    try:
        yield
    finally:
        provisioning.create_county = original


def tokens_for(counties: list) -> list[tuple[str, str]]:
    """(slug, API token of the county's leader) for the request workers (scaffolding)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from duban.accounts.actions import do_issue_token
    from duban.accounts.models import User

    out = []
    for county in counties:
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
    found = re.search(r"(\d+) counties: (\d+) migrated, (\d+) already current \(([\d.]+)s\)", text)
    if not found:
        raise SystemExit(f"bench: no summary line in migrate_schemas' output:\n{text[-3000:]}")
    total, migrated, skipped, own = int(found[1]), int(found[2]), int(found[3]), float(found[4])
    if total != counties or migrated != 0:
        wrong(f"no-op migrate_schemas: {total} counties, {migrated} migrated (expected {counties}, 0)")
    # The command's own clock covers public, the template and the counties; the rest is start-up.
    projected = (elapsed - own) + own / counties * GOAL_COUNTIES
    goal = (f"{'met' if elapsed < GOAL_NOOP_MIGRATE_SECONDS else 'NOT met'}" if counties >= GOAL_COUNTIES else
            f"not run at that size; projection ≤ {projected:.0f} s (start-up + the command's time per county "
            f"× {GOAL_COUNTIES})")
    figure("no-op migrate_schemas", f"{elapsed:.1f} s wall ({own:.1f} s by the command's own clock); "
           f"{skipped} schemas skipped, {migrated} migrated; goal {GOAL_COUNTIES} in < "
           f"{GOAL_NOOP_MIGRATE_SECONDS:.0f} s: {goal}")


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


def current_quarter() -> date:
    from duban.core import clock

    today = clock.today()
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def comparison(counties: list, workers: int, requests: int) -> None:
    from multiprocessing import get_context

    from duban.comparison import service
    from duban.comparison.models import CountySnapshot
    from duban.comparison.refresh import refresh_all
    from tenants.models import City

    print(f"d. the city comparison over {len(counties)} counties …", flush=True)
    service.set_reference_pack(City.objects.get(code="bench"), "county_default", actor="bench")
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
    figure("comparison endpoint", f"p50 {statistics.median(times):.1f} ms, p95 {backends.percentile(times, 0.95):.1f} ms "
           f"over {len(times)} requests ({shown} counties, {statements} SQL statements per request)")


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


def request_path_and_memory(counties: list, tokens: list[tuple[str, str]], matters: int, workers: int) -> None:
    import psycopg
    from _support import _conninfo
    from django.db import connection

    print(f"e. the request path: {workers} worker processes × {len(counties)} county hosts, "
          f"then memory per PostgreSQL backend …", flush=True)
    from multiprocessing import get_context

    ctx = get_context("spawn")
    results, release = ctx.Queue(), ctx.Event()
    processes = [ctx.Process(target=backends.request_worker, args=(tokens, matters, results, release))
                 for _ in range(workers)]
    for p in processes:
        p.start()
    try:
        outs = collect(results, processes)
        errors = [o["error"] for o in outs if "error" in o]
        if errors:
            raise SystemExit(f"bench: request worker failed: {errors[0]}")
        for i, o in enumerate(outs):
            figure(f"requests, worker {i + 1}",
                   f"cold p50 {o['cold'][0]:.1f} / p95 {o['cold'][1]:.1f} ms, warm p50 {o['warm'][0]:.1f} / "
                   f"p95 {o['warm'][1]:.1f} ms, revisit p50 {o['revisit'][0]:.1f} / p95 {o['revisit'][1]:.1f} ms; "
                   f"tenant lookups: cold {o['cold_lookups']}, warm {o['warm_lookups']}, revisit after the "
                   f"{o['pass_seconds']:.0f} s pass {o['revisit_lookups']} (host cache TTL {o['cache_ttl']:.0f} s); "
                   f"most SET search_path in one request: cold {o['max_sets']['cold']}, warm {o['max_sets']['warm']}, "
                   f"revisit {o['max_sets']['revisit']}")
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
        with psycopg.connect(_conninfo(os.environ["DATABASE_URL"]), autocommit=True) as fresh:
            fresh_pid = fresh.execute("SELECT pg_backend_pid()").fetchone()[0]
            with fresh.cursor() as cursor:
                fresh_cache = backends.cache_context_bytes(cursor)
            fresh_memory = backends.backend_memory(fresh_pid)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() "
                               "AND backend_type = 'client backend' ORDER BY pid")
                seen = cursor.fetchall()
            roles = {own: ("this process (build, migrations' checks, sweep, refresh)", own_cache),
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
        mem = (f"RSS {memory['rss'] / 1024:.1f} MB, PSS {memory['pss'] / 1024:.1f} MB, private "
               f"{memory['private'] / 1024:.1f} MB, anon {memory['anon'] / 1024:.1f} MB" if memory
               else "memory not readable from /proc (server not on this machine, or not root)")
        print(f"    pid {pid}: {role}: {mem}{cache}")
    touched = [(m, c) for pid, role, m, c in rows if pid != fresh_pid and m]
    if touched:
        def spread(key: str) -> str:
            values = [m[key] / 1024 for m, _ in touched]
            return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f} MB"

        caches = [c / 2**20 for _, c in touched if c is not None]
        figure(f"backend memory after {len(counties)} schemas (min / median / max of {len(touched)})",
               f"RSS {spread('rss')}; PSS {spread('pss')}; private {spread('private')}"
               + (f"; CacheMemoryContext {min(caches):.1f} / {statistics.median(caches):.1f} / {max(caches):.1f} MB"
                  if caches else ""))
        if caches and fresh_cache is not None:
            per_schema = (statistics.median(caches) - fresh_cache / 2**20) / len(counties)
            figure("CacheMemoryContext growth", f"≈ {per_schema * 1024:.0f} kB per schema visited (median backend "
                   f"minus a fresh one, / {len(counties)}); ≈ {per_schema * GOAL_COUNTIES:.0f} MB per backend "
                   f"that visits {GOAL_COUNTIES} schemas, if linear")
    if fresh_memory:
        figure("fresh backend (baseline)", f"RSS {fresh_memory['rss'] / 1024:.1f} MB, private "
               f"{fresh_memory['private'] / 1024:.1f} MB"
               + (f", CacheMemoryContext {fresh_cache / 2**20:.1f} MB" if fresh_cache is not None else ""))


# --- main ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counties", nargs="?", type=int, default=GOAL_COUNTIES)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="processes for the parallel migration, the split refresh and the request workers")
    parser.add_argument("--matters", type=int, default=5, help="overdue matters per county (default 5)")
    parser.add_argument("--requests", type=int, default=200, help="comparison endpoint requests (default 200)")
    args = parser.parse_args()
    sweep_bench._broker_for_settings()
    workdir = Path(tempfile.mkdtemp(prefix="duban-bench-scale-"))
    try:
        with bench_database("duban_bench_scale") as database:
            print(f"bench/scale.py · {machine()} · database {database}")
            print(f"provisioning {args.counties} counties by clone, {args.matters} overdue matters each …", flush=True)
            clones: list[float] = []
            started = time.perf_counter()
            with timing_clones(clones, args.counties):
                counties = sweep_bench.build(args.counties, args.matters)
            built = time.perf_counter() - started
            figure("provisioning by clone", f"{args.counties} counties in {built:.1f} s with their rows; "
                   f"clone median {median(clones) * 1000:.0f} ms, p95 {backends.percentile(clones, 0.95) * 1000:.0f} ms, "
                   f"max {max(clones) * 1000:.0f} ms, {sum(clones):.1f} s of clones in all")
            tokens = tokens_for(counties)

            noop_migrate(len(counties), workdir)
            additive_migration(counties, args.workers, workdir)
            sweep(counties, args.matters)
            comparison(counties, args.workers, args.requests)
            request_path_and_memory(counties, tokens, args.matters, args.workers)

            print(f"\n=== bench/scale.py summary: {args.counties} counties ===")
            for label, value in SUMMARY:
                print(f"  {label}: {value}")
            print(f"  machine: {machine()}")
            print(f"  result: {'ok' if not FAILURES else f'{len(FAILURES)} WRONG: ' + '; '.join(FAILURES)}")
            print("  tear-down: the database is dropped now")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
