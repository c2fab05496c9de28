"""Sweep benchmark: the supervision sweep over many counties, against a raw-SQL lower bound.

    python bench/sweep.py [COUNTIES] [MATTERS] [--profile[=N]] [--profile-out FILE]

Builds COUNTIES counties (by clone, through ``tenants.provisioning.create_county``), each with
MATTERS open, overdue matters (state in_progress, deadline in the past, one lead unit). The
matter and unit rows are bulk-inserted with the ORM inside each county's schema: benchmark
scaffolding, not product writes. Then, in the same run on the same database:

* the sweep: for each county, ``tenant_context`` + ``steps.sweep(actor="bench")`` — it must open
  exactly COUNTIES × MATTERS steps (one "phone" step per matter);
* the lower bound: per county one indexed query selecting the overdue, under-way matters
  (``SELECT id FROM "<schema>".matters_matter WHERE state IN … AND (deadline < … OR
  feedback_due_on < …)``) — the least work any sweep must do. Median of several rounds;
* the set-based write: per county, in a transaction that is rolled back, the steps and their
  two audit rows each written by one INSERT … SELECT, and the deferred foreign-key checks their
  commit would run — what merely writing the rows costs (issue 21: the sweep is to stay within
  2× of it). Measured county by county just before that county's sweep (median of 3 each),
  so that other work on shared CPUs weighs on both alike. Also printed without those checks
  (as first measured);
* a second sweep, which must open 0 steps.

Prints times, the ratios sweep / lower bound and sweep / set-based write, and the goals
(1,000 counties × 200 matters in under 2 minutes, ≤ 3× the bound, ≤ 2× the set-based write)
as met / NOT met. Like every benchmark here it asserts
nothing about time; it does fail if the step counts are wrong. ``--profile`` runs the first
sweep under cProfile and prints the top N functions (default 30) by own and cumulative time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta

from _support import bench_database, machine, median

GOAL_SECONDS = 120.0
GOAL_COUNTIES, GOAL_MATTERS = 1000, 200
GOAL_RATIO = 3.0
GOAL_SET_RATIO = 2.0  # sweep / set-based write of the same rows (issue 21, point 3)
BOUND_ROUNDS = 5


def build(counties: int, matters: int, *, only: list[int] | None = None, city: bool = True) -> list:
    """COUNTIES counties with MATTERS overdue matters each; returns the County rows. ``only``: build
    just these indices (bench/scale.py's build processes), ``city=False``: the city exists."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from duban.accounts.models import Role, User
    from duban.core import clock, connections
    from duban.matters.models import Matter, MatterUnit
    from duban.matters.states import State
    from duban.units.models import Unit
    from tenants import provisioning

    if city:
        provisioning.create_city("bench", "基准市", actor="bench")
    today = clock.today()
    assigned_on, deadline = today - timedelta(days=60), today - timedelta(days=20)
    now = clock.now()
    built = []
    for i in (range(counties) if only is None else only):
        county = provisioning.create_county(f"sw{i:04d}", f"基准{i}县", "bench", actor="bench",
                                            admin_username=None).county
        with schema_context(county.schema_name), transaction.atomic():
            unit = Unit.objects.create(code="D01", name="一号局", kind=Unit.Kind.DEPARTMENT)
            leader = User.objects.create(username="leader", role=Role.COUNTY_LEADER, password=make_password(None))
            rows = Matter.objects.bulk_create([
                Matter(number=f"DB-{i:04d}-{n:05d}", title=f"基准事项{n}", content="基准", category="work_report",
                       state=State.IN_PROGRESS, proposed_by=leader, registered_by=leader, registered_at=now,
                       approved_by=leader, approved_at=now, assigned_by=leader, assigned_at=now,
                       assigned_on=assigned_on, deadline=deadline, deadline_working_days=10,
                       requirements="按期办结")
                for n in range(matters)], batch_size=1000)
            MatterUnit.objects.bulk_create([MatterUnit(matter=m, unit=unit, role=MatterUnit.Role.LEAD, received_at=now)
                                            for m in rows], batch_size=1000)
        built.append(county)
        connections.release_if_spread()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:  # the statistics autovacuum would have gathered by now
        for county in built:
            for table in ("matters_matter", "matters_matterunit", "supervision_escalationstep"):
                cursor.execute(f'ANALYZE "{county.schema_name}".{table}')
    return built


def run_sweep(counties: list, profile: int | None = None, before=None) -> tuple[float, int, list[int]]:
    """One sweep over every county. Returns (seconds, steps opened, [statements, of which SET]).

    ``before(county)``, if given, runs just before each county's sweep, outside the time and the
    statement count (the paired set-based write, in ``main``)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from duban.core import connections
    from duban.supervision import steps

    queries = [0, 0]  # statements, of which SET search_path (django-tenants, before each statement)

    def count(execute, sql, params, many, context):
        queries[0] += 1
        queries[1] += sql.startswith("SET search_path")
        return execute(sql, params, many, context)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    opened, elapsed = 0, 0.0
    for county in counties:
        if before is not None:
            before(county)
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            with tenant_context(county):
                opened += len(steps.sweep(actor="bench"))
            connections.release_if_spread()  # between counties, as `duban sweep` and the workers do
            if profiler:
                profiler.disable()
            elapsed += time.perf_counter() - started
    connection.set_schema_to_public()
    if profiler:
        _print_profile(profiler, profile)
    return elapsed, opened, queries


def _print_profile(profiler, top: int) -> None:
    import io
    import pstats

    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        text = out.getvalue()
        print(f"\n--- profile of the first sweep, top {top} by {key} ---")
        print(text[text.find("   ncalls"):].rstrip())
    if _profile_out:
        profiler.dump_stats(_profile_out)


_profile_out: str | None = None


def lower_bound(counties: list, on) -> tuple[float, int]:
    """Per county one indexed query for the overdue, under-way matters: (seconds, rows)."""
    from django.db import connection

    from duban.supervision.steps import UNDER_WAY

    states = [str(s) for s in UNDER_WAY]
    rows = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for county in counties:
            cursor.execute(f'SELECT id FROM "{county.schema_name}".matters_matter '
                           f'WHERE state = ANY(%s) AND (deadline < %s OR feedback_due_on < %s)', [states, on, on])
            rows += len(cursor.fetchall())
    return time.perf_counter() - started, rows


def set_based_reference(counties: list, on, *, checked: bool = True) -> float:
    """Per county, steps plus their two audit rows each, written set-based and rolled back.

    ``checked``: before the rollback, ``SET CONSTRAINTS ALL IMMEDIATE`` runs the deferred
    foreign-key checks (Django declares its foreign keys DEFERRABLE INITIALLY DEFERRED) that the
    commit of these rows would run — one look-up per row and key, which a rolled-back write never
    pays. Without it the figure leaves out work no committed write can skip."""
    from django.db import connection, transaction

    from duban.supervision.steps import UNDER_WAY

    states = [str(s) for s in UNDER_WAY]
    started = time.perf_counter()
    for county in counties:
        s = county.schema_name
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"""
                    WITH due AS (
                        SELECT m.id AS matter_id, mu.unit_id, m.number, m.deadline
                        FROM "{s}".matters_matter m JOIN "{s}".matters_matterunit mu
                             ON mu.matter_id = m.id AND mu.role = 'lead'
                        WHERE m.state = ANY(%(states)s) AND m.deadline < %(on)s
                          AND NOT EXISTS (SELECT 1 FROM "{s}".supervision_escalationstep e
                                          WHERE e.matter_id = m.id AND e.unit_id = mu.unit_id AND e.status = 'due')
                    ), opened AS (
                        INSERT INTO "{s}".supervision_escalationstep
                            (matter_id, unit_id, tier, tier_index, status, source, pack_name, pack_version, due_on,
                             deadline, opened_at, evidence, reply_text, skip_reason)
                        SELECT matter_id, unit_id, 'phone', 0, 'due', 'sweep', 'bench', '1', deadline, deadline, now(),
                               '{{}}', '', ''
                        FROM due
                        ON CONFLICT (matter_id, unit_id, tier, deadline)
                            WHERE source = 'sweep' AND (status = 'due' OR status = 'recorded' OR status = 'skipped')
                            DO NOTHING
                        RETURNING id, matter_id
                    )
                    INSERT INTO "{s}".audit_auditevent (at, actor_label, action, object_type, object_id, after, note)
                    SELECT now(), 'bench', a.action, a.object_type, a.object_id, '{{}}'::jsonb, ''
                    FROM opened o, LATERAL (VALUES ('step.open', 'supervision.escalationstep', o.id::text),
                                                   ('matter.step_opened', 'matters.matter', o.matter_id::text))
                         AS a(action, object_type, object_id)
                """, {"states": states, "on": on})
                if checked:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                raise _Rollback
        except _Rollback:
            pass
    return time.perf_counter() - started


class _Rollback(Exception):
    pass


def steps_in_database(counties: list) -> int:
    from django.db import connection

    total = 0
    with connection.cursor() as cursor:
        for county in counties:
            cursor.execute(f'SELECT count(*) FROM "{county.schema_name}".supervision_escalationstep '
                           f"WHERE tier = 'phone' AND status = 'due' AND source = 'sweep'")
            total += cursor.fetchone()[0]
    return total


def _broker_for_settings() -> None:
    """The sweep sends no Celery message, but the settings require a broker they accept;
    ``memory://`` (bench/_support's default) is not one of them: use a throw-away file broker."""
    if os.environ.get("CELERY_BROKER_URL", "memory://").startswith("memory://"):
        os.environ["CELERY_BROKER_URL"] = "filesystem://"
        os.environ["DUBAN_BROKER_DIR"] = tempfile.mkdtemp(prefix="duban-bench-broker-")


def main() -> int:
    global _profile_out
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counties", nargs="?", type=int, default=20)
    parser.add_argument("matters", nargs="?", type=int, default=50)
    parser.add_argument("--profile", nargs="?", type=int, const=30, default=None,
                        help="run the first sweep under cProfile and print the top N functions")
    parser.add_argument("--profile-out", default=None, help="also write the cProfile stats to this file")
    args = parser.parse_args()
    _profile_out = args.profile_out
    expected = args.counties * args.matters
    _broker_for_settings()

    with bench_database("duban_bench_sweep") as database:
        from duban.core import clock

        started = time.perf_counter()
        counties = build(args.counties, args.matters)
        build_seconds = time.perf_counter() - started
        on = clock.today()
        print(f"sweep benchmark on {machine()} (database {database})")
        print(f"  built {args.counties} counties × {args.matters} overdue matters in {build_seconds:.1f} s "
              f"({build_seconds / args.counties * 1000:.0f} ms per county, clone + bulk rows)", flush=True)

        bounds = [lower_bound(counties, on) for _ in range(BOUND_ROUNDS)]
        assert all(rows == expected for _, rows in bounds), bounds
        # The set-based write is measured county by county just before that county's sweep, so a
        # burst of other work on the shared CPUs weighs on both alike (median of 3 per county).
        paired = {"checked": 0.0, "unchecked": 0.0}

        def reference_before(county):
            paired["checked"] += median([set_based_reference([county], on) for _ in range(3)])
            paired["unchecked"] += median([set_based_reference([county], on, checked=False) for _ in range(3)])

        first, opened, queries = run_sweep(counties, profile=args.profile, before=reference_before)
        reference, unchecked = paired["checked"], paired["unchecked"]

        in_db = steps_in_database(counties)
        second, reopened, queries2 = run_sweep(counties)
        bound = median([seconds for seconds, _ in bounds])
        ratio = first / bound

        print(f"  counties: {args.counties}   matters: {expected} ({args.matters} per county)")
        print(f"  steps opened: {opened} (in the database: {in_db}; expected {expected}: "
              f"{'ok' if opened == in_db == expected else 'WRONG'})")
        print(f"  sweep:            {first:9.3f} s   ({first / expected * 1e6:7.0f} µs per matter, "
              f"{first / args.counties * 1000:.1f} ms per county; {queries[0] / args.counties:.0f} statements "
              f"per county, {queries[1] / args.counties:.0f} of them SET search_path)")
        print(f"  lower bound:      {bound:9.3f} s   (one indexed SELECT per county; median of {BOUND_ROUNDS})")
        print(f"  ratio sweep/bound: {ratio:8.1f}x")
        print(f"  set-based write:  {reference:9.3f} s   (steps + audit rows by INSERT … SELECT per county, their "
              f"deferred foreign-key checks run, rolled back; each county just before its sweep, median of 3)")
        print(f"  ratio sweep/set-based write: {first / reference:5.2f}x")
        print(f"  (the same write rolled back before its foreign-key checks: {unchecked:.3f} s; "
              f"sweep / that: {first / unchecked:.2f}x)")
        print(f"  second sweep:     {second:9.3f} s   (opened {reopened}, must be 0: "
              f"{'ok' if reopened == 0 else 'WRONG'}; {second / bound:.1f}x the bound; "
              f"{queries2[0] / args.counties:.0f} statements per county)")
        print(f"  machine: {machine()}")
        at_goal = (args.counties, args.matters) == (GOAL_COUNTIES, GOAL_MATTERS)
        projected = first * (GOAL_COUNTIES * GOAL_MATTERS) / expected
        print(f"  goal: {GOAL_COUNTIES} × {GOAL_MATTERS} in < {GOAL_SECONDS:.0f} s: "
              + (f"{'met' if first < GOAL_SECONDS else 'NOT met'}" if at_goal else
                 f"not run at that size; linear projection {projected:.0f} s "
                 f"({'would meet' if projected < GOAL_SECONDS else 'would NOT meet'})"))
        print(f"  goal: sweep ≤ {GOAL_RATIO:.0f}x the bound: {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
        print(f"  goal: sweep ≤ {GOAL_SET_RATIO:.0f}x the set-based write: "
              f"{'met' if first / reference <= GOAL_SET_RATIO else 'NOT met'} ({first / reference:.2f}x)")
        if not (opened == in_db == expected and reopened == 0):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
