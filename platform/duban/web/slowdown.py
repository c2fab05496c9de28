"""Slowing down the guessing of one user name from many addresses.

django-axes locks a (user name, client address) pair after ``AXES_FAILURE_LIMIT`` failures, so
a guesser at one address is stopped while the user, elsewhere, still logs in. A guesser with
many addresses is not stopped by that; this is what stops them: once a user name has had
``AXES_FAILURE_LIMIT`` failures (summed over every address, within
``DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES``), a login for it from an address where the user has not
logged in within ``DUBAN_LOGIN_KNOWN_ADDRESS_DAYS`` waits until a delay has passed since the
last failure: 15 seconds after the limit, doubling with each further failure, at most
``DUBAN_LOGIN_SLOWDOWN_MAX_SECONDS``. A refused attempt never reaches the password check, so it
counts as no failure; the user's right password from their own recent address always works.

The counts are django-axes' own records (``AccessAttempt`` for failures, ``AccessLog`` for
successful logins) in the schema of the host the login is tried on: one county's guessing never
slows another county's users.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from duban.core.clientip import client_ip

FIRST_DELAY_SECONDS = 15


def retry_after(request, username: str) -> datetime | None:
    """When a login for ``username`` from this request's client may be tried again, or None if
    it may be tried now."""
    if not username:
        return None
    now = timezone.now()
    known_days = settings.DUBAN_LOGIN_KNOWN_ADDRESS_DAYS
    if known_days and AccessLog.objects.filter(
            username=username, ip_address=client_ip(request),
            attempt_time__gte=now - timedelta(days=known_days)).exists():
        return None
    window = timedelta(minutes=settings.DUBAN_LOGIN_SLOWDOWN_WINDOW_MINUTES)
    recent = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - window)
    # This very address locked out by django-axes: its lockout page answers, not a wait.
    here = recent.filter(ip_address=client_ip(request)).aggregate(failures=Sum("failures_since_start"))
    if (here["failures"] or 0) >= settings.AXES_FAILURE_LIMIT:
        return None
    recent = recent.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures, last = recent["failures"] or 0, recent["last"]
    beyond = failures - settings.AXES_FAILURE_LIMIT
    if last is None or beyond < 0:
        return None
    cap = settings.DUBAN_LOGIN_SLOWDOWN_MAX_SECONDS
    delay = cap if beyond >= 20 else min(cap, FIRST_DELAY_SECONDS * 2 ** beyond)
    until = last + timedelta(seconds=delay)
    return until if until > now else None
