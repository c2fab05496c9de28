"""City comparison benchmark: N counties with data, a full snapshot refresh, then the comparison
endpoint's latency on the public host.

    python bench/city.py [N] [--matters M] [--requests R] [--workers W]

In a throw-away database it creates one city with N counties (``tenants.provisioning.create_county``,
cloned from the template), each with 10 units and M matters (default 40) spread over the year —
closed on time, closed late, open and overdue, with feedback, result reports and reviews (some
sent back for redo), recorded ladder steps and their ledger entries. The rows are bulk-inserted
with the ORM inside each county's schema: benchmark scaffolding, not product writes. The city's
reference pack is set (county_default). Then:

* the full refresh of every county's snapshots (``duban.comparison.refresh.refresh_all``, one
  process; with ``--workers W`` also split over W processes, as the nightly fan-out spreads it
  over Celery workers), printing the time;
* R requests (after a warm-up) of ``GET /api/v1/comparison/?city=…&period=quarter&start=…`` on the
  public host through Django's test client in this process (the whole middleware stack: host →
  public schema, token authentication, DRF, JSON rendering), printing p50/p95 and the number of
  SQL queries per request.

Goal: 1,000 counties, p95 < 200 ms — printed as met / NOT met (or "not measured" for N < 1000).
Like every benchmark here it asserts nothing about time; it fails if a response is wrong.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta

os.environ.setdefault("API_THROTTLE_USER", "off")
os.environ.setdefault("API_THROTTLE_ANON", "off")

from _support import bench_database, machine

GOAL_COUNTIES, GOAL_P95_MS = 1000, 200.0
QUARTER = date(2026, 10, 1)


def populate(county, index: int, matters: int) -> None:
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from duban.accounts.models import Role, User
    from duban.matters.models import Feedback, Matter, MatterUnit, ResultReport, Review
    from duban.matters.states import State
    from duban.supervision.models import EscalationStep, LedgerEntry
    from duban.units.models import Unit

    tz = timezone.get_current_timezone()

    def at(day: date):
        return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 10), tz)

    with schema_context(county.schema_name), transaction.atomic():
        units = Unit.objects.bulk_create([Unit(code=f"U{u:02d}", name=f"单位{u}", kind="department") for u in range(10)])
        leader = User.objects.create(username="leader", role=Role.COUNTY_LEADER, password=make_password(None))
        rows = []
        for n in range(matters):
            assigned = date(2026, 1, 5) + timedelta(days=(n * 7 + index) % 300)
            deadline = assigned + timedelta(days=20)
            kind = (n + index) % 4  # 0 on time, 1 late, 2 open (overdue if past), 3 open, sent back once
            closed = {0: deadline - timedelta(days=2), 1: deadline + timedelta(days=5 + index % 7)}.get(kind)
            if closed and closed > date(2026, 11, 25):
                closed = None
            state = State.CLOSED if closed else (State.REDO if kind == 3 else State.IN_PROGRESS)
            rows.append(Matter(number=f"B{index:04d}-{n:04d}", title=f"事项{n}", content="基准",
                               category=("work_report", "leader_instruction", "deputy_proposal")[n % 3],
                               state=state, proposed_by=leader, assigned_by=leader, assigned_at=at(assigned),
                               assigned_on=assigned, deadline=deadline, deadline_working_days=14,
                               feedback_every_working_days=5, closed_at=at(closed) if closed else None,
                               redo_count=1 if kind == 3 else 0))
        rows = Matter.objects.bulk_create(rows)
        MatterUnit.objects.bulk_create([MatterUnit(matter=m, unit=units[i % 10], role="lead") for i, m in enumerate(rows)])
        Feedback.objects.bulk_create([Feedback(matter=m, unit=units[i % 10], kind="written", text="进展", given_by=leader)
                                      for i, m in enumerate(rows) if i % 2 == 0])
        reports = ResultReport.objects.bulk_create([
            ResultReport(matter=m, unit=units[i % 10], attempt=1, text="结果", reported_by=leader)
            for i, m in enumerate(rows) if m.state in (State.CLOSED, State.REDO)])
        Review.objects.bulk_create([Review(report=r, decision="redo" if r.matter.state == State.REDO else "accept",
                                           reviewed_by=leader) for r in reports])
        steps, entries = [], []
        for i, m in enumerate(rows):
            if m.deadline < date(2026, 11, 20) and (m.closed_at is None or m.closed_at.date() > m.deadline):
                steps.append(EscalationStep(matter=m, unit=units[i % 10], tier="phone", tier_index=0, status="recorded",
                                            source="manual", pack_name="county_default", pack_version="1.0.0",
                                            due_on=m.deadline, recorded_on=m.deadline + timedelta(days=1)))
        steps = EscalationStep.objects.bulk_create(steps)
        for s in steps:
            entries.append(LedgerEntry(unit=s.unit, year=s.recorded_on.year, occurred_on=s.recorded_on,
                                       amount=Decimal("0.1"), event_code="phone_urging", rule_code="phone_urging",
                                       pack_name="county_default", pack_version="1.0.0", reason="电话督办",
                                       ref=f"step:{s.pk}", matter=s.matter, step=s))
        LedgerEntry.objects.bulk_create(entries)


def build(n: int, matters: int) -> list:
    from django.db import connection

    from tenants import provisioning

    provisioning.create_city("bench", "基准市", actor="bench")
    built = []
    started = time.perf_counter()
    for i in range(n):
        county = provisioning.create_county(f"c{i:04d}", f"基准{i}县", "bench", actor="bench",
                                            admin_username=None).county
        populate(county, i, matters)
        built.append(county)
        if (i + 1) % 100 == 0:
            print(f"  built {i + 1}/{n} counties ({time.perf_counter() - started:.0f} s)", flush=True)
    connection.set_schema_to_public()
    return built


def _refresh_slice(args) -> tuple[int, float]:
    """A worker process: refresh the counties whose slugs are given (fresh Django set-up)."""
    slugs, database_url = args
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from duban.comparison.refresh import refresh_all
    from tenants.models import County

    return refresh_all(list(County.objects.filter(slug__in=slugs)), kind="full")


def measure(requests: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test import Client

    from duban.accounts.actions import do_create_user, do_issue_token

    user = do_create_user("bench_operator", actor="bench", role="platform_operator", password=None)
    token = do_issue_token(user, actor="bench")
    client = Client()
    path = "/api/v1/comparison/"
    params = {"city": "bench", "period": "quarter", "start": QUARTER.isoformat()}
    headers = {"HTTP_HOST": "localhost", "HTTP_AUTHORIZATION": f"Token {token}"}
    for _ in range(10):  # warm-up
        client.get(path, params, **headers)
    statements = []
    with connection.execute_wrapper(lambda execute, sql, *a: statements.append(sql) or execute(sql, *a)):
        response = client.get(path, params, **headers)
    counties = len(response.json()["counties"])
    if response.status_code != 200 or any(r["metrics"] is None for r in response.json()["counties"]):
        raise SystemExit(f"bench: bad comparison response {response.status_code}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, params, **headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, len(statements), counties


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counties", nargs="?", type=int, default=GOAL_COUNTIES)
    parser.add_argument("--matters", type=int, default=40)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=0, help="also refresh split over W processes")
    args = parser.parse_args()
    with bench_database("duban_bench_city") as name:
        from django.db import connection

        from duban.comparison.actions import do_set_reference_pack
        from duban.comparison.models import CountySnapshot
        from duban.comparison.refresh import refresh_all
        from tenants.models import City

        print(f"bench/city.py · {machine()} · database {name}")
        print(f"building {args.counties} counties × {args.matters} matters …", flush=True)
        t0 = time.perf_counter()
        counties = build(args.counties, args.matters)
        print(f"built in {time.perf_counter() - t0:.1f} s")
        do_set_reference_pack(City.objects.get(code="bench"), "county_default", actor="bench")

        rows, seconds = refresh_all(counties, kind="full")
        print(f"full refresh, one process: {rows} snapshots of {len(counties)} counties in {seconds:.1f} s "
              f"({seconds / len(counties) * 1000:.0f} ms per county)")
        if args.workers > 1:
            from multiprocessing import get_context

            slugs = [c.slug for c in counties]
            chunks = [(slugs[i::args.workers], os.environ["DATABASE_URL"]) for i in range(args.workers)]
            connection.close()
            started = time.perf_counter()
            with get_context("spawn").Pool(args.workers) as pool:
                pool.map(_refresh_slice, chunks)
            print(f"full refresh, {args.workers} processes (as the nightly fan-out over workers): "
                  f"{time.perf_counter() - started:.1f} s")
        assert CountySnapshot.objects.filter(period_kind="quarter", period_start=QUARTER).count() == len(counties)

        times, queries, shown = measure(args.requests)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"GET /api/v1/comparison/?city=bench&period=quarter&start={QUARTER} — {shown} counties, "
              f"{queries} SQL queries per request, {len(times)} requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
              f"max {times[-1]:.1f} ms")
        if args.counties >= GOAL_COUNTIES:
            verdict = "met" if p95 < GOAL_P95_MS else "NOT met"
        else:
            verdict = f"not measured (ran {args.counties} counties, the goal is {GOAL_COUNTIES})"
        print(f"goal: {GOAL_COUNTIES} counties, p95 < {GOAL_P95_MS:.0f} ms — {verdict}")


if __name__ == "__main__":
    sys.exit(main())
