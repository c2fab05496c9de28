"""Scaffolding for the fault drills (tests/test_fault_drills.py), on top of sweep_helpers and
notify_helpers: how many runs, workers with an environment of their own, a webhook receiver
that holds requests until told, a private redis-server that can be stopped and started again,
the test process's Celery app pointed at another broker for a while, plain ``celery beat``
processes, and a committed county to deliver notifications in."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from conftest import REPO, subprocess_env, wait_until
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from notify_helpers import WebhookReceiver
from sweep_helpers import GroupWorker, in_thread

from duban.core import clock

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Periods (seconds) that keep every periodic job but the one under test quiet.
QUIET_PERIODS = {name: "86400" for name in (
    "DUBAN_HEARTBEAT_SECONDS", "DUBAN_SWEEP_SECONDS", "DUBAN_REPORT_CHECK_SECONDS",
    "DUBAN_OUTBOX_REDRIVE_SECONDS", "DUBAN_COMPARISON_REFRESH_SECONDS")}


def drill_runs() -> int:
    """Runs per drill: DUBAN_DRILL_RUNS (`make drills` sets 20); 3 by default, for `make test`."""
    return max(1, int(os.environ.get("DUBAN_DRILL_RUNS") or 3))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- workers --------------------------------------------------------------------------------
class DrillWorker(GroupWorker):
    """sweep_helpers.GroupWorker (own process group, ``kill_group``) with extra environment:
    its own task queue (so that retries and fan-outs come back to it), broker, periods."""

    def __init__(self, log_path: Path, name: str, queue: str, concurrency: int = 1, **env: str):
        super().__init__(log_path, name=name, concurrency=concurrency, queue=queue)
        self.env = {"DUBAN_TASK_QUEUE": queue, "LOG_LEVEL": "info", **env}

    def start(self) -> DrillWorker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--queues", self.queue],
            env=subprocess_env(**self.env), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            start_new_session=True)
        if not wait_until(lambda: "ready." in self.log() or self.process.poll() is not None, timeout=60):
            raise RuntimeError(f"worker not ready in 60 s:\n{self.log()[-3000:]}")
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
        return self


class PlainBeat:
    """``celery -A duban.celery beat``: no advisory lock (that is `duban beat`), so two of them
    really do both send every periodic job."""

    def __init__(self, folder: Path, name: str, queue: str, **periods: str):
        self.log_path = folder / f"{name}.log"
        self.schedule = folder / f"{name}-schedule"
        self.env = {"DUBAN_TASK_QUEUE": queue, "LOG_LEVEL": "info", **QUIET_PERIODS, **periods}
        self.process: subprocess.Popen | None = None

    def start(self) -> PlainBeat:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "duban.celery", "beat", "--loglevel", "INFO",
                 "--schedule", str(self.schedule)],
                env=subprocess_env(**self.env), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def sent(self, entry: str) -> int:
        return self.log().count(f"Sending due task {entry} ")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


# --- a webhook receiver that holds requests -------------------------------------------------------
class GatedReceiver(WebhookReceiver):
    """notify_helpers.WebhookReceiver, but every request waits (after it was recorded, before it
    is processed) until ``gate`` is open: a delivery is in flight for as long as the drill needs.

    WebhookReceiver's handler reads ``delay`` before processing; here reading it waits on the gate."""

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()
        self._held = 0
        super().__init__()

    @property
    def delay(self) -> float:
        with self.lock:
            self._held += 1
        self.gate.wait()
        with self.lock:
            self._held -= 1
        return 0.0

    @delay.setter
    def delay(self, value: float) -> None:  # WebhookReceiver.__init__ sets it; the gate replaces it
        pass

    def held(self) -> int:
        with self.lock:
            return self._held

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def __exit__(self, *exc) -> None:
        self.release()
        super().__exit__(*exc)

    def counts(self) -> dict[str, int]:
        """idempotency key → how many requests carried it."""
        counted: dict[str, int] = {}
        for key in self.keys():
            counted[key] = counted.get(key, 0) + 1
        return counted


# --- a private Redis --------------------------------------------------------------------------
class PrivateRedis:
    """A redis-server of the drill's own on a free loopback port, without persistence (``--save ""
    --appendonly no``): stopping it loses every message, as a crashed broker without a disk would.
    The machine's shared Redis is never touched."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--protected-mode", "yes", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(self.ping, timeout=20, interval=0.05):
            raise RuntimeError(f"redis-server did not start:\n{self.log_path.read_text(errors='replace')[-2000:]}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def messages(self, queue: str) -> int:
        """Messages of ``queue`` held by this Redis: waiting, and delivered but unacknowledged."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        return client.llen(queue) + len(redis_unacked_in_queue(self.url, queue))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def app_broker(queue: str, broker_url: str | None = None):
    """The test process's Celery app sends to ``queue`` (and to ``broker_url``, if given) for a
    while: what notify()/redrive() enqueue goes where the drill's worker listens."""
    from duban.celery import app, broker_transport_options

    conf = app.conf
    keys = ("broker_write_url", "broker_read_url", "broker_transport_options", "task_default_queue")
    saved = {key: conf.get(key) for key in keys}
    saved_pools = (app._pool, app.amqp._producer_pool)
    conf.task_default_queue = queue
    if broker_url:
        # Not broker_url: the CELERY_BROKER_URL environment variable overrides that one.
        conf.broker_write_url = conf.broker_read_url = broker_url
        conf.broker_transport_options = broker_transport_options(broker_url)
        app._pool = None
        app.amqp._producer_pool = None
    try:
        yield app
    finally:
        if broker_url and app._pool is not None:
            with contextlib.suppress(Exception):
                app._pool.force_close_all()
        for key, value in saved.items():
            conf[key] = value
        app._pool, app.amqp._producer_pool = saved_pools


