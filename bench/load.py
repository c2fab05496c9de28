"""Steady load: staff and unit users of three counties on the real API under gunicorn, for a fixed
time, with a Celery worker (and beat) draining what the writes queue.

    python bench/load.py [--seconds S] [--users U] [--spawn-rate R] [--think T]

Self-contained and stops by itself. In a throw-away database (``_support.bench_database``) it runs
the migrations and seeds the demo (``duban seed_demo``: city shifan, counties dongshan / xihe /
nanling, each with admin / leader / office / staff and a clerk per unit, t01…t05 and d01…d05);
then, in every county, through the product's own functions: an API token for ``staff``,
``leader`` and every clerk (``do_issue_token``), one more matter under way per unit
(proposed → registered → approved → assigned → signed, so every clerk has something to report on)
and an e-mail address for every user (so notifications go out on the e-mail channel too, through
Django's dummy mail backend, instead of being skipped).

Then it starts, as ``make demo`` does (``duban.devenv``):

* gunicorn ``duban.wsgi`` on a free port of 127.0.0.1, 2 workers × 4 threads (gthread), on the
  **production settings profile** (``DUBAN_ENV=production``: DEBUG off, a random SECRET_KEY) with
  plain HTTP (``DUBAN_SSL_REDIRECT=false``), API throttles off (``API_THROTTLE_USER/ANON=off``),
  mail to ``dummy://``;
* a Celery worker (concurrency 2) and ``duban beat`` on ``CELERY_BROKER_URL`` — a Redis database of
  its own, say redis://127.0.0.1:6379/15, or the file broker in a temporary folder when the
  variable is unset or ``filesystem://`` — on a queue named for this run
  (``DUBAN_TASK_QUEUE=bench_load_<hex>``), so nothing left over from another run or another
  process is consumed or counted. Bench-only intervals (``BENCH_INTERVALS``): the comparison
  refresh debounced 10 s, the outbox re-driven every 10 s, the sweep and the weekly-report check
  pushed out of the run (nothing opens a step or drafts a report under the users' feet).

It waits for ``/healthz`` and the worker, lets the worker drain what the seed queued, and runs
locust headless (``bench/locustfile.py``: unit clerks and supervision staff over the three
counties, mixed reads and valid writes — see that file) for S seconds with U users spawned at R per
second, each waiting T × 0.5…1.5 s between tasks. Afterwards it waits (up to 2 min) until the
queue and the notification outbox are empty, and checks in the database that every write the API
acknowledged is there.

Prints run length, users, requests, throughput, p50 / p95 / p99 per operation and overall, the
error count with the first error messages, the writes found in the database, how the queues
drained, errors in the server logs, the machine, and the goal: 0 errors — met / NOT met. Like every
benchmark here it asserts nothing about time; it exits 1 if a request failed or an acknowledged
write is missing (or the harness itself failed). Everything is torn down: locust, gunicorn, the
worker and beat, the run's Redis keys or broker folder, the database.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _support import REPO, bench_database, machine

GOAL_ERRORS = 0
ACTOR = "bench_load"
# Bench-only intervals (the product's defaults in brackets): comparison refresh debounce [60 s]; outbox
# re-drive every 10 s [60] of deliveries 10 s overdue [30]; the hourly sweep and the weekly-report
# check pushed out of the run [3600 s, 900 s], so that no step opens and no report is drafted under
# the users' feet (the run's writes are chosen against what they read).
BENCH_INTERVALS = {"DUBAN_COMPARISON_DEBOUNCE_SECONDS": "10", "DUBAN_OUTBOX_REDRIVE_SECONDS": "10",
                   "DUBAN_OUTBOX_GRACE_SECONDS": "10", "DUBAN_SWEEP_SECONDS": "86400",
                   "DUBAN_REPORT_CHECK_SECONDS": "86400"}
DRAIN_TIMEOUT = 120.0
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# Successful API writes and the database rows they must have left (see ``persisted``).
WRITES = {
    "matters": ("POST matters/ (propose)",),
    "assigned": ("POST matters/{id}/assign/",),
    "signed": ("POST matters/{id}/sign/",),
    "feedback": ("POST matters/{id}/feedback/",),
    "manual steps": ("POST steps/ (manual step)",),
    "recorded steps": ("POST steps/ (manual step)", "POST steps/{id}/record/"),
}


# --- set-up in this process (Django on the throw-away database) -------------------------------------
def seed() -> None:
    from django.core.management import call_command

    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        call_command("seed_demo", stdout=out, stderr=out)


def prepare() -> list[dict]:
    """Tokens, one matter under way per unit, e-mail addresses; returns the locust users' counties."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from duban.accounts.actions import do_issue_token
    from duban.accounts.models import Role, User
    from duban.demo.management.commands.seed_demo import COUNTIES
    from duban.matters import actions
    from duban.units.models import Unit
    from tenants.models import County

    counties = []
    for slug, _name, _townships in COUNTIES:
        county = County.objects.get(slug=slug)
        with tenant_context(county):
            staff, leader = User.objects.get(username="staff"), User.objects.get(username="leader")
            units = []
            for unit in Unit.objects.filter(is_active=True).order_by("code"):
                clerk = User.objects.filter(role=Role.UNIT_STAFF, unit=unit, is_active=True).order_by("id").first()
                if clerk is None:
                    continue
                units.append({"code": unit.code, "username": clerk.username,
                              "token": do_issue_token(clerk, actor=ACTOR)})
                matter = actions.do_propose_matter(
                    actor=leader, title=f"{unit.name}年度重点任务（基准）", content="按期推进，定期反馈进展。",
                    category="work_report", proposed_units=[unit.code])
                actions.do_register_matter(matter.pk, actor=staff)
                actions.do_approve_matter(matter.pk, actor=leader, comment="同意。")
                actions.do_assign_matter(matter.pk, actor=staff, lead_unit=unit.code, requirements="按期办结。",
                                         deadline_working_days=30, feedback_every_working_days=5)
                actions.do_sign_for_receipt(matter.pk, actor=clerk)
            for user in User.objects.filter(email=""):
                user.email = f"{user.username}@{slug}.bench.invalid"
                user.save(update_fields=["email"])
            counties.append({"slug": slug, "host": f"{slug}.localhost", "units": units,
                             "staff": do_issue_token(staff, actor=ACTOR),
                             "leader": do_issue_token(leader, actor=ACTOR)})
    connection.set_schema_to_public()
    return counties


