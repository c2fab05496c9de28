"""The county's date. One place to ask "what day is it" and "when, on that day".

Everything that decides by the day (deadlines, the sweep, periods, documents' dates) asks
:func:`today`; the time of a domain act (a matter assigned, a step recorded, a circular
published) is :func:`now`. Two things can move the day away from the real one:

- ``as_of(day)``: a block of code runs as of another day (seeds, the ``--on`` options, tests);
- ``settings.DUBAN_TODAY``: every process of a test run or a demo runs on one pinned day
  (``DUBAN_TODAY=2026-12-31 make test``), so that the suite can be run on the days that are
  hard for this domain. Production refuses the setting.

Machine times that are not acts of the county (outbox retries, beat slots, caches, sessions,
lockouts, snapshot ages) keep ``django.utils.timezone.now()``.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

_as_of: contextvars.ContextVar[date | None] = contextvars.ContextVar("duban_as_of", default=None)


def pinned() -> date | None:
    """The day set by ``as_of`` or by ``DUBAN_TODAY``, or None when the real date applies."""
    return _as_of.get() or getattr(settings, "DUBAN_TODAY", None)


def today() -> date:
    return pinned() or timezone.localdate()


def now() -> datetime:
    """The current instant, moved onto the pinned day (keeping the time of day) if one is set."""
    real = timezone.now()
    day = pinned()
    if day is None:
        return real
    return datetime.combine(day, timezone.localtime(real).timetz())


@contextlib.contextmanager
def as_of(day: date):
    token = _as_of.set(day)
    try:
        yield day
    finally:
        _as_of.reset(token)
