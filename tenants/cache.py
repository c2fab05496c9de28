"""Per-process cache of the host → county lookup that ``CountyMiddleware`` makes on every request.

A warm lookup makes **no database query**: each process keeps a dict ``hostname → (County or
None, expiry)``, valid for one generation (below), and hands out a copy of the cached row (a view
that changes ``request.tenant`` changes only its own request's object).

Invalidation, in three layers:

1. **Signals, in this process.** ``post_save``/``post_delete`` of ``County`` and ``Domain``
   (receivers in ``tenants/models.py``, so that every process that loads Django has them: web,
   worker, CLI) empty this process's table. Inside a transaction they do so when it commits
   (``on_commit``), and until then the thread that made the change bypasses the cache, so it sees
   its own uncommitted change and nothing uncommitted is ever cached; when that transaction ends
   without committing (a rollback, the end of a test) the table is emptied too.
2. **A generation token in Django's cache** (key ``GENERATION_KEY`` of ``CACHES["default"]``),
   when that cache is shared between processes (Redis, Memcached, file, database backends).
   The same signals write a new random token; every lookup reads it and drops its table when it
   changed. The token read before a database load is stored with the entry, so a load that raced
   a change is dropped at the next request. This is what invalidates the *other* processes.
   With a per-process backend (``LocMemCache``, ``DummyCache``) the token could only repeat what
   the signals already did in this process, so it is neither written nor read.
3. **A time to live.** Today ``CACHES`` is ``LocMemCache`` (per process), so a change made in
   another process (another gunicorn worker, the ``duban county suspend`` CLI) is seen there when
   the entry expires: after ``LOCAL_TTL`` (5 s) at most. With a shared backend the TTL is
   ``SHARED_TTL`` (60 s), a safety net for writes that send no signal (``QuerySet.update()``, raw
   SQL, a restored dump). Unknown hosts are cached for ``NEGATIVE_TTL`` (2 s) only, and at most
   ``MAX_NEGATIVE`` of them.

We chose Django's cache over a Redis key of our own so that nothing new needs configuring: the
day ``CACHES`` points at Redis, cross-process invalidation is immediate with no change here (one
cache round trip per request, no SQL). If the shared backend fails (Redis down), lookups go to
the database every time — correct, slower — and a warning is logged.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.db.models.base import ModelState

logger = logging.getLogger(__name__)

GENERATION_KEY = "duban:public:tenant-lookup-generation"
CACHE_ALIAS = "default"
LOCAL_TTL = 5.0       # seconds, when the cache backend is per process (LocMemCache, DummyCache)
SHARED_TTL = 60.0     # seconds, when the generation token is shared between processes
NEGATIVE_TTL = 2.0    # seconds an unknown host is remembered
MAX_NEGATIVE = 1000   # unknown hosts remembered at most (Host headers are attacker-chosen)

_now = time.monotonic  # tests replace it to move time forward


@dataclass(frozen=True)
class _Entry:
    county: object | None
    expires: float


class _Table:
    """The entries valid for one generation; replaced whole, never emptied in place."""

    __slots__ = ("generation", "entries", "negatives")

    def __init__(self, generation):
        self.generation = generation
        self.entries: dict[str, _Entry] = {}
        self.negatives = 0


_STALE = object()     # a generation no token equals: the next lookup starts a new table
_UNAVAILABLE = object()
_LOCAL = "per-process"  # the generation when the cache backend is per process
_PER_PROCESS_BACKENDS = (LocMemCache, DummyCache)
_table = _Table(_STALE)
_lock = threading.Lock()
_thread = threading.local()  # .dirty: the outermost atomic block that changed a tenant row


def _token_store():
    """The cache backend that carries the generation token to other processes, or None when
    Django's cache is per process."""
    backend = caches[CACHE_ALIAS]
    return None if isinstance(backend, _PER_PROCESS_BACKENDS) else backend


def is_shared() -> bool:
    """Whether a change here reaches other processes at their next request."""
    return _token_store() is not None


def ttl(store=_STALE) -> float:
    if store is _STALE:
        store = _token_store()
    return LOCAL_TTL if store is None else SHARED_TTL


