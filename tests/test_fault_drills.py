"""Fault drills: real processes on loopback, each fault repeated DUBAN_DRILL_RUNS times (3 by
default; `make drills` runs 20), every drill stopping by itself and printing its counts at the end
of the run (tests/summary.py).

* kill -9 of a whole Celery worker (process group) in the middle of a sweep — held half-way
  through its INSERT by a :class:`sweep_helpers.Blocker` — and in the middle of notification
  delivery — requests held open by a :class:`drill_helpers.GatedReceiver`: after a new worker
  (and the broker's redelivery, the next slot's message or the outbox re-drive), every effect
  exists exactly once.
* A private redis-server (never the machine's shared one) stopped and started again while
  deliveries are in flight, and notified about while it is down: the same worker reconnects and
  the outbox (rows in PostgreSQL + beat's re-drive) delivers everything, each exactly once.
* Two plain ``celery beat`` processes side by side (no advisory lock: both really send) with a
  5-second heartbeat: each slot's fan-out runs once, one heartbeat per county per slot.
  (`duban beat` would keep the second one idle: tests/test_beat_lock.py.)
* The PostgreSQL session of a request terminated (``pg_terminate_backend``) while the request is
  inside its transaction — waiting for a table lock the drill holds, so the moment is certain —
  for the API and the web UI: a clean 503 with Retry-After, nothing written, and the next request
  on the same thread reconnects and succeeds.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, timedelta

import psycopg
import pytest
from browser_helpers import build_county, drop_county, in_county
from conftest import database_url_for_subprocess, wait_until
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection
from django.test import Client
from django.utils import timezone
from drill_helpers import (
    REDIS_SERVER,
    DrillWorker,
    GatedReceiver,
    PlainBeat,
    PrivateRedis,
    add_overdue_matters,
    app_broker,
    delivery_county,
    drill_runs,
    notify_everyone,
    redis_unacked_in_queue,
    redrive_as_beat,
    wait_all_sent,
)
from summary import LINES
from sweep_helpers import (
    Blocker,
    backends_in_step_insert,
    broker_kind,
    county_with_overdue_matters,
    in_thread,
    phone_steps,
    raw_connection,
    redis_age_unacked,
    redis_unacked,
    send_sweep,
    step_open_audits,
    task_finished,
)
from test_outbox_faults import successful_attempts, webhook_deliveries

pytestmark = [pytest.mark.django_db, pytest.mark.drill]

SWEEP_BATCH = 40        # overdue matters added (and swept once) per run
NOTICES_PER_RUN = 2     # notices to each of the county's 3 people: 6 webhook deliveries per run
OUTBOX_ENV = {"DUBAN_NOTIFY_RETRY_SECONDS": "1", "DUBAN_OUTBOX_GRACE_SECONDS": "0"}


def on_redis() -> bool:
    return broker_kind() in ("redis", "rediss")


# --- kill -9 during a sweep -------------------------------------------------------------------------
@pytest.mark.worker
def test_drill_kill_worker_during_sweep(world, tmp_path):
    runs = drill_runs()
    queue = f"duban-drill-sweep-{uuid.uuid4().hex[:8]}"
    county, batch = county_with_overdue_matters("drill-sweep", SWEEP_BATCH, workflow=False)
    schema = county.schema_name
    worker = DrillWorker(tmp_path / "sweep-0.log", "drillsweep0", queue).start()
    swept: list[int] = []
    killed_mid_sweep = redelivered = next_slot = 0
    started = time.monotonic()
    try:
        for run in range(runs):
            if run:
                batch = add_overdue_matters(county, SWEEP_BATCH, f"{run:02d}")
            swept += batch
            blocker = Blocker(schema, batch[len(batch) // 2])
            try:
                task_id = send_sweep(county, queue)
                # The sweep is inside its INSERT: the rows before the blocked matter written, none committed.
                assert wait_until(lambda: len(backends_in_step_insert(waiting_only=True)) == 1, timeout=90), \
                    worker.log()[-3000:]
                worker.kill_group()
                killed_mid_sweep += 1
            finally:
                blocker.release()
            # The killed sweep's backend finds its client gone and rolls back.
            assert wait_until(lambda: not backends_in_step_insert(waiting_only=False), timeout=60)
            assert not set(phone_steps(schema)) & set(batch), "the killed sweep committed nothing"

            if on_redis():  # acks_late: the message waits in 'unacked'; age it past the visibility timeout
                tags = redis_unacked(task_id)
                assert len(tags) == 1, tags
                redis_age_unacked(tags, 3700)
            worker = DrillWorker(tmp_path / f"sweep-{run + 1}.log", f"drillsweep{run + 1}", queue).start()
            if on_redis():  # the broker gives the killed sweep's message to the new worker
                done = task_id
                redelivered += 1
            else:  # the file transport keeps no fetched message: the next slot's sweep does the work
                done = send_sweep(county, queue)
                next_slot += 1
            assert wait_until(lambda worker=worker, done=done: task_finished(worker, done) is not None,
                              timeout=120), worker.log()[-3000:]
            assert task_finished(worker, done) == len(batch)

            steps = phone_steps(schema)
            assert set(steps) == set(swept) and set(steps.values()) == {1}, f"run {run}: {steps}"
        again = send_sweep(county, queue)  # one more slot: nothing left to open
        assert wait_until(lambda: task_finished(worker, again) is not None, timeout=120), worker.log()[-3000:]
        assert task_finished(worker, again) == 0
        steps, audits = phone_steps(schema), step_open_audits(schema)
    finally:
        worker.stop()
        drop_county("drill-sweep")  # the rest of the suite counts the counties beat fans out to

    lost = [m for m in swept if m not in steps]
    duplicates = sum(n - 1 for n in steps.values() if n > 1) + sum(n - 1 for n in audits.values() if n > 1)
    missing_audits = sum(1 for n in audits.values() if n == 0)
    assert not lost and not duplicates and not missing_audits and set(steps) == set(swept)
    recovery = (f"redelivered by Redis {redelivered}" if on_redis() else
                f"lost with the file broker and swept by the next slot {next_slot}")
    LINES.append(f"drill kill-worker-during-sweep: runs {runs}, killed mid-sweep {killed_mid_sweep} (kill -9 of the "
                 f"worker's process group, {SWEEP_BATCH // 2} of {SWEEP_BATCH} rows inserted, uncommitted), "
                 f"{recovery}; "
                 f"steps expected {len(swept)}, opened {sum(steps.values())}, audits {sum(audits.values())}, "
                 f"duplicates 0, lost 0 ({time.monotonic() - started:.0f} s)")


# --- kill -9 during notification delivery -----------------------------------------------------------
def _outbox_state(schema: str) -> tuple[dict, dict]:
    return webhook_deliveries(schema), successful_attempts(schema)


def _all_sent(schema: str) -> bool:
    return all(status == "sent" for _, status, _ in webhook_deliveries(schema).values())


def _check_outbox(schema: str, receiver: GatedReceiver) -> dict:
    deliveries, successes = _outbox_state(schema)
    keys = {key for key, _, _ in deliveries.values()}
    counts = receiver.counts()
    return {
        "deliveries": len(deliveries),
        "lost": len(keys - set(receiver.accepted)) + sum(1 for pk in deliveries if pk not in successes),
        "duplicates": sum(n - 1 for n in successes.values() if n > 1) + len(set(receiver.accepted) - keys),
        "repeats": sum(n - 1 for n in counts.values() if n > 1),
        "statuses": {status for _, status, _ in deliveries.values()},
    }


@pytest.mark.worker
def test_drill_kill_worker_during_delivery(world, tmp_path):
    runs = drill_runs()
    queue = f"duban-drill-deliver-{uuid.uuid4().hex[:8]}"
    in_flight = pending_at_kill = redrives = 0
    started = time.monotonic()
    with GatedReceiver() as receiver, app_broker(queue):
        county = delivery_county("drill-deliver", receiver.url)
        schema = county.schema_name
        worker = None
        try:
            worker = DrillWorker(tmp_path / "deliver-0.log", "drilldeliver0", queue, concurrency=2,
                                 **OUTBOX_ENV).start()
            for run in range(runs):
                receiver.hold()
                notify_everyone(county, NOTICES_PER_RUN, f"演练 {run}")
                # Both pool processes are inside deliver_one: row locked, request sent, no answer yet.
                assert wait_until(lambda: receiver.held() >= 2, timeout=60), worker.log()[-3000:]
                worker.kill_group()
                in_flight += receiver.held()
                pending_at_kill += sum(1 for _, s, _ in webhook_deliveries(schema).values() if s == "pending")
                receiver.release()  # the receiver processes the orphaned requests (their keys come again)
                if on_redis():  # what the visibility timeout would do, an hour early
                    redis_age_unacked(redis_unacked_in_queue(settings.CELERY_BROKER_URL, queue), 3700)
                worker = DrillWorker(tmp_path / f"deliver-{run + 1}.log", f"drilldeliver{run + 1}", queue,
                                     concurrency=2, **OUTBOX_ENV).start()
                redrives += wait_all_sent(lambda: _all_sent(schema), lambda: redrive_as_beat(county))
                result = _check_outbox(schema, receiver)
                assert result["lost"] == 0 and result["duplicates"] == 0, (run, result)
            result = _check_outbox(schema, receiver)
        finally:
            receiver.release()
            if worker is not None:
                worker.stop()
            drop_county("drill-deliver")
    assert result["deliveries"] == runs * NOTICES_PER_RUN * 3 and result["statuses"] == {"sent"}, result
    assert result["lost"] == 0 and result["duplicates"] == 0, result
    assert pending_at_kill >= in_flight >= 2 * runs
    LINES.append(f"drill kill-worker-during-delivery: runs {runs}, killed with requests in flight {runs} "
                 f"({in_flight} requests held open, {pending_at_kill} deliveries pending at the kills), "
                 f"deliveries expected {result['deliveries']}, delivered {result['deliveries'] - result['lost']}, "
                 f"duplicates 0, lost 0; re-drives {redrives}; resent with the same idempotency key "
                 f"{result['repeats']} (deduplicated by the receiver) ({time.monotonic() - started:.0f} s)")


# --- Redis restarted during delivery -----------------------------------------------------------------
@pytest.mark.worker
@pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK), reason="no redis-server binary on this machine")
def test_drill_redis_restart_during_delivery(world, tmp_path):
    runs = drill_runs()
    queue = f"duban-drill-redis-{uuid.uuid4().hex[:8]}"
    broker = PrivateRedis(tmp_path / "redis.log").start()
    queued_lost = created_while_down = reconnects = redrives = 0
    started = time.monotonic()
    worker = None
    try:
        with GatedReceiver() as receiver, app_broker(queue, broker.url):
            county = delivery_county("drill-redis", receiver.url)
            schema = county.schema_name
            connected = re.compile(rf"Connected to redis://\S*127\.0\.0\.1:{broker.port}/0")
            worker = DrillWorker(tmp_path / "redis-worker.log", "drillredis", queue, concurrency=2,
                                 CELERY_BROKER_URL=broker.url, **OUTBOX_ENV).start()
            for run in range(runs):
                receiver.hold()
                notify_everyone(county, NOTICES_PER_RUN, f"演练 {run}")
                assert wait_until(lambda: receiver.held() >= 2, timeout=60), worker.log()[-3000:]
                before = len(connected.findall(worker.log()))
                queued_lost += broker.messages(queue)
                broker.stop()  # no persistence: every queued message is gone
                # The in-flight sends finish while the broker is down (their acknowledgements cannot).
                # Before the notices below: deliver_one holds the recipient's user row until its send
                # returns (see drill_helpers.notify_everyone).
                receiver.release()
                notify_everyone(county, 1, f"演练 {run}（Redis 停止时）")  # enqueue fails; the rows wait
                created_while_down += 3
                broker.start()  # same port, empty
                assert wait_until(lambda before=before: len(connected.findall(worker.log())) > before, timeout=90), \
                    worker.log()[-3000:]
                reconnects += 1
                # Nothing is queued any more: beat's next re-drive is what delivers.
                redrives += wait_all_sent(lambda: _all_sent(schema), lambda: redrive_as_beat(county), at_once=True)
                result = _check_outbox(schema, receiver)
                assert result["lost"] == 0 and result["duplicates"] == 0, (run, result)
            assert worker.process.poll() is None, "one worker lived through every restart"
            result = _check_outbox(schema, receiver)
    finally:
        if worker is not None:
            worker.stop()
        broker.stop()
        drop_county("drill-redis")
    assert result["deliveries"] == runs * (NOTICES_PER_RUN + 1) * 3 and result["statuses"] == {"sent"}, result
    assert result["lost"] == 0 and result["duplicates"] == 0, result
    LINES.append(f"drill redis-restart-during-delivery: runs {runs} (private redis-server on 127.0.0.1:{broker.port}, "
                 f"no persistence), restarted with requests in flight {runs}, messages lost with Redis "
                 f"(queued or unacknowledged) "
                 f"{queued_lost}, deliveries created while it was down {created_while_down}, worker reconnected "
                 f"{reconnects}; deliveries expected {result['deliveries']}, delivered "
                 f"{result['deliveries'] - result['lost']}, duplicates 0, lost 0; re-drives {redrives} "
                 f"({time.monotonic() - started:.0f} s)")


# --- a second beat ------------------------------------------------------------------------------
HEARTBEAT_PERIOD = 5
FAN_OUT_DONE = re.compile(r"duban\.ops\.fan_out_heartbeats\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: (\d+)")


def _claimed_slots(since) -> list[str]:
    with raw_connection() as conn:
        rows = conn.execute("SELECT slot FROM public.core_periodicrun WHERE job = 'heartbeat' AND slot >= %s",
                            [since]).fetchall()
    return sorted(f"{slot.astimezone(UTC):%Y%m%dT%H%M%S}" for (slot,) in rows)


def _heartbeats(schemas: list[str], since: str) -> dict[tuple[str, str], int]:
    """(schema, slot) → heartbeats sent by a fan-out for that slot (nonce '<slot>-<slug>-<random>')."""
    found = {}
    with raw_connection() as conn:
        for schema in schemas:
            for slot, n in conn.execute(
                    f'SELECT left(nonce, 15), count(*) FROM "{schema}".ops_heartbeat '
                    f"WHERE nonce ~ '^[0-9]{{8}}T[0-9]{{6}}-' AND left(nonce, 15) >= %s GROUP BY 1", [since]):
                found[(schema, slot)] = n
    return found


def _active_schemas() -> list[str]:
    def read():
        from tenants.models import County
        return list(County.objects.filter(status=County.Status.ACTIVE).values_list("schema_name", flat=True))

    return in_thread(read)


@pytest.mark.worker
def test_drill_second_beat_runs_no_periodic_job_twice(world, tmp_path):
    runs = drill_runs()
    queue = f"duban-drill-beat-{uuid.uuid4().hex[:8]}"
    period = {"DUBAN_HEARTBEAT_SECONDS": str(HEARTBEAT_PERIOD)}
    schemas = _active_schemas()
    worker = DrillWorker(tmp_path / "beat-worker.log", "drillbeat", queue, concurrency=2, **period).start()
    since = timezone.now() - timedelta(seconds=HEARTBEAT_PERIOD)
    since_slot = f"{since.astimezone(UTC):%Y%m%dT%H%M%S}"
    started = time.monotonic()
    beats = []
    try:
        beats = [PlainBeat(tmp_path, name, queue, **period).start() for name in ("beat-a", "beat-b")]
        alive = lambda: all(beat.process.poll() is None for beat in beats)  # noqa: E731
        # Until both beats have sent `runs` times (and at least `runs` slots were claimed).
        assert wait_until(lambda: (min(b.sent("heartbeat-fan-out") for b in beats) >= runs
                                   and len(_claimed_slots(since)) >= runs) or not alive(),
                          timeout=runs * HEARTBEAT_PERIOD + 90, interval=0.5), [b.log()[-2000:] for b in beats]
        assert alive(), [beat.log()[-2000:] for beat in beats]
        for beat in beats:
            beat.stop()
        sends = [beat.sent("heartbeat-fan-out") for beat in beats]
        # Every fan-out either beat sent has run (the claim decides which one does the work).
        assert wait_until(lambda: len(FAN_OUT_DONE.findall(worker.log())) == sum(sends), timeout=60), \
            (sends, worker.log()[-3000:])
        slots = _claimed_slots(since)
        expected = {(schema, slot) for schema in schemas for slot in slots}
        assert wait_until(lambda: set(_heartbeats(schemas, since_slot)) >= expected, timeout=60)
    finally:
        for beat in beats:
            beat.stop()
        worker.stop()
    results = [int(n) for n in FAN_OUT_DONE.findall(worker.log())]
    beats_per_slot = _heartbeats(schemas, since_slot)
    duplicates = sum(n - 1 for n in beats_per_slot.values() if n > 1)
    lost = len(expected - set(beats_per_slot))
    strays = set(beats_per_slot) - expected
    assert min(sends) >= runs, f"both beats kept sending: {sends}"
    assert sum(1 for n in results if n) == len(slots), (results, slots)  # one fan-out did the work per slot
    assert all(n in (0, len(schemas)) for n in results), results
    assert not duplicates and not lost and not strays, (duplicates, lost, strays)
    LINES.append(f"drill second-beat: runs {len(slots)} (slots of {HEARTBEAT_PERIOD} s), 2 plain `celery beat` "
                 f"side by side sent the fan-out {sum(sends)} times ({sends[0]} + {sends[1]}), it ran "
                 f"{len(slots)} times (once per slot) and did nothing {results.count(0)} times (slot already "
                 f"claimed); heartbeats expected {len(expected)} ({len(schemas)} counties × {len(slots)} slots), "
                 f"duplicates 0, lost 0 ({time.monotonic() - started:.0f} s). With `duban beat` the second beat "
                 f"waits idle on the advisory lock (tests/test_beat_lock.py)")


# --- the database connection dropped mid-request ----------------------------------------------------
@pytest.fixture(scope="module")
def db_county(django_db_setup, django_db_blocker):
    """A committed county with one person per role (browser_helpers.build_county), dropped after."""
    with django_db_blocker.unblock():
        schema = build_county("drilldb")

        def token():
            from duban.accounts.actions import do_issue_token
            from duban.accounts.models import User
            return do_issue_token(User.objects.get(username="staff"), actor="tests")

        key = in_county(schema, token)
    yield {"schema": schema, "host": "drilldb.localhost", "token": key}
    with django_db_blocker.unblock():
        drop_county("drilldb")


def _written(schema: str) -> dict[str, object]:
    def count():
        from duban.audit.models import AuditEvent
        from duban.core.models import Counter
        from duban.matters.models import Matter

        return {"matters": Matter.objects.count(), "proposed units": Matter.proposed_units.through.objects.count(),
                "audit events": AuditEvent.objects.count(),
                "counters": sorted(Counter.objects.values_list("key", "value"))}

    return in_county(schema, count)


class TableLock:
    """SHARE lock on one of a county's tables, in a transaction of the drill's own: reads go on,
    any INSERT waits for it."""

    def __init__(self, schema: str, table: str):
        self.conn = psycopg.connect(database_url_for_subprocess(), autocommit=False)
        self.conn.execute(f'LOCK TABLE "{schema}"."{table}" IN SHARE MODE')

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def _waiting_insert(table: str) -> int | None:
    with raw_connection() as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND query LIKE %s", [f'INSERT INTO "{table}"%']).fetchone()
    return row[0] if row else None


def _terminate(pid: int) -> bool:
    with raw_connection() as conn:
        return conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


class Requests:
    """Requests made one after another on a thread of their own (so, on one database connection
    of their own, committed), each started by ``next()``; ``response(i)`` waits for the i-th."""

    def __init__(self, *calls):
        self.calls, self.responses, self.error = calls, [], None
        self.go = [threading.Event() for _ in calls]
        self.done = [threading.Event() for _ in calls]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for call, go, done in zip(self.calls, self.go, self.done, strict=True):
                go.wait(120)
                self.responses.append(call())
                done.set()
        except BaseException as exc:
            self.error = exc
            for done in self.done:
                done.set()
        finally:
            connection.close()

    def start(self, index: int) -> None:
        self.go[index].set()

    def response(self, index: int):
        assert self.done[index].wait(120), f"request {index} did not finish"
        if self.error is not None:
            raise self.error
        return self.responses[index]


def _propose_by_api(county: dict, title: str):
    client = Client(HTTP_HOST=county["host"], HTTP_AUTHORIZATION=f"Token {county['token']}")
    return lambda: client.post("/api/v1/matters/", {"title": title, "content": "演练：数据库连接中断",
                                                    "category": "work_report", "proposed_units": ["D01"]},
                               content_type="application/json")


def _propose_by_web(county: dict, title: str, client: Client):
    return lambda: client.post("/matters/new/", {"title": title, "content": "演练：数据库连接中断",
                                                 "category": "work_report", "proposed_units": ["D01"]})


def _web_client(county: dict) -> Client:
    client = Client(HTTP_HOST=county["host"])

    def login():
        from duban.accounts.models import User
        client.force_login(User.objects.get(username="staff"))

    in_county(county["schema"], login)
    return client


def _drop_mid_request(county: dict, make_call) -> tuple[object, object, dict, dict, dict]:
    """One request killed inside its transaction, then the same thread's next request.
    Returns (first response, second response, written before, after the first, after the second)."""
    schema = county["schema"]
    before = _written(schema)
    requests = Requests(make_call("演练-断开"), make_call("演练-重连"))
    lock = TableLock(schema, "audit_auditevent")
    try:
        requests.start(0)
        # The request has taken the counter's row, inserted the matter and its units, and now waits
        # to insert its audit event: inside its transaction, nothing committed.
        pid = wait_until(lambda: _waiting_insert("audit_auditevent"), timeout=60)
        assert pid, "the request never reached its audit INSERT"
        assert _terminate(pid)
    finally:
        lock.release()
    first = requests.response(0)
    after_first = _written(schema)
    requests.start(1)
    second = requests.response(1)
    return first, second, before, after_first, _written(schema)


def _plus_one(before: dict, after: dict) -> bool:
    return (after["matters"] == before["matters"] + 1 and after["proposed units"] == before["proposed units"] + 1
            and after["audit events"] > before["audit events"])


def test_drill_database_connection_dropped_mid_request(world, db_county):
    runs = drill_runs()
    clean = partial = reconnected = 0
    started = time.monotonic()
    web_client = _web_client(db_county)
    for run in range(runs):
        # The API: DRF's exception handler (api/errors.py) answers.
        first, second, before, after_first, after = _drop_mid_request(db_county, lambda t, run=run: _propose_by_api(
            db_county, f"{t}-{run}"))
        assert first.status_code == 503, first.content
        assert first["Retry-After"] == "5"
        assert first.json() == {"error": {"code": "unavailable", "message": first.json()["error"]["message"]}}
        assert "nothing was saved" in first.json()["error"]["message"]
        partial += after_first != before
        assert after_first == before, "nothing of the failed request was written"
        assert second.status_code == 201, second.content  # the next request opened a new connection
        assert _plus_one(before, after), (before, after)
        clean += 1
        reconnected += 1

        # The web UI: the middleware (duban.core.dbdown) answers with a short page.
        first, second, before, after_first, after = _drop_mid_request(db_county, lambda t, run=run: _propose_by_web(
            db_county, f"{t}-{run}", web_client))
        assert first.status_code == 503, first.content[:500]
        assert first["Retry-After"] == "5" and first["Content-Type"].startswith("text/html")
        page = first.content.decode()
        assert "服务暂时不可用" in page and "未保存" in page and "Traceback" not in page
        partial += after_first != before
        assert after_first == before, "nothing of the failed request was written"
        assert second.status_code == 302, second.content[:500]  # proposed; on to the matter's page
        assert _plus_one(before, after), (before, after)
        clean += 1
        reconnected += 1
    LINES.append(f"drill db-connection-dropped-mid-request: runs {runs} (API POST + web form each, session "
                 f"terminated with pg_terminate_backend inside the transaction), clean 503 with Retry-After "
                 f"{clean} of {2 * runs}, 500s 0, partial writes {partial}, next request reconnected {reconnected} "
                 f"({time.monotonic() - started:.0f} s)")


def test_drill_database_connection_dropped_between_requests_is_a_503_from_the_middleware(world, db_county):
    """The connection dies while idle; the next request first needs the database in a middleware
    (session and user loading), outside any view: still a 503, never a 500. (A real server checks
    the connection at the start of every request, CONN_HEALTH_CHECKS, and would just reconnect;
    Django's test client skips that check, which makes this path reachable.)"""
    client = _web_client(db_county)
    client.raise_request_exception = False
    pids = []

    def backend_pid():
        pids.append(connection.connection.info.backend_pid)

    requests = Requests(lambda: client.get("/matters/"), backend_pid, lambda: client.get("/matters/"),
                        lambda: client.get("/matters/"))
    requests.start(0)
    assert requests.response(0).status_code == 200
    requests.start(1)
    requests.response(1)
    assert _terminate(pids[0])
    requests.start(2)
    broken = requests.response(2)
    assert broken.status_code == 503, broken.content[:500]
    assert broken["Retry-After"] == "5" and "服务暂时不可用" in broken.content.decode()
    assert getattr(broken.wsgi_request, "_duban_database_unavailable", False), "answered by the middleware fallback"
    requests.start(3)
    assert requests.response(3).status_code == 200


def test_only_connection_failures_become_503(world):
    """Real errors from PostgreSQL: a terminated session, a refused connection and a closed one are
    connection failures; a statement timeout, a lock timeout and a constraint are not (they stay
    errors of their own — 500, 409, … — never a 503)."""
    from duban.core.dbdown import is_connection_failure

    def error_of(fn):
        try:
            fn()
        except Exception as exc:
            return exc
        raise AssertionError(f"{fn} raised nothing")

    def statement_timeout():
        from django.db import transaction
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(2)")

    def lock_timeout():
        from django.db import transaction
        holder = psycopg.connect(database_url_for_subprocess(), autocommit=False)
        try:
            holder.execute("LOCK TABLE public.core_periodicrun IN ACCESS EXCLUSIVE MODE")
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = 50")
                cursor.execute("SELECT count(*) FROM public.core_periodicrun")
        finally:
            holder.rollback()
            holder.close()

    def duplicate():
        from django.db import transaction

        from duban.core.models import PeriodicRun
        slot = timezone.now() + timedelta(days=4000)
        with transaction.atomic():
            PeriodicRun.objects.create(job="drill-duplicate", slot=slot)
            PeriodicRun.objects.create(job="drill-duplicate", slot=slot)

    def terminated():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    def refused():
        psycopg.connect("postgresql://postgres@127.0.0.1:1/none", connect_timeout=2)

    def closed():
        conn = psycopg.connect(database_url_for_subprocess())
        conn.close()
        conn.execute("SELECT 1")

    def on_own_connection(fn):
        return lambda: in_thread(lambda: error_of(fn))

    timeout, locked, constraint, gone = (on_own_connection(f)() for f in (statement_timeout, lock_timeout, duplicate,
                                                                            terminated))
    assert isinstance(timeout, OperationalError) and not is_connection_failure(timeout), repr(timeout)
    assert isinstance(locked, OperationalError) and not is_connection_failure(locked), repr(locked)
    assert isinstance(constraint, IntegrityError) and not is_connection_failure(constraint), repr(constraint)
    assert isinstance(gone, OperationalError) and is_connection_failure(gone), repr(gone)
    assert is_connection_failure(error_of(refused))
    assert is_connection_failure(error_of(closed))
    assert not is_connection_failure(ValueError("not a database error"))
