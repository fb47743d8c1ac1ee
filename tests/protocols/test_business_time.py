"""Business-time arithmetic: deadlines across nights, weekends, holidays and DST changes.

Hand-worked cases first, then consistency between adding and measuring, then iCalendar holiday import.
"""

from __future__ import annotations

import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from protocols.business_time import (
    ALWAYS_OPEN,
    BusinessCalendarSpec,
    business_add,
    business_seconds_between,
    holidays_from_ical,
    is_open_at,
    next_open_at,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600
WEEKDAYS_9_TO_5 = tuple((weekday, time(9), time(17)) for weekday in range(5))


def office(zone: str = "Europe/Stockholm", holidays: frozenset[date] = frozenset()) -> BusinessCalendarSpec:
    return BusinessCalendarSpec(
        time_zone=zone, always_open=False, weekly_hours=WEEKDAYS_9_TO_5, holidays=holidays
    )


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def local(moment: datetime, zone: ZoneInfo = STOCKHOLM) -> datetime:
    return moment.astimezone(zone)


# 2026-01-16 is a Friday, 2026-01-19 the Monday after.
def test_friday_afternoon_deadline_rolls_over_the_weekend() -> None:
    due_at = business_add(office(), at(STOCKHOLM, 2026, 1, 16, 16, 45), 30 * 60)

    assert local(due_at) == at(STOCKHOLM, 2026, 1, 19, 9, 15)
    assert due_at.tzinfo is UTC


def test_a_holiday_monday_pushes_the_deadline_to_tuesday() -> None:
    spec = office(holidays=frozenset({date(2026, 1, 19)}))

    due_at = business_add(spec, at(STOCKHOLM, 2026, 1, 16, 16, 45), 30 * 60)

    assert local(due_at) == at(STOCKHOLM, 2026, 1, 20, 9, 15)


@pytest.mark.parametrize(
    ("created", "due"),
    [
        ((2026, 1, 17, 11, 0), (2026, 1, 19, 10, 0)),  # Saturday morning -> Monday
        ((2026, 1, 20, 20, 0), (2026, 1, 21, 10, 0)),  # Tuesday evening -> Wednesday
        ((2026, 1, 21, 3, 0), (2026, 1, 21, 10, 0)),  # small hours -> same day
    ],
)
def test_counting_starts_at_the_next_opening(created: tuple[int, ...], due: tuple[int, ...]) -> None:
    due_at = business_add(office(), at(STOCKHOLM, *created), HOUR)

    assert local(due_at) == at(STOCKHOLM, *due)


def test_a_duration_that_runs_out_at_closing_time_ends_at_closing_time() -> None:
    due_at = business_add(office(), at(STOCKHOLM, 2026, 1, 16, 16, 0), HOUR)

    assert local(due_at) == at(STOCKHOLM, 2026, 1, 16, 17, 0)


def test_zero_seconds_gives_the_next_open_moment() -> None:
    assert local(business_add(office(), at(STOCKHOLM, 2026, 1, 16, 17, 0), 0)) == at(
        STOCKHOLM, 2026, 1, 19, 9
    )
    assert business_add(office(), at(STOCKHOLM, 2026, 1, 16, 12, 0), 0) == at(STOCKHOLM, 2026, 1, 16, 12)
    assert business_add(ALWAYS_OPEN, at(STOCKHOLM, 2026, 1, 17, 3, 0), 0) == at(STOCKHOLM, 2026, 1, 17, 3)


DST_CHANGES = [
    # zone, the day before the change, the Friday before it, the offset after it
    pytest.param(STOCKHOLM, date(2026, 3, 28), date(2026, 3, 27), timedelta(hours=2), id="stockholm-spring"),
    pytest.param(
        STOCKHOLM, date(2026, 10, 24), date(2026, 10, 23), timedelta(hours=1), id="stockholm-autumn"
    ),
    pytest.param(NEW_YORK, date(2026, 3, 7), date(2026, 3, 6), timedelta(hours=-4), id="new-york-spring"),
    pytest.param(NEW_YORK, date(2026, 10, 31), date(2026, 10, 30), timedelta(hours=-5), id="new-york-autumn"),
]


@pytest.mark.parametrize(("zone", "eve", "friday", "new_offset"), DST_CHANGES)
def test_a_round_the_clock_calendar_counts_real_hours_across_a_dst_change(
    zone: ZoneInfo, eve: date, friday: date, new_offset: timedelta
) -> None:
    spec = BusinessCalendarSpec(time_zone=zone.key, always_open=True, weekly_hours=(), holidays=frozenset())
    start = datetime.combine(eve, time(12), tzinfo=zone)

    due_at = business_add(spec, start, 24 * HOUR)

    assert due_at == start.astimezone(UTC) + timedelta(hours=24)
    assert due_at.astimezone(zone).utcoffset() == new_offset


@pytest.mark.parametrize(("zone", "eve", "friday", "new_offset"), DST_CHANGES)
def test_office_hours_across_a_dst_weekend_land_on_monday_in_the_new_offset(
    zone: ZoneInfo, eve: date, friday: date, new_offset: timedelta
) -> None:
    due_at = business_add(office(zone.key), datetime.combine(friday, time(16), tzinfo=zone), 2 * HOUR)

    monday = friday + timedelta(days=3)
    assert due_at.astimezone(zone).replace(tzinfo=None) == datetime.combine(monday, time(10))
    assert due_at.astimezone(zone).utcoffset() == new_offset


MIDNIGHT_TO_MIDNIGHT = BusinessCalendarSpec(
    time_zone="Europe/Stockholm",
    always_open=False,
    weekly_hours=tuple((weekday, time(0), time(0)) for weekday in range(7)),
    holidays=frozenset(),
)


def test_open_all_day_counts_the_lost_spring_hour_as_no_time() -> None:
    # Saturday 12:00-24:00 gives 12 hours. Sunday's clocks jump from 02:00 to 03:00, so by 13:00 only
    # 12 real hours of Sunday have passed: the remaining 12 hours end at 13:00 local, not 12:00.
    due_at = business_add(MIDNIGHT_TO_MIDNIGHT, at(STOCKHOLM, 2026, 3, 28, 12, 0), 24 * HOUR)

    assert local(due_at) == at(STOCKHOLM, 2026, 3, 29, 13, 0)


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_a_dst_change_inside_open_hours_counts_the_real_elapsed_time(day: date, hours: int) -> None:
    start = datetime.combine(day, time(0), tzinfo=STOCKHOLM)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=STOCKHOLM)

    assert business_seconds_between(MIDNIGHT_TO_MIDNIGHT, start, end) == hours * HOUR


