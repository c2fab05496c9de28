"""Shared fixtures. Tests run on real PostgreSQL (DATABASE_URL, or the embedded server that
`make test` starts) and a real broker; nothing of ours is mocked.

Personas (house style): in county ``alpha`` an *owner* (supervision staff) and a *colleague*
(unit staff of another unit); in county ``beta`` an *outsider* who holds a valid token there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Test-pass-2026"
# One queue per test session, so that no other worker (a running demo, say) takes our tasks.
TEST_QUEUE = f"duban-test-{uuid.uuid4().hex[:8]}"
os.environ["DUBAN_TASK_QUEUE"] = TEST_QUEUE


@dataclass
class Persona:
    username: str
    county: str  # slug
    token: str

    @property
    def host(self) -> str:
        return f"{self.county}.{settings.DUBAN_BASE_DOMAIN}"


@dataclass
class World:
    alpha: object
    beta: object
    owner: Persona
    colleague: Persona
    outsider: Persona


def _make_world() -> World:
    from duban.accounts.actions import do_create_user
    from duban.accounts.models import Role
    from duban.units.actions import do_create_unit
    from tenants import provisioning

    provisioning.create_city("testcity", "测试市", actor="tests")
    counties = {}
    people = {}
    for slug, name in (("alpha", "甲县"), ("beta", "乙县")):
        county = provisioning.create_county(slug, name, "testcity", actor="tests", admin_username="admin",
                                            abbreviation=name[:1],
                                            admin_password=PASSWORD).county
        counties[slug] = county
        with schema_context(county.schema_name):
            u1 = do_create_unit("T01", "一号镇", "township", actor="tests")
            u2 = do_create_unit("D01", "一号局", "department", actor="tests")
            staff = do_create_user("staff", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
            clerk = do_create_user("clerk", actor="tests", role=Role.UNIT_STAFF, password=PASSWORD, unit=u2)
            do_create_user("clerk1", actor="tests", role=Role.UNIT_STAFF, password=PASSWORD, unit=u1)
            people[slug] = {"staff": api_key(staff), "clerk": api_key(clerk)}
    return World(
        alpha=counties["alpha"], beta=counties["beta"],
        owner=Persona("staff", "alpha", people["alpha"]["staff"]),
        colleague=Persona("clerk", "alpha", people["alpha"]["clerk"]),
        outsider=Persona("staff", "beta", people["beta"]["staff"]),
    )


_API_KEYS: dict[tuple[str, int], str] = {}


def api_key(user) -> str:
    """An API key for ``user`` in the current schema: the one handed out before if its token
    still exists (keys are stored hashed, so they are remembered here), else a newly issued one."""
    from duban.accounts.actions import do_issue_token  # needs Django's apps, ready only once pytest-django set up
    from duban.accounts.models import ApiToken
    from duban.accounts.tokens import key_digest

    slot = (connection.schema_name, user.pk)
    key = _API_KEYS.get(slot)
    if key is None or not ApiToken.objects.filter(user=user, digest=key_digest(key)).exists():
        key = _API_KEYS[slot] = do_issue_token(user, actor="tests")
    return key


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database (public + template migrated by `migrate`), plus two committed counties."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        world = _make_world()
    settings.TEST_WORLD = world
    yield


def pytest_report_header(config):
    pinned = settings.DUBAN_TODAY
    return f"county date: {pinned} (DUBAN_TODAY)" if pinned else "county date: the real date"


def pytest_collection_modifyitems(config, items):
    """`make test-days` runs the suite once per hard day (DUBAN_TODAY). A test pinned to its own day
    (``@pytest.mark.today``) runs as of that day whatever DUBAN_TODAY says, so the day runs leave it
    to the plain run (DUBAN_TEST_DAYS=1, set by the Makefile) instead of repeating it five times."""
    if os.environ.get("DUBAN_TEST_DAYS") != "1":
        return
    pinned = [item for item in items if item.get_closest_marker("today") is not None]
    if pinned:
        config.hook.pytest_deselected(items=pinned)
        items[:] = [item for item in items if item.get_closest_marker("today") is None]


@pytest.fixture(autouse=True)
def _pinned_day(request):
    """``@pytest.mark.today("2026-11-26")``: the test runs as of that day (duban.core.clock.as_of),
    whatever the real date or DUBAN_TODAY."""
    from datetime import date

    from duban.core.clock import as_of

    marker = request.node.get_closest_marker("today")
    if marker is None:
        yield None
        return
    with as_of(date.fromisoformat(marker.args[0])) as day:
        yield day


@pytest.fixture(scope="session", autouse=True)
def _test_queue():
    from duban.celery import app

    app.conf.task_default_queue = TEST_QUEUE
    yield


@pytest.fixture
def world(django_db_setup, db) -> World:
    return settings.TEST_WORLD


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    try:
        connection.set_schema_to_public()
    except Exception:
        pass


def database_url_for_subprocess() -> str:
    """DATABASE_URL of the test database, for subprocesses (workers, the CLI)."""
    db = connection.settings_dict
    host = db.get("HOST") or ""
    host_part = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgresql://{auth}@{host_part}{port}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess (worker, CLI): the test database, the test queue, and the
    county's date of the test (``as_of`` or DUBAN_TODAY), so that both sides agree on the day."""
    from duban.core import clock

    env = dict(os.environ)
    pinned = clock.pinned()
    if pinned is not None:
        env["DUBAN_TODAY"] = pinned.isoformat()
    env.update({
        "DATABASE_URL": database_url_for_subprocess(),
        "DUBAN_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "duban.settings.test",
        "DUBAN_TASK_QUEUE": TEST_QUEUE,
    })
    env.update(extra)
    return env


class Worker:
    """A real Celery worker process on the test database and broker."""

    def __init__(self, log_path: Path, name: str = "w1", concurrency: int = 2):
        self.log_path = log_path
        self.name = name
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--queues", TEST_QUEUE],
            env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in 60 s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    worker = Worker(tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield worker
    worker.stop()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def pytest_terminal_summary(terminalreporter):
    from summary import LINES

    if LINES:
        terminalreporter.section("duban summaries")
        for line in LINES:
            terminalreporter.write_line(line)