def db_counts(slugs: list[str]) -> Counter:
    from django.db import connection
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from duban.matters.models import Feedback, Matter, MatterUnit
    from duban.notifications.models import Delivery, Notification
    from duban.supervision.models import EscalationStep
    from tenants.models import County

    totals: Counter = Counter()
    for county in County.objects.filter(slug__in=slugs):
        with tenant_context(county):
            totals["matters"] += Matter.objects.count()
            totals["assigned"] += Matter.objects.filter(assigned_at__isnull=False).count()
            totals["signed"] += MatterUnit.objects.filter(received_at__isnull=False).count()
            totals["feedback"] += Feedback.objects.count()
            totals["manual steps"] += EscalationStep.objects.filter(source=EscalationStep.Source.MANUAL).count()
            totals["recorded steps"] += EscalationStep.objects.filter(status=EscalationStep.Status.RECORDED).count()
            totals["notifications"] += Notification.objects.count()
            for status, n in Delivery.objects.values_list("status").annotate(n=Count("id")).order_by():
                totals[f"delivery {status}"] += n
    connection.set_schema_to_public()
    return totals


# --- the servers -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Servers:
    """gunicorn, the Celery worker and beat, as ``duban.devenv demo`` starts them; logs in ``folder``."""

    def __init__(self, folder: Path, environ: dict, port: int, queue: str):
        self.folder, self.environ, self.port, self.queue = folder, environ, port, queue
        self.children: dict[str, subprocess.Popen] = {}
        self.hostname = f"{queue.replace('_', '-')}@%h"

    def _start(self, name: str, argv: list[str], **environ: str) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # closed with the child
        self.children[name] = subprocess.Popen(argv, env={**self.environ, **environ}, cwd=REPO, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start(self) -> None:
        py = sys.executable
        self._start("gunicorn", [py, "-m", "gunicorn", "duban.wsgi", "--bind", f"127.0.0.1:{self.port}",
                                 "--workers", "2", "--threads", "4", "--log-level", "warning",
                                 "--graceful-timeout", "10"], LOG_LEVEL="warning")
        self._start("worker", [py, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
                               "--concurrency", "2", "--hostname", self.hostname, "-Q", self.queue,
                               "--without-gossip", "--without-mingle", "--without-heartbeat"], LOG_LEVEL="info")
        # `duban beat`, as the demo runs it: its outbox re-drive sends what a worker passed over.
        self._start("beat", [py, "-m", "duban.cli", "beat", "--loglevel", "INFO",
                             "--schedule", str(self.folder / "celerybeat-schedule")], LOG_LEVEL="info")

    def check_alive(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise SystemExit(f"bench: {name} exited with {child.returncode}:\n{self.tail(name)}")

    def wait_ready(self, timeout: float = 90.0) -> None:
        from duban.devenv import wait_for_http

        if not wait_for_http(f"http://127.0.0.1:{self.port}/healthz", "localhost", timeout=timeout):
            self.check_alive()
            raise SystemExit(f"bench: gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.tail('gunicorn')}")
        deadline = time.monotonic() + timeout
        while " ready." not in self.log("worker"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: the Celery worker was not ready within {timeout:.0f} s:\n{self.tail('worker')}")
            time.sleep(0.3)

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 30
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tail(self, name: str, chars: int = 3000) -> str:
        return self.log(name)[-chars:]

    def log_errors(self, name: str) -> list[str]:
        """ERROR / CRITICAL lines and tracebacks in a server's log."""
        return [line for line in self.log(name).splitlines()
                if " ERROR" in line or " CRITICAL" in line or "[ERROR]" in line or line.startswith("Traceback")]


# --- the broker: depth of this run's queue -----------------------------------------------------------
class Broker:
    def __init__(self, url: str, queue: str, folder: Path | None):
        self.url, self.queue, self.folder = url, queue, folder
        self.redis = None
        if url.startswith(("redis://", "rediss://")):
            import redis

            self.redis = redis.Redis.from_url(url)

    def depth(self) -> int | None:
        """Messages of this run's queue not yet done: waiting, or taken and not acknowledged (Redis,
        which counts countdown tasks held by the worker); waiting only for the file broker; None if
        unknown."""
        if self.redis is not None:
            waiting = sum(self.redis.llen(key) for key in self.redis.scan_iter(match=f"{self.queue}*")
                          if self.redis.type(key) == b"list")
            held = 0
            for raw in self.redis.hvals("unacked"):
                with contextlib.suppress(ValueError, TypeError, IndexError):
                    held += json.loads(raw)[2] == self.queue
            return waiting + held
        if self.folder is not None:
            return sum(1 for p in (self.folder / "queue").glob(f"*.{self.queue}.msg"))
        return None

    def cleanup(self, worker_hostname: str) -> None:
        if self.redis is None:
            return
        with contextlib.suppress(Exception):
            keys = [k for k in self.redis.scan_iter(match=f"{self.queue}*")]
            keys += [f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}"]
            self.redis.delete(*keys)
            stem = worker_hostname.split("@")[0]
            for key in self.redis.scan_iter(match="_kombu.binding.*"):
                if self.redis.type(key) == b"set":
                    stale = [m for m in self.redis.smembers(key) if stem.encode() in m]
                    if stale:
                        self.redis.srem(key, *stale)


def pending_deliveries(slugs: list[str], limit: int = 5) -> list[str]:
    """What is left in the outboxes (for the report when they did not drain)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from duban.notifications.models import Delivery
    from tenants.models import County

    rows = []
    for county in County.objects.filter(slug__in=slugs):
        with tenant_context(county):
            for d in Delivery.objects.filter(status=Delivery.Status.PENDING).select_related("notification")[:limit]:
                rows.append(f"{county.slug} delivery {d.pk} {d.channel} {d.notification.event}: attempts {d.attempts}, "
                            f"next {d.next_attempt_at:%H:%M:%S}, created {d.created_at:%H:%M:%S} {d.last_error[:200]}")
    connection.set_schema_to_public()
    return rows[:limit]


def wait_drained(broker: Broker, slugs: list[str], timeout: float) -> tuple[float, int | None, int]:
    """Seconds until this run's queue and every county's outbox are empty (or the timeout), and
    what was left: (seconds, queue depth, pending deliveries)."""
    started = time.monotonic()
    while True:
        depth = broker.depth()
        pending = db_counts(slugs)["delivery pending"]
        if (not depth and not pending) or time.monotonic() - started > timeout:
            return time.monotonic() - started, depth, pending
        time.sleep(0.5)


# --- locust ------------------------------------------------------------------------------------------
def run_locust(args, folder: Path, port: int, counties: list[dict], today) -> dict:
    result = folder / "locust-result.json"
    config = folder / "locust-config.json"
    config.write_text(json.dumps({"counties": counties, "year": today.year, "today": today.isoformat(),
                                  "think": args.think, "result": str(result)}))
    environ = dict(os.environ, DUBAN_LOAD_CONFIG=str(config))
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(args.users),
            "--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.seconds}s",
            "--host", f"http://127.0.0.1:{port}", "--stop-timeout", "20", "--only-summary",
            "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    with open(folder / "locust.log", "wb") as log:
        child = subprocess.Popen(argv, env=environ, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            code = child.wait(timeout=args.seconds + 120)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise SystemExit("bench: locust did not stop within its run time + 120 s") from None
        except BaseException:
            child.terminate()
            child.wait(20)
            raise
    text = (folder / "locust.log").read_text(errors="replace")
    if code != 0 or not result.exists():
        raise SystemExit(f"bench: locust exited with {code}:\n{text[-3000:]}")
    data = json.loads(result.read_text())
    data["cpu_warning"] = next((line.strip() for line in text.splitlines() if "CPU usage" in line), "")
    return data


# --- report ------------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest rank on sorted values."""
    return values[max(0, math.ceil(p * len(values)) - 1)]


def table(latencies: dict[str, list[float]], failures: dict[str, int]) -> list[str]:
    width = max([len(k) for k in latencies] + [20]) + 2
    lines = [f"  {'operation':<{width}}{'requests':>9}{'errors':>8}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  ms"]

    def row(name: str, values: list[float], errors: int) -> str:
        values = sorted(values)
        return (f"  {name:<{width}}{len(values):>9}{errors:>8}{percentile(values, .50):>9.1f}"
                f"{percentile(values, .95):>9.1f}{percentile(values, .99):>9.1f}{values[-1]:>9.1f}")

    for name in sorted(latencies, key=lambda k: (k.split()[0] != "GET", k.split(" ", 1)[1])):
        lines.append(row(name, latencies[name], failures.get(name, 0)))
    everything = [v for values in latencies.values() for v in values]
    if everything:
        lines.append(row("all", everything, sum(failures.values())))
    return lines


def persisted(before: Counter, after: Counter, latencies: dict, failures: dict) -> tuple[list[str], bool]:
    def ok(name):
        return len(latencies.get(name, [])) - failures.get(name, 0)

    parts, good = [], True
    for what, names in WRITES.items():
        acknowledged = sum(ok(n) for n in names)
        found = after[what] - before[what]
        good &= found == acknowledged
        parts.append(f"{what} {found}/{acknowledged}" + ("" if found == acknowledged else " MISMATCH"))
    return parts, good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="run time of the load (default 60)")
    parser.add_argument("--users", type=int, default=30, help="concurrent users (default 30)")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second (default 10)")
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean wait between a user's tasks, seconds (0.5…1.5 × this; default 0.5; 0 = none)")
    args = parser.parse_args()
    try:
        locust_version = importlib.metadata.version("locust")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit("bench: locust is not installed (pip install locust)") from None

    folder = Path(tempfile.mkdtemp(prefix="duban-load-"))
    queue = f"bench_load_{secrets.token_hex(4)}"
    broker_url = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
    broker_dir = folder / "broker" if broker_url.startswith("filesystem://") else None
    os.environ.update({
        "CELERY_BROKER_URL": broker_url, "DUBAN_TASK_QUEUE": queue, "DUBAN_DATA_DIR": str(folder / "data"),
        "SECRET_KEY": secrets.token_urlsafe(64), "API_THROTTLE_USER": "off", "API_THROTTLE_ANON": "off",
        "EMAIL_URL": "dummy://", "LOG_LEVEL": "warning", **BENCH_INTERVALS})
    if broker_dir is not None:
        os.environ["DUBAN_BROKER_DIR"] = str(broker_dir)
    servers = broker = None
    try:
        started = time.perf_counter()
        with bench_database("duban_bench_load") as name:
            from duban.core import clock  # settings are loaded only inside bench_database

            migrated = time.perf_counter() - started
            print(f"bench/load.py · {machine()}")
            shown_broker = broker_url.split("@")[-1] if "@" in broker_url else broker_url
            print(f"database {name} · broker {shown_broker} (queue {queue}) · migrations {migrated:.1f} s", flush=True)
            t0 = time.perf_counter()
            seed()
            t1 = time.perf_counter()
            counties = prepare()
            slugs = [c["slug"] for c in counties]
            today = clock.today()
            print(f"seed_demo {t1 - t0:.1f} s; tokens, {sum(len(c['units']) for c in counties)} matters under way "
                  f"(one per unit) and e-mail addresses {time.perf_counter() - t1:.1f} s", flush=True)

            port = free_port()
            environ = dict(os.environ)
            environ.update({"DJANGO_SETTINGS_MODULE": "duban.settings.production", "DUBAN_ENV": "production",
                            "DEBUG": "false", "DUBAN_SSL_REDIRECT": "false",
                            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "platform")])})
            servers = Servers(folder, environ, port, queue)
            broker = Broker(broker_url, queue, broker_dir)
            servers.start()
            servers.wait_ready()
            waited, depth, pending = wait_drained(broker, slugs, DRAIN_TIMEOUT)
            if pending or depth:
                print(f"bench: the seed's queue did not drain (queue {depth}, outbox pending {pending}):")
                for line in pending_deliveries(slugs):
                    print(f"  left: {line}")
                print(servers.tail("worker"))
            print(f"servers: gunicorn duban.wsgi on 127.0.0.1:{port}, 2 workers × 4 threads (gthread), production "
                  f"profile (DEBUG off, no HTTPS redirect, API throttles off); Celery worker (concurrency 2) and "
                  f"beat — the seed's queue drained in {waited:.1f} s", flush=True)
            unit_users = round(args.users * 7 / 10)
            print(f"load: locust {locust_version} (FastHttpUser), {args.users} users over {len(counties)} counties "
                  f"(~{unit_users} unit clerks, ~{args.users - unit_users} supervision staff; weights 7:3), "
                  f"spawn {args.spawn_rate:g}/s, think {args.think * 0.5:g}–{args.think * 1.5:g} s, "
                  f"{args.seconds} s …", flush=True)

            passed_before = servers.log("worker").count("'busy-or-missing'")
            before = db_counts(slugs)
            result = run_locust(args, folder, port, counties, today)
            servers.check_alive()
            waited, depth, pending = wait_drained(broker, slugs, DRAIN_TIMEOUT)
            after = db_counts(slugs)
            servers.stop()

            latencies, failures = result["latencies"], result["failures"]
            total = sum(len(v) for v in latencies.values())
            errors = sum(failures.values())
            writes = sum(len(v) for k, v in latencies.items() if not k.startswith("GET "))
            length = (result["stopped"] or 0) - (result["started"] or 0)
            print()
            print("\n".join(table(latencies, failures)))
            print()
            print(f"run {length:.1f} s · {args.users} users · {total} requests ({total - writes} reads, {writes} writes) "
                  f"· {total / length if length > 0 else 0:.1f} req/s · {errors} errors")
            if result["skipped"]:
                print("write tasks with nothing to do (no request sent): "
                      + ", ".join(f"{k} ×{v}" for k, v in result["skipped"].items()))
            parts, good = persisted(before, after, latencies, failures)
            print(f"writes in the database / acknowledged by the API: {', '.join(parts)}")
            deliveries = {k.split()[1]: after[k] - before[k] for k in after if k.startswith("delivery ")}
            drained = "drained" if not depth and not pending else "NOT drained"
            print(f"queues: {drained} {waited:.1f} s after the load stopped (queue {depth if depth is not None else '?'}, "
                  f"outbox pending {pending}); during the run {after['notifications'] - before['notifications']} "
                  f"notifications, deliveries {', '.join(f'{k} {v}' for k, v in sorted(deliveries.items())) or 'none'}")
            passed = servers.log("worker").count("'busy-or-missing'") - passed_before
            if passed:
                print(f"outbox: {passed} deliver tasks answered 'busy-or-missing' (the row locked by another "
                      f"transaction: left to the re-drive)")
            if pending:
                for line in pending_deliveries(slugs):
                    print(f"  left: {line}")
            logged = {name: servers.log_errors(name) for name in ("gunicorn", "worker", "beat")}
            print("server logs: " + ", ".join(f"{name} {len(lines)} error lines" for name, lines in logged.items()))
            for name, lines in logged.items():
                for line in lines[:3]:
                    print(f"  {name}: {line[:300]}")
            if result.get("cpu_warning"):
                print(f"note (locust): {result['cpu_warning']}")
            if errors:
                print("first errors:")
                for message in result["messages"][:5]:
                    print(f"  {message[:400]}")
            print(f"goal: {GOAL_ERRORS} errors — {'met' if errors <= GOAL_ERRORS else 'NOT met'}")
            return 0 if errors <= GOAL_ERRORS and good else 1
    finally:
        if servers is not None:
            servers.stop()
        if broker is not None and servers is not None:
            broker.cleanup(servers.hostname)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