def test_an_opening_time_inside_the_spring_gap_is_read_with_the_old_offset() -> None:
    spec = BusinessCalendarSpec(
        time_zone="Europe/Stockholm",
        always_open=False,
        weekly_hours=((6, time(2, 30), time(4, 0)),),
        holidays=frozenset(),
    )

    opens_at = next_open_at(spec, at(STOCKHOLM, 2026, 3, 29, 0, 0))

    # 02:30 does not exist that night; at the old offset (+01:00) it is 01:30 UTC, which is 03:30 local.
    assert local(opens_at) == at(STOCKHOLM, 2026, 3, 29, 3, 30)
    assert business_seconds_between(spec, at(STOCKHOLM, 2026, 3, 29, 0), at(STOCKHOLM, 2026, 3, 30)) == 1800


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(office(), id="stockholm-office"),
        pytest.param(office("America/New_York", frozenset({date(2026, 3, 9), date(2026, 11, 2)})), id="ny"),
        pytest.param(MIDNIGHT_TO_MIDNIGHT, id="all-day"),
        pytest.param(
            BusinessCalendarSpec(
                time_zone="Asia/Kolkata",
                always_open=False,
                weekly_hours=((0, time(8), time(12)), (0, time(13), time(18, 30)), (5, time(10), time(14))),
                holidays=frozenset({date(2026, 3, 16)}),
            ),
            id="split-days",
        ),
    ],
)
def test_measuring_what_was_added_gives_back_the_duration(spec: BusinessCalendarSpec) -> None:
    starts = [
        datetime(2026, 3, 6, 14, 0, tzinfo=UTC) + timedelta(hours=17 * n, minutes=13 * n) for n in range(12)
    ]
    durations = [0, 1, 59.5, HOUR, 7.25 * HOUR, 3 * 24 * HOUR, 400 * HOUR, 3000 * HOUR]
    for start in starts:
        for seconds in durations:
            due_at = business_add(spec, start, seconds)
            assert business_seconds_between(spec, start, due_at) == pytest.approx(seconds, abs=1e-6)
            # The deadline falls inside open time: the last counted microsecond was open.
            assert is_open_at(spec, due_at - timedelta(microseconds=1) if seconds else due_at)


