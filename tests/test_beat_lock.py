"""`duban beat` holds a PostgreSQL advisory lock: of two beats exactly one runs Celery beat, the
other waits; when the first is killed (SIGKILL, no clean-up of its own) the second takes over.

Real processes on the test database and the session's broker; every beat gets a queue of its
own and day-long periods, so that it sends nothing any other test could see.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import REPO, database_url_for_subprocess, subprocess_env, wait_until

DUBAN = str(Path(REPO) / ".venv" / "bin" / "duban")
RUNNING = "beat: Starting..."
WAITING = "waiting for the beat lock (another beat is running)"
TOOK_LOCK = "took the beat lock"
QUIET_PERIODS = {name: "86400" for name in (
    "DUBAN_HEARTBEAT_SECONDS", "DUBAN_SWEEP_SECONDS", "DUBAN_REPORT_CHECK_SECONDS",
    "DUBAN_OUTBOX_REDRIVE_SECONDS", "DUBAN_COMPARISON_REFRESH_SECONDS")}
# The test database must exist (pytest-django sets up only the databases marked tests use).
pytestmark = pytest.mark.django_db


class Beat:
    """One `duban beat` process, leading its own process group, logging to a file."""

    def __init__(self, folder: Path, name: str, queue: str):
        self.log_path = folder / f"{name}.log"
        self.schedule = folder / f"{name}-schedule"
        self.queue = queue
        self.process: subprocess.Popen | None = None

    def start(self) -> Beat:
        command = DUBAN if os.access(DUBAN, os.X_OK) else "duban"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [command, "beat", "--loglevel", "INFO", "--schedule", str(self.schedule),
                 "--check-seconds", "1"],
                env=subprocess_env(DUBAN_TASK_QUEUE=self.queue, LOG_LEVEL="info", **QUIET_PERIODS),
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: the process gets no chance to release anything."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def lock_holders() -> list[tuple[str, bool]]:
    """(application_name, granted) of every session holding or awaiting the beat lock."""
    from duban.core.management.commands.beat import BEAT_LOCK_KEY

    with psycopg.connect(database_url_for_subprocess(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name, l.granted FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 "
            "ORDER BY l.granted DESC",
            [BEAT_LOCK_KEY >> 32, BEAT_LOCK_KEY & 0xFFFFFFFF]).fetchall()
    return [(name, granted) for name, granted in rows]


@pytest.fixture
def beats(django_db_setup, tmp_path):
    started: list[Beat] = []
    queue = f"duban-beat-lock-{uuid.uuid4().hex[:8]}"

    def start(name: str) -> Beat:
        beat = Beat(tmp_path, name, queue).start()
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.kill()


def test_one_beat_runs_the_other_waits_and_takes_over_after_sigkill(beats):
    first = beats("first")
    assert wait_until(lambda: RUNNING in first.log() or not first.alive(), timeout=60), first.log()
    assert first.alive(), f"the first beat exited:\n{first.log()}"

    second = beats("second")
    assert wait_until(lambda: WAITING in second.log() or not second.alive(), timeout=60), second.log()
    assert second.alive(), f"the second beat exited:\n{second.log()}"
    # The second one stays idle: it never starts Celery beat while the first holds the lock.
    time.sleep(3)
    assert RUNNING not in second.log() and TOOK_LOCK not in second.log(), second.log()
    assert first.log().count(RUNNING) == 1 and WAITING not in first.log()
    assert lock_holders() == [("duban-beat", True), ("duban-beat", False)]

    killed_at = time.monotonic()
    first.kill()
    assert wait_until(lambda: RUNNING in second.log() or not second.alive(), timeout=30), (
        f"the second beat did not take over within 30 s:\n{second.log()}")
    took_over = time.monotonic() - killed_at
    assert second.alive(), f"the second beat exited:\n{second.log()}"
    assert second.log().count(RUNNING) == 1
    assert wait_until(lambda: lock_holders() == [("duban-beat", True)], timeout=10), lock_holders()
    assert took_over < 30


def test_beat_exits_when_its_lock_session_is_lost(beats):
    """pg_terminate_backend on the lock's session (as a database restart or failover would do):
    beat exits at once (status 75) instead of running on without the lock."""
    beat = beats("lonely")
    assert wait_until(lambda: RUNNING in beat.log() or not beat.alive(), timeout=60), beat.log()
    with psycopg.connect(database_url_for_subprocess(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND application_name = 'duban-beat'")
    assert wait_until(lambda: not beat.alive(), timeout=30), beat.log()
    assert beat.process.returncode == 75, beat.log()
    assert "lost the beat lock's database session" in beat.log()
