"""Scaffolding for the sweep fault tests: committed counties, workers that can be killed whole,
a row lock that holds a sweep half-way through its INSERT, and raw views of the database."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from conftest import REPO, Worker, database_url_for_subprocess, subprocess_env, wait_until
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from duban.core import clock

# The sweep fault tests send to a queue of their own, so that the session's shared worker
# (tests/conftest.py, on TEST_QUEUE) never takes a message meant for the worker under test.
FAULT_QUEUE = f"duban-sweep-faults-{uuid.uuid4().hex[:8]}"
STEP_INSERT = "INSERT INTO supervision_escalationstep"


def in_thread(fn, timeout: float = 300):
    """Run ``fn`` on its own database connection: committed, outside the test's transaction, and
    in a copy of the caller's context (so a pinned day, ``as_of``, holds there too)."""
    box = {}
    context = contextvars.copy_context()

    def run():
        try:
            box["value"] = context.run(fn)
        except Exception as exc:
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{fn} did not finish in {timeout} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --- counties with overdue matters ------------------------------------------------------------
def county_with_overdue_matters(slug: str, count: int, *, workflow: bool):
    """A committed county with ``count`` matters in progress whose deadline has passed.

    ``workflow=True`` walks each matter through the real actions (propose, register, approve,
    assign, sign for receipt) as of a day in the past; ``workflow=False`` bulk-inserts the rows
    (fast, for hundreds). Returns (county, matter ids in id order)."""

    def setup():
        from duban.accounts.actions import do_create_user
        from duban.accounts.models import Role
        from duban.units.actions import do_create_unit
        from tenants import provisioning

        county = provisioning.create_county(slug, f"{slug}县", "testcity", actor="tests",
                                            admin_username=None).county
        with tenant_context(county):
            d01 = do_create_unit("D01", "一号局", "department", actor="tests")
            t01 = do_create_unit("T01", "一号镇", "township", actor="tests")
            if workflow:
                ids = _via_workflow(d01, t01, count, do_create_user, Role)
            else:
                ids = _bulk(d01, count, do_create_user, Role)
        return county, ids

    return in_thread(setup)


def _via_workflow(d01, t01, count, do_create_user, Role) -> list[int]:
    from matter_helpers import PASSWORD, Cast, to_state

    from duban.core.clock import as_of

    people = {name: do_create_user(name, actor="tests", role=role, password=PASSWORD, unit=unit)
              for name, role, unit in [("m_leader", Role.COUNTY_LEADER, None), ("m_office", Role.OFFICE_LEADER, None),
                                       ("staff", Role.SUPERVISION_STAFF, None), ("clerk", Role.UNIT_STAFF, d01),
                                       ("clerk1", Role.UNIT_STAFF, t01), ("m_other", Role.UNIT_STAFF, t01)]}
    cast = Cast(people["m_leader"], people["m_office"], people["staff"], people["clerk"], people["clerk1"],
                people["m_other"])
    ids = []
    # Assigned ten weeks ago with ten working days: overdue today, whatever today is.
    with as_of(clock.today() - timedelta(days=70)):
        for _ in range(count):
            ids.append(to_state(cast, "in_progress", deadline_working_days=10).pk)
    return sorted(ids)


def _bulk(d01, count, do_create_user, Role) -> list[int]:
    from duban.matters.models import Matter, MatterUnit
    from duban.matters.states import State

    leader = do_create_user("m_leader", actor="tests", role=Role.COUNTY_LEADER, password="x")
    today, now = clock.today(), clock.now()
    with transaction.atomic():
        matters = Matter.objects.bulk_create([
            Matter(number=f"FT-{n:05d}", title=f"故障测试事项{n}", content="故障测试", category="work_report",
                   state=State.IN_PROGRESS, proposed_by=leader, assigned_by=leader, assigned_at=now,
                   assigned_on=today - timedelta(days=60), deadline=today - timedelta(days=20),
                   deadline_working_days=10, requirements="按期办结")
            for n in range(count)])
        MatterUnit.objects.bulk_create([MatterUnit(matter=m, unit=d01, role=MatterUnit.Role.LEAD, received_at=now)
                                        for m in matters])
    return sorted(m.pk for m in matters)