def test_a_paused_clock_resumes_with_what_was_left() -> None:
    spec = office()
    started_at = at(STOCKHOLM, 2026, 1, 16, 15, 0)
    paused_at = at(STOCKHOLM, 2026, 1, 16, 17, 0)
    resumed_at = at(STOCKHOLM, 2026, 1, 19, 11, 0)

    used = business_seconds_between(spec, started_at, paused_at)
    due_at = business_add(spec, resumed_at, 3 * HOUR - used)

    assert used == 2 * HOUR
    assert local(due_at) == at(STOCKHOLM, 2026, 1, 19, 12, 0)


def test_a_year_of_office_hours_is_quick_and_exact() -> None:
    start = at(STOCKHOLM, 2026, 1, 5, 9, 0)  # a Monday; the year crosses both DST changes
    year_of_work = 52 * 40 * HOUR
    with_holiday = office(holidays=frozenset({date(2026, 6, 19)}))

    timings = []
    for _ in range(5):
        began = wallclock.perf_counter()
        due_at = business_add(office(), start, year_of_work)
        timings.append(wallclock.perf_counter() - began)

    assert local(due_at) == at(STOCKHOLM, 2027, 1, 1, 17, 0)
    assert local(business_add(with_holiday, start, year_of_work)) == at(STOCKHOLM, 2027, 1, 4, 17, 0)
    assert business_seconds_between(office(), start, due_at) == year_of_work
    assert min(timings) < 0.010


def test_is_open_at_treats_closing_time_and_holidays_as_closed() -> None:
    spec = office(holidays=frozenset({date(2026, 1, 19)}))

    assert is_open_at(spec, at(STOCKHOLM, 2026, 1, 16, 9, 0))
    assert is_open_at(spec, at(STOCKHOLM, 2026, 1, 16, 16, 59, 59))
    assert not is_open_at(spec, at(STOCKHOLM, 2026, 1, 16, 17, 0))
    assert not is_open_at(spec, at(STOCKHOLM, 2026, 1, 17, 12, 0))
    assert not is_open_at(spec, at(STOCKHOLM, 2026, 1, 19, 12, 0))
    assert next_open_at(spec, at(STOCKHOLM, 2026, 1, 16, 17, 0)) == at(STOCKHOLM, 2026, 1, 20, 9, 0)


def test_always_open_ignores_holidays() -> None:
    christmas = date(2026, 12, 25)
    spec = BusinessCalendarSpec(
        time_zone="Europe/Stockholm", always_open=True, weekly_hours=(), holidays=frozenset({christmas})
    )
    start = at(STOCKHOLM, 2026, 12, 24, 12, 0)

    assert business_add(spec, start, 24 * HOUR) == start + timedelta(hours=24)
    assert is_open_at(spec, at(STOCKHOLM, 2026, 12, 25, 12, 0))
    assert business_seconds_between(spec, start, start + timedelta(days=2)) == 48 * HOUR


