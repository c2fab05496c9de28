"""Reaching a person on their phone: their quiet hours, and the short link a notice carries.

Quiet hours are the person's (``ReachSettings``; no row: 22:00–07:00), in county time
(``TIME_ZONE``, Asia/Shanghai), and apply to the channels that buzz a phone (``quiet_hours = True``:
SMS, WeCom, DingTalk), not to the inbox, e-mail or the group robots. A delivery that falls in them
waits for their end (``next_attempt_at``); an urgent notice (``Notification.urgent``: the last tier
of the ladder, 责任追究) does not wait. A period whose start is after its end runs over midnight.

The short link is ``<county's address>/m/<code>``: 12 characters from ``secrets.token_urlsafe``
(72 random bits), one per notification, valid ``DUBAN_PHONE_LINK_DAYS`` days (30 by default).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from duban.core.county import county
from duban.notifications.models import Notification, PhoneLink, ReachSettings, default_quiet_end, default_quiet_start
from tenants.provisioning import county_url

CODE_BYTES = 9  # 12 characters of token_urlsafe


# --- quiet hours -------------------------------------------------------------------------------------
def settings_of(user) -> ReachSettings:
    """The person's settings, or (unsaved) the defaults."""
    found = ReachSettings.objects.filter(user=user).first()
    return found if found is not None else ReachSettings(user=user)


def quiet_hours_of(users: Iterable) -> dict[int, tuple[time, time] | None]:
    """user id → (start, end) of their quiet hours, or None when they turned them off."""
    ids = [user.pk for user in users]
    stored = {row.user_id: row for row in ReachSettings.objects.filter(user_id__in=ids)}
    out: dict[int, tuple[time, time] | None] = {}
    for pk in ids:
        row = stored.get(pk)
        if row is None:
            out[pk] = (default_quiet_start(), default_quiet_end())
        else:
            out[pk] = (row.quiet_start, row.quiet_end) if row.quiet_enabled else None
    return out


def quiet_end(period: tuple[time, time] | None, at: datetime) -> datetime | None:
    """When the quiet period that ``at`` falls in ends (an aware instant), or None if ``at`` is not
    in one. ``period`` is (start, end) in county time; start after end: over midnight."""
    if period is None or period[0] == period[1]:
        return None
    start, end = period
    zone = timezone.get_default_timezone()  # county time (TIME_ZONE)
    local = timezone.localtime(at, zone)
    moment, day = local.time(), local.date()
    if start < end:  # e.g. 12:00–14:00
        ends_on = day if start <= moment < end else None
    elif moment >= start:  # 22:00 onwards: ends tomorrow morning
        ends_on = day + timedelta(days=1)
    else:  # before 07:00: ends this morning
        ends_on = day if moment < end else None
    if ends_on is None:
        return None
    return timezone.make_aware(datetime.combine(ends_on, end), zone)


def keeps_quiet_hours(channel) -> bool:
    return bool(getattr(channel, "quiet_hours", False))


def quiet_until(period: tuple[time, time] | None, channel, at: datetime) -> datetime | None:
    """When a delivery on ``channel`` due at ``at`` may go, if the person's quiet hours hold it."""
    if not keeps_quiet_hours(channel):
        return None
    return quiet_end(period, at)


def quiet_until_for(user, channel, at: datetime) -> datetime | None:
    if not keeps_quiet_hours(channel):
        return None
    return quiet_end(quiet_hours_of([user])[user.pk], at)


# --- the short link --------------------------------------------------------------------------------
def carries_link(channel) -> bool:
    return bool(getattr(channel, "carries_link", False))


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def make_link(note: Notification) -> PhoneLink:
    """The notification's link, made now if it has none (valid ``DUBAN_PHONE_LINK_DAYS`` days)."""
    existing = PhoneLink.objects.filter(notification=note).first()
    if existing is not None:
        return existing
    expires = timezone.now() + timedelta(days=settings.DUBAN_PHONE_LINK_DAYS)
    for _attempt in range(5):  # a code taken already: another one (72 random bits: practically never)
        try:
            with transaction.atomic():
                return PhoneLink.objects.create(notification=note, code=new_code(), expires_at=expires)
        except IntegrityError:
            existing = PhoneLink.objects.filter(notification=note).first()
            if existing is not None:  # another worker made it meanwhile
                return existing
    raise RuntimeError("no free phone link code after 5 tries")


def link_url(link: PhoneLink) -> str:
    """The link as the person reads it: ``https://<county host>/m/<code>``."""
    return f"{county_url(county()).rstrip('/')}/m/{link.code}"


def link_for(note: Notification) -> str:
    return link_url(make_link(note))


def open_link(code: str) -> PhoneLink | None:
    """The county's link with this code (None: no such code here — on another county's host too)."""
    if not code or len(code) > 16:
        return None
    return PhoneLink.objects.select_related("notification").filter(code=code).first()


def expired(link: PhoneLink) -> bool:
    return link.expires_at <= timezone.now()
