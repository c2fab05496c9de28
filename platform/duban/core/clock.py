"""The county's date. One place to ask "what day is it", so that seeds, drills and tests can
run the workflow as of another day (``as_of``) without touching how time is recorded."""

from __future__ import annotations

import contextlib
import contextvars
from datetime import date

from django.utils import timezone

_as_of: contextvars.ContextVar[date | None] = contextvars.ContextVar("duban_as_of", default=None)


def today() -> date:
    return _as_of.get() or timezone.localdate()


@contextlib.contextmanager
def as_of(day: date):
    token = _as_of.set(day)
    try:
        yield day
    finally:
        _as_of.reset(token)