def test_a_calendar_without_open_hours_refuses_to_count() -> None:
    closed = BusinessCalendarSpec(time_zone="UTC", always_open=False, weekly_hours=(), holidays=frozenset())
    start = datetime(2026, 1, 1, tzinfo=UTC)

    with pytest.raises(ValueError, match="no open hours"):
        business_add(closed, start, HOUR)
    with pytest.raises(ValueError, match="no open hours"):
        next_open_at(closed, start)
    assert business_seconds_between(closed, start, start + timedelta(days=30)) == 0
    assert not is_open_at(closed, start)


def test_years_of_holidays_end_the_search_instead_of_looping() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(4 * 366))

    with pytest.raises(ValueError, match="next three years"):
        business_add(office("UTC", every_day), datetime(2026, 1, 1, tzinfo=UTC), HOUR)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (((0, time(17), time(9)),), "close after they open"),
        (((7, time(9), time(17)),), "Weekday"),
    ],
)
def test_impossible_opening_hours_are_rejected(
    hours: tuple[tuple[int, time, time], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendarSpec(time_zone="UTC", always_open=False, weekly_hours=hours, holidays=frozenset())


def test_an_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        BusinessCalendarSpec(
            time_zone="Mars/Olympus", always_open=True, weekly_hours=(), holidays=frozenset()
        )


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_add(office(), datetime(2026, 1, 16, 12), HOUR)


def test_a_snapshot_survives_a_json_round_trip() -> None:
    spec = BusinessCalendarSpec(
        time_zone="Europe/Stockholm",
        always_open=False,
        weekly_hours=((0, time(9), time(12)), (0, time(13), time(0)), (5, time(10, 30), time(14, 15))),
        holidays=frozenset({date(2026, 12, 25), date(2026, 12, 24)}),
    )

    snapshot = spec.to_json()

    assert snapshot["weekly_hours"][1] == {"weekday": 0, "opens": "13:00", "closes": "00:00"}
    assert snapshot["holidays"] == ["2026-12-24", "2026-12-25"]
    assert BusinessCalendarSpec.from_json(snapshot) == spec
    written_by_hand = {**snapshot, "weekly_hours": [{"weekday": 0, "opens": "13:00", "closes": "24:00"}]}
    assert BusinessCalendarSpec.from_json(written_by_hand).weekly_hours == ((0, time(13), time(0)),)
    with pytest.raises(ValueError, match="Not a business calendar snapshot"):
        BusinessCalendarSpec.from_json({"time_zone": "UTC"})


HOLIDAYS_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Firebreak//Test//EN\r
BEGIN:VEVENT\r
UID:1\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261226\r
SUMMARY:Christmas Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2\r
DTSTART;VALUE=DATE:20260101\r
SUMMARY:New Year's\r
  Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3\r
DTSTART;VALUE=DATE:20260619\r
DTEND;VALUE=DATE:20260621\r
SUMMARY:Midsummer\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:4\r
DTSTART;TZID=Europe/Stockholm:20260430T230000\r
DTEND;TZID=Europe/Stockholm:20260501T020000\r
SUMMARY:Walpurgis night shutdown\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_holidays_come_from_all_day_events_one_entry_per_day() -> None:
    assert holidays_from_ical(HOLIDAYS_ICS) == [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 4, 30), "Walpurgis night shutdown"),
        (date(2026, 6, 19), "Midsummer"),
        (date(2026, 6, 20), "Midsummer"),
        (date(2026, 12, 25), "Christmas Day"),
    ]


def test_yearly_events_repeat_for_the_next_three_years_except_excluded_dates() -> None:
    ics = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20201224\r
DTEND;VALUE=DATE:20201226\r
RRULE:FREQ=YEARLY\r
EXDATE;VALUE=DATE:20271224\r
SUMMARY:Christmas\r
END:VEVENT\r
END:VCALENDAR\r
"""

    assert [day for day, _ in holidays_from_ical(ics, today=date(2026, 6, 1))] == [
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2028, 12, 24),
        date(2028, 12, 25),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a calendar",
        b"",
        b"\xff\xfe\x00",
        b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026zz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_a_file_that_is_not_a_calendar_is_refused_with_a_readable_message(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"^Not an iCalendar file: "):
        holidays_from_ical(data)
