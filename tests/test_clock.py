"""The county's date comes from one place (duban.core.clock): it can be pinned for a whole run
(DUBAN_TODAY, every process) or for a block (as_of), and nothing else asks the real date."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, subprocess_env
from django.utils import timezone

from duban.core import clock

# Asking the real date anywhere but duban.core.clock is how a test starts to depend on the day
# it runs on, and how a page, a document or the sweep disagrees with the pinned day.
REAL_DATE = re.compile(r"\b(?:timezone\.local(?:date|time)\(\)|date\.today\(\)|datetime\.(?:now|today|utcnow)\()")
SOURCES = ("platform/duban", "tenants", "api", "plugins", "tests", "bench")
ALLOWED = {Path("platform/duban/core/clock.py"), Path("tests/test_clock.py")}


def test_nothing_but_the_clock_asks_the_real_date():
    offenders = []
    for root in SOURCES:
        for path in sorted((REPO / root).rglob("*.py")):
            relative = path.relative_to(REPO)
            if relative in ALLOWED or "migrations" in relative.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if REAL_DATE.search(line) and "clock: allowed" not in line:
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "ask duban.core.clock.today()/now() instead:\n" + "\n".join(offenders)


def test_the_check_finds_a_real_date_call():
    assert REAL_DATE.search("deadline = date.today() + timedelta(days=3)")
    assert REAL_DATE.search("on = timezone.localdate()")
    assert REAL_DATE.search("now = timezone.localtime()")
    assert REAL_DATE.search("stamp = datetime.now(tz)")
    assert not REAL_DATE.search("day = timezone.localdate(value)")  # converting a given instant is fine
    assert not REAL_DATE.search("on = clock.today()")


def test_as_of_moves_today_and_now_onto_the_day(settings):
    settings.DUBAN_TODAY = None
    with clock.as_of(date(2028, 2, 29)):
        assert clock.today() == date(2028, 2, 29)
        moved = clock.now()
        assert timezone.localtime(moved).date() == date(2028, 2, 29) and timezone.is_aware(moved)
        real, local = timezone.localtime(timezone.now()), timezone.localtime(moved)
        minutes = (real.hour * 60 + real.minute) - (local.hour * 60 + local.minute)
        assert minutes % 1440 <= 1  # the time of day is kept
    assert clock.pinned() is None and clock.today() == timezone.localdate()


def test_duban_today_pins_every_call_and_as_of_still_wins(settings):
    settings.DUBAN_TODAY = date(2026, 12, 31)
    assert clock.today() == date(2026, 12, 31)
    assert timezone.localtime(clock.now()).date() == date(2026, 12, 31)
    with clock.as_of(date(2026, 2, 24)):
        assert clock.today() == date(2026, 2, 24)
    assert clock.today() == date(2026, 12, 31)


@pytest.mark.today("2026-09-30")
def test_the_today_marker_pins_the_test_and_its_subprocesses():
    assert clock.today() == date(2026, 9, 30)
    env = subprocess_env()
    assert env["DUBAN_TODAY"] == "2026-09-30"
    code = "from duban.core import clock; print(clock.today().isoformat(), clock.now().date().isoformat())"
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2026-09-30", "2026-09-30"]


def test_a_domain_act_is_stamped_on_the_county_date(world):
    """An act recorded as of a day carries that day in its timestamp, not the real date."""
    from django_tenants.utils import tenant_context
    from matter_helpers import make_cast, to_state

    day = timezone.localdate(timezone.now()) - timedelta(days=100)
    with tenant_context(world.alpha):
        cast = make_cast()
        with clock.as_of(day):
            matter = to_state(cast, "in_progress")
        assert matter.assigned_on == day
        assert timezone.localtime(matter.assigned_at).date() == day
        assert timezone.localtime(matter.registered_at).date() == day


def test_timestamps_are_aware_datetimes():
    assert isinstance(clock.now(), datetime) and timezone.is_aware(clock.now())