def redis_unacked_in_queue(broker_url: str, queue: str) -> list[bytes]:
    """Delivery tags of kombu's unacknowledged Redis messages routed to ``queue``."""
    import redis

    client = redis.Redis.from_url(broker_url)
    return [tag for tag, raw in client.hgetall("unacked").items() if json.loads(raw)[2] == queue]


# --- more overdue matters in a county of sweep_helpers.county_with_overdue_matters -------------------
def add_overdue_matters(county, count: int, tag: str) -> list[int]:
    """``count`` more matters in progress, twenty days overdue, led by D01 (bulk rows, like the
    ``workflow=False`` county they join; its leader m_leader proposed them). Their ids, in order."""

    def add():
        from duban.accounts.models import User
        from duban.matters.models import Matter, MatterUnit
        from duban.matters.states import State
        from duban.units.models import Unit

        with tenant_context(county):
            leader, d01 = User.objects.get(username="m_leader"), Unit.objects.get(code="D01")
            today, now = clock.today(), timezone.now()
            with transaction.atomic():
                matters = Matter.objects.bulk_create([
                    Matter(number=f"DR-{tag}-{n:04d}", title=f"演练事项{tag}-{n}", content="故障演练",
                           category="work_report", state=State.IN_PROGRESS, proposed_by=leader, assigned_by=leader,
                           assigned_at=now, assigned_on=today - timedelta(days=60), deadline=today - timedelta(days=20),
                           deadline_working_days=10, requirements="按期办结")
                    for n in range(count)])
                MatterUnit.objects.bulk_create([MatterUnit(matter=m, unit=d01, role=MatterUnit.Role.LEAD,
                                                           received_at=now) for m in matters])
            return sorted(m.pk for m in matters)

    return in_thread(add)


# --- a county to deliver notifications in -------------------------------------------------------
def delivery_county(slug: str, webhook_url: str, people: int = 3):
    """A committed county with a group-robot webhook and ``people`` unit staff who opted out of
    email for ``notice.issued``: each notice to them is one webhook delivery per person."""

    def setup():
        from duban.accounts.actions import do_create_user
        from duban.accounts.models import Role
        from duban.notifications.models import Preference, WebhookTarget
        from duban.units.actions import do_create_unit
        from tenants import provisioning

        county = provisioning.create_county(slug, f"{slug}县", "testcity", actor="tests",
                                            admin_username=None).county
        with tenant_context(county):
            unit = do_create_unit("D01", "一号局", "department", actor="tests")
            WebhookTarget.objects.create(name="督查群", kind="wecom", url=webhook_url)
            for n in range(people):
                user = do_create_user(f"p{n}", actor="tests", role=Role.UNIT_STAFF, password="x", unit=unit,
                                      phone=f"1380000{n:04d}")
                Preference.objects.create(user=user, event="notice.issued", channel="email", enabled=False)
        return county

    return in_thread(setup)


def notify_everyone(county, times: int, title: str) -> None:
    """``times`` notices to every person of ``county``, in one transaction (enqueued after its
    commit). One transaction, because a notice for someone whose delivery is being sent waits:
    ``deliver_one`` locks the recipient's user row (select_related + select_for_update) for as
    long as the send takes."""

    def send():
        from duban.accounts.models import User
        from duban.notifications.service import notify

        with tenant_context(county), transaction.atomic():
            people = list(User.objects.filter(username__startswith="p").order_by("username"))
            for n in range(times):
                notify("notice.issued", recipients=people, title=f"{title} #{n}", body="演练")

    in_thread(send)


def redrive_as_beat(county) -> None:
    """What beat's outbox fan-out sends to a county: ``redrive_county``, run by a worker."""
    from duban.notifications.tasks import redrive_county

    with tenant_context(county):
        redrive_county.delay()


def wait_all_sent(check, redrive, *, timeout: float = 120, every: float = 3.0, at_once: bool = False) -> int:
    """Poll ``check()`` until true, calling ``redrive()`` every ``every`` seconds meanwhile (as beat
    would; ``at_once``: the first right away); returns how many re-drives it took. Raises TimeoutError."""
    redrives = 0
    deadline = time.monotonic() + timeout
    next_redrive = time.monotonic() + (0 if at_once else every)
    while time.monotonic() < deadline:
        if check():
            return redrives
        if time.monotonic() >= next_redrive:
            redrive()
            redrives += 1
            next_redrive = time.monotonic() + every
        time.sleep(0.2)
    if check():
        return redrives
    raise TimeoutError(f"not everything was delivered in {timeout} s ({redrives} re-drives)")
