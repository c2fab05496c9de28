"""Shared scaffolding of the benchmarks: a throw-away database, Django set-up, statistics.

Benchmarks print ratios against a baseline measured in the same run; they never assert on
wall-clock time. Run them through `make bench-*` (which supplies the embedded PostgreSQL when
DATABASE_URL is unset) or with DATABASE_URL and CELERY_BROKER_URL set.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "platform"))
sys.path.insert(0, str(REPO))


@contextlib.contextmanager
def bench_database(prefix: str = "duban_bench"):
    """Create a fresh database next to DATABASE_URL's, point Django at it, drop it afterwards."""
    import psycopg

    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("bench: DATABASE_URL is not set (use `make bench-…`, which starts the embedded one)")
    os.environ.setdefault("CELERY_BROKER_URL", "filesystem://")  # benches send no messages
    parts = urlsplit(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ.setdefault("DUBAN_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings.test")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate_schemas", interactive=False, verbosity=0)
        yield name
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(_conninfo(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _conninfo(url: str) -> str:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    bits = {"host": cfg.get("HOST"), "port": cfg.get("PORT"), "user": cfg.get("USER"),
            "password": cfg.get("PASSWORD"), "dbname": cfg.get("NAME")}
    return " ".join(f"{k}={v}" for k, v in bits.items() if v)


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    import platform

    return f"{platform.node()} · {platform.machine()} · {os.cpu_count()} CPU · Python {platform.python_version()}"
