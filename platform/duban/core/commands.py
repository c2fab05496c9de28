"""What the management commands share: an action's errors as clear CLI messages."""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from django.core.management.base import CommandError

from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound


@contextmanager
def action_errors():
    """Turn the action functions' errors into ``CommandError`` naming the problem: bad input
    (``field: message``), a role that may not, a stale version, something missing."""
    try:
        yield
    except Invalid as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    except NotAllowed as exc:
        raise CommandError(f"not allowed: {exc}") from None
    except (Conflict, NotFound) as exc:
        raise CommandError(str(exc)) from None


# The assessment years every entry point accepts: the API's ``year`` fields and filters, the web
# pages' ``?year=`` and the CLI's ``--year`` use these bounds, so they refuse the same values.
YEAR_MIN, YEAR_MAX = 2000, 2100


def year_option(value: str) -> int:
    """argparse ``type`` for ``--year``: a year in [YEAR_MIN, YEAR_MAX], as the API's ``year`` field."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"year: {value!r} is not a year") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise argparse.ArgumentTypeError(f"year: must be between {YEAR_MIN} and {YEAR_MAX}, got {year}")
    return year
