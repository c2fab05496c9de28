"""Working days from China's official calendar, with county overrides and unknown years."""

from datetime import date

from duban.workcalendar import WorkCalendar, official_years
from plugins.manager import get_registry


def calendar():
    return WorkCalendar.from_spec(get_registry().pack("county_default").calendar)


def test_national_day_and_make_up_workday_2026():
    cal = calendar()
    assert 2026 in official_years()
    assert not cal.is_workday(date(2026, 10, 1))  # 国庆节
    assert not cal.is_workday(date(2026, 10, 7))
    # 2026: National Day holiday 1–7 Oct, with Saturday 10 Oct a make-up working day (调休).
    assert cal.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5


def test_ten_working_days_across_national_day():
    cal = calendar()
    # From Fri 25 Sep 2026: 28, 29, 30 Sep, then 8, 9, 10 (make-up Sat), 12, 13, 14, 15 Oct.
    due, provisional = cal.add_working_days(date(2026, 9, 25), 10)
    assert due == date(2026, 10, 15) and provisional is False
    assert cal.working_days_between(date(2026, 9, 25), due) == 10


def test_unknown_year_falls_back_to_weekends_and_is_provisional():
    cal = calendar()
    year = max(official_years()) + 3
    due, provisional = cal.add_working_days(date(year, 1, 5), 5)
    assert provisional is True
    assert all(cal.is_workday(date(year, 1, d)) == (date(year, 1, d).weekday() < 5) for d in range(1, 29))


def test_county_override_wins():
    day = date(2026, 11, 2)  # a Monday
    cal = WorkCalendar.from_spec(get_registry().pack("county_default").calendar, {day: False})
    assert not cal.is_workday(day)
    assert cal.add_working_days(date(2026, 10, 30), 1) == (date(2026, 11, 3), False)