# --- raw views of the database (autocommit, outside every test transaction) -------------------
@contextlib.contextmanager
def raw_connection(autocommit: bool = True):
    conn = psycopg.connect(database_url_for_subprocess(), autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def phone_steps(schema: str) -> dict[int, int]:
    """matter id → number of sweep-opened phone steps, as committed."""
    with raw_connection() as conn:
        rows = conn.execute(f'SELECT matter_id, count(*) FROM "{schema}".supervision_escalationstep '
                            f"WHERE tier = 'phone' AND source = 'sweep' GROUP BY matter_id").fetchall()
    return dict(rows)


def step_open_audits(schema: str) -> dict[int, int]:
    """sweep-opened step id → number of 'step.open' audit events for it."""
    with raw_connection() as conn:
        rows = conn.execute(
            f'SELECT s.id, count(a.id) FROM "{schema}".supervision_escalationstep s '
            f'LEFT JOIN "{schema}".audit_auditevent a ON a.action = %s '
            f"AND a.object_type = 'supervision.escalationstep' AND a.object_id = s.id::text "
            f"WHERE s.source = 'sweep' GROUP BY s.id", ["step.open"]).fetchall()
    return dict(rows)


def backends_in_step_insert(*, waiting_only: bool) -> list[int]:
    """PostgreSQL backends of this database busy in the sweep's INSERT of steps (optionally only
    those waiting for a lock)."""
    with raw_connection() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'active' AND query LIKE %s AND (NOT %s OR wait_event_type = 'Lock')",
            [f"{STEP_INSERT}%", waiting_only]).fetchall()
    return [pid for (pid,) in rows]


class Blocker:
    """An uncommitted sweep-opened phone step for one matter, held in a transaction of its own.

    The sweep opens steps with one INSERT … ON CONFLICT DO NOTHING, row by row in matter order;
    reaching this matter it must wait for our transaction to end (the partial unique index
    ``sweep_opens_each_tier_once``). That holds every sweep at the same point — half-way through
    its INSERT, the rows before this matter written but not committed — for as long as the test
    needs; ``release()`` rolls our row back and lets them go on."""

    def __init__(self, schema: str, matter_id: int):
        self.conn = psycopg.connect(database_url_for_subprocess(), autocommit=False)
        self.conn.execute(
            f'INSERT INTO "{schema}".supervision_escalationstep (matter_id, unit_id, tier, tier_index, status, source, '
            f"pack_name, pack_version, due_on, deadline, opened_at, evidence, reply_text, skip_reason) "
            f"SELECT mu.matter_id, mu.unit_id, 'phone', 0, 'due', 'sweep', 'blocker', '0', %s, m.deadline, now(), "
            f"'{{}}', '', '' "
            f'FROM "{schema}".matters_matterunit mu JOIN "{schema}".matters_matter m ON m.id = mu.matter_id '
            f"WHERE mu.matter_id = %s AND mu.role = %s",
            [clock.today(), matter_id, "lead"])

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


# --- workers --------------------------------------------------------------------------------
class GroupWorker(Worker):
    """conftest's Worker, on FAULT_QUEUE, leading its own process group (``kill -9 -PGID`` kills
    the main process and its pool children at once, as a container runtime or the OOM killer
    of a whole cgroup would)."""

    def __init__(self, log_path: Path, name: str = "fw", concurrency: int = 1, queue: str = FAULT_QUEUE):
        super().__init__(log_path, name=name, concurrency=concurrency)
        self.queue = queue

    def start(self) -> GroupWorker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--queues", self.queue],
            env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        if not wait_until(lambda: "ready." in self.log() or self.process.poll() is not None, timeout=60):
            raise RuntimeError(f"worker not ready in 60 s:\n{self.log()[-3000:]}")
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
        return self

    def pool_children(self) -> list[int]:
        """The prefork pool processes (children of the main worker process)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is None:
            return
        super().stop()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # pool children left behind, if any


def send_sweep(county, queue: str = FAULT_QUEUE) -> str:
    """Send ``sweep_county`` for ``county`` (the schema travels in the message); its task id."""
    from duban.supervision.tasks import sweep_county

    with tenant_context(county):
        return sweep_county.apply_async(queue=queue).id


def task_finished(worker: Worker, task_id: str) -> int | None:
    """The number of steps a finished ``sweep_county`` run reported, from the worker's log."""
    import re

    found = re.findall(rf"sweep_county\[{task_id}\] succeeded in [0-9.e-]+s: (\d+)", worker.log())
    return int(found[-1]) if found else None


# --- the broker ---------------------------------------------------------------------------------
def broker_kind() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL.split("://", 1)[0]


def redis_unacked(task_id: str) -> list[bytes]:
    """Delivery tags of ``task_id``'s message held in kombu's Redis 'unacked' table (delivered to
    a consumer, never acknowledged)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    tags = []
    for tag, raw in client.hgetall("unacked").items():
        payload = json.loads(raw)[0]
        if payload.get("headers", {}).get("id") == task_id:
            tags.append(tag)
    return tags


def redis_age_unacked(tags: list[bytes], seconds: float) -> None:
    """Make unacked deliveries look ``seconds`` old: what waiting out the visibility timeout
    (3600 s in duban.celery) would do, so that the next consumer restores them."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag in tags:
        client.zadd("unacked_index", {tag: time.time() - seconds}, xx=True)


def filesystem_queue_holds(task_id: str) -> bool:
    from django.conf import settings

    folder = Path(settings.CELERY_BROKER_DIR) / "queue"
    return any(task_id in path.read_text(errors="replace") for path in folder.glob("*.msg"))