def _generation(store):
    if store is None:
        return _LOCAL
    try:
        token = store.get(GENERATION_KEY)
        if token is None:
            store.add(GENERATION_KEY, uuid.uuid4().hex, None)
            token = store.get(GENERATION_KEY)
        return token
    except Exception:  # a broken cache must not take the site down
        _warn("tenant lookup cache: the cache backend failed; looking hosts up in the database")
        return _UNAVAILABLE


_last_warning = [0.0]


def _warn(message: str, *args) -> None:
    """Log a cache failure with its traceback, at most once a minute per process."""
    now = time.monotonic()
    if now - _last_warning[0] >= 60 or not _last_warning[0]:
        _last_warning[0] = now
        logger.warning(message, *args, exc_info=True)


def _clone(county):
    """A copy of a model instance as ``copy.copy`` makes one (``Model.__getstate__``: own
    ``__dict__``, own ``_state`` and ``fields_cache``), in a fraction of its time."""
    clone = county.__class__.__new__(county.__class__)
    values = county.__dict__.copy()
    state = ModelState()
    state.__dict__.update(county._state.__dict__)
    state.fields_cache = county._state.fields_cache.copy()
    values["_state"] = state
    clone.__dict__ = values
    return clone


def _in_dirty_transaction() -> bool:
    """True while this thread's transaction holds an uncommitted change to a county or domain.

    When that transaction has ended (committed or rolled back), empties the table."""
    dirty = getattr(_thread, "dirty", None)
    if dirty is None:
        return False
    blocks = connection.atomic_blocks
    if blocks and blocks[0] is dirty:
        return True
    _thread.dirty = None
    _drop_local()
    return False


def lookup(hostname: str, load: Callable[[str], object | None]):
    """The county answering on ``hostname`` (or None), from the cache or from ``load(hostname)``."""
    global _table
    if _in_dirty_transaction():
        return load(hostname)
    store = _token_store()
    generation = _generation(store)
    if generation is _UNAVAILABLE:
        return load(hostname)
    table = _table
    if table.generation != generation:
        with _lock:
            if _table is table:
                _table = _Table(generation)
            table = _table
        if table.generation != generation:  # changed again meanwhile: do not cache this one
            return load(hostname)
    entry = table.entries.get(hostname)
    now = _now()
    if entry is not None and entry.expires > now:
        return _clone(entry.county) if entry.county is not None else None

    county = load(hostname)
    if county is None:
        with _lock:
            if table.negatives < MAX_NEGATIVE:
                table.negatives += entry is None
                table.entries[hostname] = _Entry(None, now + NEGATIVE_TTL)
        return None
    with _lock:
        # A change that arrived during the load replaced the table: this one is dropped with it.
        table.entries[hostname] = _Entry(_clone(county), now + ttl(store))
    return county


def _drop_local() -> None:
    global _table
    _table = _Table(_STALE)


def _bump() -> None:
    _drop_local()
    store = _token_store()
    if store is None:
        return
    try:
        store.set(GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception:
        _warn("tenant lookup cache: could not publish the invalidation; other processes see the "
              "change within %.0f s", SHARED_TTL)


def invalidate(using: str | None = None) -> None:
    """A county or domain changed: forget every cached lookup, here and (shared cache) elsewhere.

    Called by the model signals; inside a transaction, takes effect when it commits."""
    conn = transaction.get_connection(using)
    if conn.in_atomic_block:
        _thread.dirty = conn.atomic_blocks[0]
        transaction.on_commit(_bump, using=using, robust=True)
    else:
        _bump()


def clear() -> None:
    """Empty this process's table (tests, benchmarks)."""
    _thread.dirty = None
    _drop_local()


def stats() -> dict:
    """What this process holds now (for diagnostics)."""
    table = _table
    now = _now()
    live = [e for e in table.entries.values() if e.expires > now]
    store = _token_store()
    return {"entries": len(live), "unknown_hosts": sum(e.county is None for e in live),
            "shared": store is not None, "ttl": ttl(store)}
