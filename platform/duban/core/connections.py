"""Bounding what a PostgreSQL backend holds: a connection that has served more than
``DATABASE_CONN_MAX_SCHEMAS`` distinct schemas is closed at the end of its request or task.

PostgreSQL caches the catalogue of every schema a backend has touched (tables, indexes,
functions: ≈ 212 kB per county schema measured) and never gives it back while the backend
lives. A web or worker process serves whichever county comes next, so without a bound each of
its backends grows towards "every county" (≈ 600 MB at 2,844). Closing the connection at a
boundary where nothing is in flight — after a request, after a task, between two counties of a
loop — ends that backend, and a fresh one is opened at once: after the response has gone (a WSGI
server calls ``request_finished`` once it has sent the body), so the next request does not wait
for a backend to start (docs/scaling.md has the measured cost). ``0`` switches the bound off.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

T = TypeVar("T")

#: connections closed by the bound in this process (for the benchmark and the logs)
released = 0


def limit() -> int:
    return settings.DATABASE_CONN_MAX_SCHEMAS


def release_if_spread(**_signal_kwargs) -> int:
    """Replace every connection of this thread that has visited more than the allowed number of
    schemas and holds no transaction by a fresh one (close, then connect again at once). Returns
    how many were replaced. Connected to ``request_finished`` and Celery's ``task_postrun``; loops
    over counties call it between counties (:func:`bounded`)."""
    global released
    bound = limit()
    if not bound:
        return 0
    closed = 0
    for conn in connections.all(initialized_only=True):
        seen = getattr(conn, "schemas_visited", None)
        if seen is None or len(seen) <= bound or conn.in_atomic_block:
            continue
        conn.close()
        closed += 1
        try:
            conn.ensure_connection()  # the new backend starts now, not on the next request's path
        except DatabaseError:
            pass  # the server is away: the next statement connects, or reports it, as it would have
    released += closed
    return closed


def bounded(items: Iterable[T]) -> Iterator[T]:
    """Iterate over counties (or anything handled one schema at a time), releasing the
    connection between two items once it has served too many schemas."""
    for item in items:
        yield item
        release_if_spread()
