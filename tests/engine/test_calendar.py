"""The SLA clock: ISO durations counted in business hours, over weekends, holidays, make-up
working days and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.core.calendar import (
    BusinessHours,
    Calendar,
    Duration,
    add_business_time,
    parse_duration,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessHours.parse(range(5), "09:00", "18:00")  # Mon-Fri 09:00-18:00


def local(*args: int, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def in_office(start: datetime, duration: str, holidays: tuple[date, ...] = ()) -> datetime:
    due = add_business_time(start, duration, OFFICE, holidays, "Asia/Shanghai")
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)  # answers are UTC
    return due.astimezone(SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3D", Duration(days=3)),
        ("PT4H", Duration(seconds=4 * 3600)),
        ("P1DT2H30M", Duration(days=1, seconds=2 * 3600 + 30 * 60)),
        ("PT90S", Duration(seconds=90)),
        ("P2W", Duration(weeks=2)),
        (" p3d ", Duration(days=3)),
    ],
)
def test_iso_durations(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("3 days", "not an ISO 8601 duration"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("P1.5D", "not an ISO 8601 duration"),
        ("P1M", "months and years"),
        ("P1Y", "months and years"),
        ("P0D", "no time at all"),
    ],
)
def test_bad_durations_are_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_duration(text)


def test_without_business_hours_the_clock_runs_day_and_night() -> None:
    start = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # a Friday
    assert add_business_time(start, "P3D") == start + timedelta(days=3)
    assert add_business_time(start, "PT4H") == start + timedelta(hours=4)
    assert add_business_time(start, timedelta(days=1, hours=2)) == start + timedelta(hours=26)
    assert add_business_time(start, "P1W") == start + timedelta(days=7)


def test_business_days_skip_the_weekend() -> None:
    # Monday 10:00 + 3 working days = Thursday 10:00.
    assert in_office(local(2026, 3, 2, 10, 0), "P3D") == local(2026, 3, 5, 10, 0)
    # Friday 17:00 + 3 working days = Wednesday 17:00 (the weekend does not count).
    assert in_office(local(2026, 3, 6, 17, 0), "P3D") == local(2026, 3, 11, 17, 0)
    # One working week is five working days.
    assert in_office(local(2026, 3, 4, 11, 0), "P1W") == local(2026, 3, 11, 11, 0)


def test_business_hours_roll_over_evenings_and_weekends() -> None:
    # Friday 17:00 + 4 working hours: one hour on Friday, three on Monday.
    assert in_office(local(2026, 3, 6, 17, 0), "PT4H") == local(2026, 3, 9, 12, 0)
    # Ready on Saturday: the clock starts on Monday at 09:00.
    assert in_office(local(2026, 3, 7, 12, 0), "PT1H") == local(2026, 3, 9, 10, 0)
    # Ready at night: from the next morning.
    assert in_office(local(2026, 3, 3, 22, 30), "PT30M") == local(2026, 3, 4, 9, 30)
    # Ready before opening: from opening.
    assert in_office(local(2026, 3, 3, 7, 0), "PT2H") == local(2026, 3, 3, 11, 0)
    # Exactly a working day's worth ends at closing time, not the next morning.
    assert in_office(local(2026, 3, 3, 9, 0), "PT9H") == local(2026, 3, 3, 18, 0)


def test_holidays_are_skipped() -> None:
    national_day = tuple(date(2026, 10, d) for d in range(1, 8))  # Thursday 1 to Wednesday 7
    # Wednesday 30 September 15:00 + 1 working day: the whole golden week is off.
    assert in_office(local(2026, 9, 30, 15, 0), "P1D", national_day) == local(2026, 10, 8, 15, 0)
    # A holiday Monday pushes a Friday SLA by one day.
    assert in_office(local(2026, 3, 6, 17, 0), "P3D", (date(2026, 3, 9),)) == local(
        2026, 3, 12, 17, 0
    )


def test_make_up_working_days_count() -> None:
    # Sunday 27 September 2026 is worked (调休): Friday 17:00 + 2 working hours ends on it.
    calendar = Calendar(OFFICE, workdays=frozenset({date(2026, 9, 27)}), tz="Asia/Shanghai")
    due = calendar.add(local(2026, 9, 25, 17, 0), "PT2H")
    assert due.astimezone(SHANGHAI) == local(2026, 9, 27, 10, 0)


def test_the_time_zone_decides_what_a_working_hour_is() -> None:
    start = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)  # Friday 09:00 in Shanghai, 01:00 in London
    in_shanghai = add_business_time(start, "PT4H", OFFICE, (), "Asia/Shanghai")
    in_london = add_business_time(start, "PT4H", OFFICE, (), "Europe/London")
    assert in_shanghai == datetime(2026, 3, 6, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai
    assert in_london == datetime(2026, 3, 6, 13, 0, tzinfo=UTC)  # 09:00 + 4 h in London
    # An aware start in any zone gives the same answer.
    assert add_business_time(start.astimezone(SHANGHAI), "PT4H", OFFICE, (), "Europe/London") == (
        in_london
    )


def test_opening_time_is_local_across_a_daylight_saving_change() -> None:
    # London moves to summer time on Sunday 29 March 2026: Friday's 17:00 is 17:00 UTC,
    # Monday's 09:00 is 08:00 UTC.
    london = ZoneInfo("Europe/London")
    due = add_business_time(
        local(2026, 3, 27, 17, 0, tz=london), "PT2H", OFFICE, (), "Europe/London"
    )
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # 10:00 summer time
    assert due.astimezone(london).hour == 10


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        BusinessHours(frozenset())
    with pytest.raises(ValueError, match="open before they close"):
        BusinessHours.parse(range(5), "18:00", "09:00")
    with pytest.raises(ValueError, match="time of day"):
        BusinessHours.parse(range(5), "9am", "18:00")
    with pytest.raises(ValueError, match="time zone"):
        Calendar(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        Calendar().add(datetime(2026, 3, 6, 9, 0), "PT1H")
