"""bench/scale.py's request path and PostgreSQL backend memory.

* :func:`backend_memory`: a server backend's memory from ``/proc/<pid>`` (PostgreSQL on this
  machine, read as root): RSS, PSS, private (clean + dirty), anonymous RSS, the server's shared
  memory it maps (RssShmem) and its own memory (RSS less RssShmem). A backend's RSS also counts
  every page of the server's one shared memory segment (``shared_buffers`` and the lock and WAL
  tables: ``shared_memory_size``) it has touched — a page it shares with every other backend, and
  which any backend that has read more than the buffer pool holds maps in full, whatever it read;
  its own memory is what it costs the server apart from that segment — the relation and catalogue
  caches that grow with every schema it visits among them.
* :func:`cache_context_bytes`: ``CacheMemoryContext`` and its children (relcache, catcache,
  index info) of the backend of a connection, from ``pg_backend_memory_contexts`` (PG ≥ 14).
* :func:`request_worker`: one process standing for a web worker with a persistent connection:
  as a WSGI server does, it calls Django's WSGI handler (the whole middleware stack,
  ``CountyMiddleware`` first) and reads the body — a request's latency, what its client waits
  for — and then closes the response, which sends ``request_finished`` (the connection bound's
  release, timed apart: the worker's time after the client has its answer). It requests
  ``/api/v1/matters/`` on every county's host, twice in a row (cold, then warm host cache), then
  once more after the full pass; reports latencies, ``SET search_path`` and tenant-lookup
  statements per request, and its backend's memory, then waits to be released so that the
  parent can see its backend in ``pg_stat_activity``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

REQUEST_PATH = "/api/v1/matters/?page_size=20"
LOOKUP_TABLE = "tenants_domain"  # CountyMiddleware.lookup_in_database's query


def backend_memory(pid: int) -> dict | None:
    """{rss, pss, private, anon, shmem, own} in kB of server process ``pid``, or None if /proc has no
    PostgreSQL process of that id (server on another machine or in another pid namespace)."""
    proc = Path(f"/proc/{pid}")
    try:
        if b"postgres" not in (proc / "cmdline").read_bytes():
            return None
        status = _kb_fields((proc / "status").read_text())
        rollup = _kb_fields((proc / "smaps_rollup").read_text())
    except OSError:
        return None
    rss = rollup.get("Rss", status.get("VmRSS", 0))
    return {"rss": rss, "pss": rollup.get("Pss", 0),
            "private": rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0),
            "anon": status.get("RssAnon", 0), "shmem": status.get("RssShmem", 0),
            "own": rss - status.get("RssShmem", 0)}


def _kb_fields(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def cache_context_bytes(cursor) -> int | None:
    """Bytes held by CacheMemoryContext and its direct children in the cursor's backend."""
    try:
        cursor.execute("SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts "
                       "WHERE name = 'CacheMemoryContext' OR parent = 'CacheMemoryContext'")
        return int(cursor.fetchone()[0])
    except Exception:  # PostgreSQL < 14 has no such view
        return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def request_worker(counties: list[tuple[str, str]], matters: int, results, release) -> None:
    """A spawned process: request every county (slug, token) as described above."""
    try:
        out = _requests(counties, matters)
    except BaseException as exc:  # reported by the parent, which fails loudly
        out = {"error": f"{exc.__class__.__name__}: {exc}"}
    results.put(out)
    release.wait(600)  # keep the connection (and its backend) until the parent has looked


def _requests(counties: list[tuple[str, str]], matters: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection
    from django.test import RequestFactory

    from duban.core import connections as bound
    from tenants import cache as tenant_cache

    # As Django's test client does: DATABASE_CONN_MAX_AGE's recycling (60 s) is not measured here
    # and would add reconnects to both passes alike.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    tenant_cache.clear()
    handler, factory = WSGIHandler(), RequestFactory()
    path, _, query = REQUEST_PATH.partition("?")
    statements: list[str] = []
    last_released = bound.released

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def get(slug: str, token: str) -> tuple[float, int, int]:
        nonlocal last_released
        statements.clear()
        opens = bound.released != last_released  # the bound replaced the backend after the last request
        first = connection.connection is None  # this worker's first request connects
        last_released = bound.released
        environ = factory.get(path, QUERY_STRING=query, HTTP_HOST=f"{slug}.{settings.DUBAN_BASE_DOMAIN}",
                              HTTP_AUTHORIZATION=f"Token {token}").environ
        status: list[str] = []
        started = time.perf_counter()
        response = handler(environ, lambda code, headers, exc_info=None: status.append(code))
        body = b"".join(response)
        elapsed = (time.perf_counter() - started) * 1000
        closing = time.perf_counter()
        response.close()  # what the WSGI server does once the body is sent: request_finished
        if bound.released != last_released:
            out["release"].append((time.perf_counter() - closing) * 1000)
        answer = json.loads(body) if status and status[0].startswith("200") else {}
        if answer.get("count") != matters:
            raise SystemExit(f"bench: GET {REQUEST_PATH} on {slug}: {status[:1]}, {body[:200]!r} "
                             f"(expected {matters} matters)")
        sets = sum(sql.lstrip().upper().startswith("SET SEARCH_PATH") for sql in statements)
        lookups = sum(LOOKUP_TABLE in sql for sql in statements)
        if opens:
            out["fresh"].append(elapsed)
        if opens or first:
            sets = min(sets, 1)  # a new connection's first request may set it twice (see RESULTS.md)
        return elapsed, sets, lookups

    out = {"pid": os.getpid(), "cold": [], "warm": [], "revisit": [], "fresh": [], "release": [],
           "max_sets": {"cold": 0, "warm": 0, "revisit": 0},
           "warm_lookups": 0, "cold_lookups": 0, "revisit_lookups": 0}
    with connection.execute_wrapper(record):
        started = time.perf_counter()
        for slug, token in counties:
            for kind in ("cold", "warm"):
                ms, sets, lookups = get(slug, token)
                out[kind].append(ms)
                out[f"{kind}_lookups"] += lookups
                out["max_sets"][kind] = max(out["max_sets"][kind], sets)
        out["pass_seconds"] = time.perf_counter() - started
        for slug, token in counties:
            ms, sets, lookups = get(slug, token)
            out["revisit"].append(ms)
            out["revisit_lookups"] += lookups
            out["max_sets"]["revisit"] = max(out["max_sets"]["revisit"], sets)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        out["backend"] = cursor.fetchone()[0]
        out["cache_bytes"] = cache_context_bytes(cursor)
    out["memory"] = backend_memory(out["backend"])
    out["all_ms"] = out["cold"] + out["warm"]
    for kind in ("cold", "warm", "revisit"):
        values = out.pop(kind)
        out[kind] = (statistics.median(values), percentile(values, 0.95))
    fresh = out.pop("fresh")
    out["reconnects"] = len(fresh)
    out["fresh"] = (statistics.median(fresh), percentile(fresh, 0.95)) if fresh else None
    release = out.pop("release")
    out["release"] = (statistics.median(release), percentile(release, 0.95)) if release else None
    out["bound"] = settings.DATABASE_CONN_MAX_SCHEMAS
    out["visited"] = len(connection.schemas_visited)
    out["cache_ttl"] = tenant_cache.ttl()
    return out
