"""The county an action runs in, and what is its own: its rule pack, its working calendar,
its date and its sequences.

Every request on a county's host and every county task runs with the connection set to the
county's schema (django-tenants); these helpers read the county from there, so no area has to
import another to learn where it is.
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from duban.core import clock
from duban.core.models import CalendarYear, Counter, WorkdayOverride
from duban.workcalendar import WorkCalendar
from plugins.manager import pack_for_county


def county():
    """The county (``tenants.County``) of the current connection."""
    tenant = getattr(connection, "tenant", None)
    if getattr(tenant, "pk", None) is None:
        raise RuntimeError("county actions run inside a county (tenant_context)")
    return tenant


def county_pack():
    """The county's rule pack: every number and list of its regulation."""
    return pack_for_county(county())


def county_calendar() -> WorkCalendar:
    """The county's working calendar: the official one, the pack's rules and the county's own
    corrections and confirmed years."""
    extra = dict(WorkdayOverride.objects.values_list("day", "workday"))
    confirmed = set(CalendarYear.objects.values_list("year", flat=True))
    return WorkCalendar.from_spec(county_pack().calendar, extra, confirmed)


def today() -> date:
    """The county's date (``duban.core.clock``: Asia/Shanghai, or DUBAN_TODAY when pinned)."""
    return clock.today()


def next_value(key: str) -> int:
    """The next value of the county's sequence ``key`` (register numbers, notice numbers),
    taken under a row lock: call inside the transaction that uses it, so a rollback gives the
    number back."""
    counter, _ = Counter.objects.select_for_update().get_or_create(key=key)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value
