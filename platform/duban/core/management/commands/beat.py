"""`duban beat`: Celery beat, one at a time across the whole installation.

Before starting beat, the command takes PostgreSQL's session-level advisory lock
``BEAT_LOCK_KEY`` on a connection of its own, and keeps that connection (and so the lock) for
its whole life. A second `duban beat` — a rolling update, a node that comes back, a second
`make demo` on the same database — logs "waiting for the beat lock (another beat is running)"
and waits, idle, until the first one is gone: PostgreSQL releases a session lock when the
session ends, however its process died (SIGKILL, OOM, lost node once the server notices the
dead connection), and the waiting beat takes over at once.

The lock key is the 64-bit integer of the ASCII bytes ``duban-bt``: 7238800146667758196
(0x647562616e2d6274). In ``pg_locks`` it shows as ``locktype = 'advisory'``,
``classid = 1685414497``, ``objid = 1848468084``, ``objsubid = 1``; its holder's
``application_name`` is ``duban-beat``.

The lock is a convenience, not the guarantee: every periodic job already claims its time slot
once in the database (``duban.core.beat.fan_out``), so two beats would still send nothing
twice. If the lock's connection is lost while beat runs, the command exits at once (status 75)
so that its supervisor restarts it and it queues for the lock again.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from duban.celery import app

logger = logging.getLogger("duban.beat")

BEAT_LOCK_KEY = int.from_bytes(b"duban-bt", "big")  # 7238800146667758196
LOST_LOCK_EXIT_STATUS = 75  # EX_TEMPFAIL: restart me
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_schedule_path() -> Path:
    """Where beat keeps its schedule file: the data directory when it is writable, else the
    temporary directory (a container with a read-only root file system mounts one there)."""
    data_dir = Path(settings.DATA_DIR)
    if data_dir.is_dir() and os.access(data_dir, os.W_OK):
        return data_dir / "celerybeat-schedule"
    return Path(tempfile.gettempdir()) / "celerybeat-schedule"


def lock_connection():
    """A new autocommit connection to the default database, used for the lock only.

    TCP keepalives make a connection broken by the network fail within about a minute instead
    of hanging; the watchdog then notices."""
    params = connections["default"].get_connection_params()
    params.update(application_name="duban-beat", keepalives=1, keepalives_idle=30,
                  keepalives_interval=10, keepalives_count=3)
    return psycopg.connect(**params, autocommit=True)


def try_lock(conn) -> bool:
    return bool(conn.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()[0])


def wait_for_lock(conn) -> None:
    conn.execute("SELECT pg_advisory_lock(%s)", [BEAT_LOCK_KEY])


def holds_lock(conn) -> bool:
    """True while this session holds the lock (False, or an exception, once it is gone)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid = pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 1",
        [BEAT_LOCK_KEY >> 32, BEAT_LOCK_KEY & 0xFFFFFFFF]).fetchone()
    return bool(row and row[0])


def watch_lock(conn, interval: float, stop: threading.Event) -> None:
    """Exit the process at once if the lock's session is lost: another beat may already hold
    the lock, and a supervisor restarting us is the quickest way back into the queue."""
    while not stop.wait(interval):
        try:
            held = holds_lock(conn)
            problem = "the lock is no longer held"
        except Exception as exc:  # any failure means the session is gone
            held = False
            problem = f"{exc.__class__.__name__}: {exc}"
        if not held and not stop.is_set():
            logger.critical("beat: lost the beat lock's database session (%s); exiting", problem)
            logging.shutdown()
            os._exit(LOST_LOCK_EXIT_STATUS)


class Command(BaseCommand):
    help = ("Run Celery beat, holding a PostgreSQL advisory lock for its whole life so that only "
            "one beat runs at a time (a second one waits for the lock).")

    def add_arguments(self, parser):
        parser.add_argument("--loglevel", "-l", default="INFO", type=str.upper, choices=LOG_LEVELS,
                            help="Celery beat's log level (default INFO)")
        parser.add_argument("--schedule", "-s", default=None,
                            help="beat's schedule file (default: <DUBAN_DATA_DIR>/celerybeat-schedule "
                                 "if writable, else <tmp>/celerybeat-schedule)")
        parser.add_argument("--check-seconds", type=float, default=15.0,
                            help="how often the lock's session is checked while beat runs (default 15)")

    def handle(self, *args, **options):
        schedule = Path(options["schedule"]) if options["schedule"] else default_schedule_path()
        conn = lock_connection()
        stop = threading.Event()
        try:
            if not try_lock(conn):
                logger.info("beat: waiting for the beat lock (another beat is running); "
                            "advisory lock key %s", BEAT_LOCK_KEY)
                wait_for_lock(conn)
            logger.info("beat: took the beat lock (advisory lock key %s); starting Celery beat, "
                        "schedule file %s", BEAT_LOCK_KEY, schedule)
            threading.Thread(target=watch_lock, args=(conn, options["check_seconds"], stop),
                             name="beat-lock-watchdog", daemon=True).start()
            app.Beat(loglevel=options["loglevel"], schedule=str(schedule)).run()
        finally:
            stop.set()
            # Closing the session releases the lock (so does any death of this process).
            conn.close()
