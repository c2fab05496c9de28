"""Working days: China's official holidays and 调休 make-up workdays, plus county overrides.

The official calendar comes from the ``chinesecalendar`` package, which only knows the years
the State Council has announced. For a year it does not know, weekends are the only days off
and every answer is marked *provisional* until an admin enters that year's holidays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from plugins.pack import CalendarSpec


@functools.cache
def official_years() -> range:
    """The years the installed calendar package knows (read once per process)."""
    known = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return range(known[0], known[-1] + 1) if known else range(0)


@dataclass
class WorkCalendar:
    source: str = "chinese_calendar"  # or "weekends_only"
    overrides: dict[date, bool] = field(default_factory=dict)  # day → is a working day
    # Years whose holidays an admin has entered completely (one local correction is not enough).
    confirmed_years: frozenset[int] = frozenset()

    @classmethod
    def from_spec(cls, spec: CalendarSpec, extra: dict[date, bool] | None = None,
                  confirmed_years: set[int] | frozenset[int] = frozenset()) -> WorkCalendar:
        overrides = {o.day: o.workday for o in spec.overrides}
        overrides.update(extra or {})
        return cls(source=spec.holidays, overrides=overrides, confirmed_years=frozenset(confirmed_years))

    def knows(self, year: int) -> bool:
        """True if the official calendar covers ``year``, or an admin confirmed that its
        holidays and make-up workdays are all entered."""
        if self.source == "weekends_only":
            return True
        return year in official_years() or year in self.confirmed_years

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if self.source == "chinese_calendar" and day.year in official_years():
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> tuple[date, bool]:
        """The date ``days`` working days after ``start``, and whether it is provisional."""
        if days < 0:
            raise ValueError("days must not be negative")
        day, counted, provisional = start, 0, not self.knows(start.year)
        while counted < days:
            day += timedelta(days=1)
            provisional = provisional or not self.knows(day.year)
            if self.is_workday(day):
                counted += 1
        return day, provisional

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end ≤ start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count
