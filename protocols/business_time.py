"""Business-time arithmetic: how much open time lies between two instants, and when a duration runs out.

Pure functions over a BusinessCalendarSpec, plus reading public holidays from an iCalendar file.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from dateutil.rrule import rruleset, rrulestr
from django.utils import timezone

_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(days=7)
_DAYS_INTO_WEEK = tuple(timedelta(days=n) for n in range(1, 8))
# Holidays are a finite set, so only years of them in a row can stall a search; stop rather than spin.
_GIVE_UP_AFTER_CLOSED_DAYS = 3 * 366
_RECURRENCE_HORIZON = timedelta(days=3 * 366)

# Opening hours are wall-clock times in the calendar's own zone. Each day's intervals become UTC instants
# and all counting happens on those, so a DST change inside an open interval counts the real elapsed
# seconds (a 00:00-24:00 day is 23 or 25 hours long on change days). A wall-clock time that does not
# exist (the spring-forward gap) is read with zoneinfo's fold=0 rule, i.e. with the offset in force before
# the change: 02:30 on a day that jumps from 02:00 to 03:00 becomes 03:30 after the change. A repeated
# wall-clock time (the autumn overlap) means its first occurrence. Every result is an aware UTC datetime.


@dataclass(frozen=True)
class BusinessCalendarSpec:
    time_zone: str  # IANA name, e.g. "Europe/Stockholm"
    always_open: bool  # 24/7: every second counts and holidays are ignored
    # (weekday 0=Monday..6, opens, closes); closes == time(0) means midnight at the end of that day.
    weekly_hours: tuple[tuple[int, time, time], ...]
    holidays: frozenset[date]  # whole local days without open hours

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: a folder name
            raise ValueError(f"Unknown time zone: {self.time_zone!r}") from exc
        for weekday, opens, closes in self.weekly_hours:
            if weekday not in range(7):
                raise ValueError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}.")
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("Opening hours are wall-clock times in the calendar's zone, without tzinfo.")
            if closes != _MIDNIGHT and closes <= opens:
                raise ValueError(f"Opening hours must close after they open: {opens:%H:%M}-{closes:%H:%M}.")
        # Callers may hand in lists and sets; the spec must stay hashable for the schedule cache.
        object.__setattr__(self, "weekly_hours", tuple(tuple(row) for row in self.weekly_hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    def to_json(self) -> dict[str, Any]:
        return {
            "time_zone": self.time_zone,
            "always_open": self.always_open,
            "weekly_hours": [
                {"weekday": weekday, "opens": _format_clock(opens), "closes": _format_clock(closes)}
                for weekday, opens, closes in self.weekly_hours
            ],
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BusinessCalendarSpec:
        try:
            return cls(
                time_zone=data["time_zone"],
                always_open=bool(data["always_open"]),
                weekly_hours=tuple(
                    (int(row["weekday"]), _parse_clock(row["opens"]), _parse_clock(row["closes"]))
                    for row in data["weekly_hours"]
                ),
                holidays=frozenset(date.fromisoformat(day) for day in data["holidays"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"Not a business calendar snapshot: {exc!r}") from exc


ALWAYS_OPEN = BusinessCalendarSpec(time_zone="UTC", always_open=True, weekly_hours=(), holidays=frozenset())


def business_add(spec: BusinessCalendarSpec, start: datetime, seconds: float) -> datetime:
    """The instant at which `seconds` of open time have elapsed, counting from `start`.

    Counting begins at the next opening when `start` is closed, so `seconds == 0` gives the next open
    moment at or after `start`. A duration that runs out exactly at closing time ends at closing time.
    Raises ValueError when the calendar has no open hours.
    """
    cursor = _as_utc(start, "start")
    remaining = _as_duration(seconds)
    if spec.always_open:
        return cursor + remaining
    schedule = _schedule_for(spec)
    if not schedule.open_per_week:
        raise ValueError("This business calendar has no open hours, so no time ever elapses on it.")
    first_day = cursor.astimezone(schedule.zone).date()
    day = first_day
    closed_days = 0
    try:
        while closed_days < _GIVE_UP_AFTER_CLOSED_DAYS:
            # Only strictly more than a week is skipped, so the last stretch is always walked and a
            # duration ending at closing time still lands on that closing time.
            if day > first_day and remaining > schedule.open_per_week and _is_plain_week(schedule, day):
                remaining -= schedule.open_per_week
                day += _ONE_WEEK
                closed_days = 0
                continue
            closed_days += 1
            for opens_at, closes_at in _open_spans(schedule, day):
                opens_at = max(opens_at, cursor)
                if closes_at <= opens_at:
                    continue
                if remaining <= closes_at - opens_at:
                    return opens_at + remaining
                remaining -= closes_at - opens_at
                cursor = closes_at
                closed_days = 0
            day += _ONE_DAY
    except OverflowError as exc:
        raise ValueError("That deadline lies beyond the year 9999.") from exc
    raise ValueError("This business calendar has no open hours in the next three years.")


def business_seconds_between(spec: BusinessCalendarSpec, start: datetime, end: datetime) -> float:
    """Open seconds in [start, end); 0 when end is not after start."""
    start_at = _as_utc(start, "start")
    end_at = _as_utc(end, "end")
    if end_at <= start_at:
        return 0.0
    if spec.always_open:
        return (end_at - start_at).total_seconds()
    schedule = _schedule_for(spec)
    if not schedule.open_per_week:
        return 0.0
    total = timedelta(0)
    cursor = start_at
    first_day = start_at.astimezone(schedule.zone).date()
    last_day = end_at.astimezone(schedule.zone).date()
    day = first_day
    while day <= last_day:
        # A week strictly after the first day and ending before the last one lies wholly inside the span.
        if first_day < day and day + _ONE_WEEK <= last_day and _is_plain_week(schedule, day):
            total += schedule.open_per_week
            day += _ONE_WEEK
            continue
        for opens_at, closes_at in _open_spans(schedule, day):
            # The cursor keeps intervals that overlap after gap normalisation from being counted twice.
            opens_at = max(opens_at, cursor)
            closes_at = min(closes_at, end_at)
            if closes_at > opens_at:
                total += closes_at - opens_at
                cursor = closes_at
        day += _ONE_DAY
    return total.total_seconds()


def next_open_at(spec: BusinessCalendarSpec, moment: datetime) -> datetime:
    """`moment` itself (in UTC) when the calendar is open then, else its next opening."""
    return business_add(spec, moment, 0)


def is_open_at(spec: BusinessCalendarSpec, moment: datetime) -> bool:
    moment_at = _as_utc(moment, "moment")
    if spec.always_open:
        return True
    schedule = _schedule_for(spec)
    day = moment_at.astimezone(schedule.zone).date()
    return any(opens_at <= moment_at < closes_at for opens_at, closes_at in _open_spans(schedule, day))


def holidays_from_ical(data: bytes, *, today: date | None = None) -> list[tuple[date, str]]:
    """Every (day, summary) the calendar's events cover, sorted and without duplicates.

    An all-day event covers each day from DTSTART up to its exclusive DTEND (or DURATION; one day when
    neither is given); a timed event covers the date it starts on, in its own zone. A recurring event
    (RRULE, minus EXDATE) gives its occurrences from `today` for about three years; RDATE is ignored.
    Events without DTSTART name no day and are skipped.
    """
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise ValueError(f"Not an iCalendar file: {exc}") from exc
    if calendar.name != "VCALENDAR":
        raise ValueError("Not an iCalendar file: it does not start with BEGIN:VCALENDAR.")
    since = today or timezone.localdate()
    found: set[tuple[date, str]] = set()
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", ""))
        _require_readable(event, summary)
        start = event.get("DTSTART")
        if start is None:
            continue
        length = _length_in_days(event, start.dt)
        for occurrence in _occurrences(event, start.dt, since, summary):
            first = occurrence.date() if isinstance(occurrence, datetime) else occurrence
            found.update((first + timedelta(days=offset), summary) for offset in range(length))
    return sorted(found)


@dataclass(frozen=True)
class _Schedule:
    zone: ZoneInfo
    # Per weekday: merged, sorted (opens, closes, closes_next_day) intervals.
    hours: tuple[tuple[tuple[time, time, bool], ...], ...]
    open_per_week: timedelta  # wall-clock open time of a week without holidays or offset changes
    holidays: frozenset[date]
    sorted_holidays: tuple[date, ...]


@lru_cache(maxsize=256)
def _schedule_for(spec: BusinessCalendarSpec) -> _Schedule:
    hours = []
    open_per_week = timedelta(0)
    for weekday in range(7):
        spans = sorted(
            (_since_midnight(opens), _ONE_DAY if closes == _MIDNIGHT else _since_midnight(closes))
            for day, opens, closes in spec.weekly_hours
            if day == weekday
        )
        # Overlapping or touching intervals are merged so the weekly total counts each second once.
        merged: list[tuple[timedelta, timedelta]] = []
        for opens_after, closes_after in spans:
            if merged and opens_after <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes_after))
            else:
                merged.append((opens_after, closes_after))
        open_per_week += sum(
            (closes_after - opens_after for opens_after, closes_after in merged), timedelta(0)
        )
        hours.append(
            tuple(
                (_clock_at(opens_after), _clock_at(closes_after), closes_after == _ONE_DAY)
                for opens_after, closes_after in merged
            )
        )
    return _Schedule(
        zone=ZoneInfo(spec.time_zone),
        hours=tuple(hours),
        open_per_week=open_per_week,
        holidays=spec.holidays,
        sorted_holidays=tuple(sorted(spec.holidays)),
    )


def _open_spans(schedule: _Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The day's open intervals as UTC instants; combine() leaves fold=0, which resolves gaps and overlaps."""
    if day in schedule.holidays:
        return []
    zone = schedule.zone
    return [
        (
            datetime.combine(day, opens, tzinfo=zone).astimezone(UTC),
            datetime.combine(day + _ONE_DAY if closes_next_day else day, closes, tzinfo=zone).astimezone(UTC),
        )
        for opens, closes, closes_next_day in schedule.hours[day.weekday()]
    ]


def _is_plain_week(schedule: _Schedule, first_day: date) -> bool:
    """Whether the week from `first_day` holds exactly `open_per_week` of real open time.

    True when it has no holiday and the UTC offset is the same at each of its local midnights; an
    interval's real length differs from its wall-clock length only if the offset changes inside it, and
    no zone changes its offset twice within one day.
    """
    after_week = first_day + _ONE_WEEK
    index = bisect_left(schedule.sorted_holidays, first_day)
    if index < len(schedule.sorted_holidays) and schedule.sorted_holidays[index] < after_week:
        return False
    midnight = datetime.combine(first_day, _MIDNIGHT)
    offset = schedule.zone.utcoffset(midnight)
    return all(schedule.zone.utcoffset(midnight + days) == offset for days in _DAYS_INTO_WEEK)


def _require_readable(event: icalendar.Component, summary: str) -> None:
    # icalendar keeps parsing past a broken value and records it on the component instead.
    for name, message in event.errors:
        if name in {"DTSTART", "DTEND", "DURATION", "RRULE", "EXDATE"}:
            label = summary or "without a summary"
            raise ValueError(f"Not an iCalendar file: an event ({label}) has an unreadable {name}: {message}")


def _length_in_days(event: icalendar.Component, start: date) -> int:
    if isinstance(start, datetime):
        return 1
    end = event.get("DTEND")
    duration = event.get("DURATION")
    if end is not None:
        days = (end.dt - start).days if not isinstance(end.dt, datetime) else 1
    elif duration is not None:
        days = duration.dt.days
    else:
        days = 1
    return max(days, 1)


def _occurrences(event: icalendar.Component, start: date, since: date, summary: str) -> list[date]:
    rules = event.get("RRULE")
    if rules is None:
        return [start]
    first = start if isinstance(start, datetime) else datetime.combine(start, _MIDNIGHT)
    exdates = event.get("EXDATE", [])
    recurrence = rruleset()
    try:
        for rule in rules if isinstance(rules, list) else [rules]:
            recurrence.rrule(rrulestr(rule.to_ical().decode(), dtstart=first))
        for listed in exdates if isinstance(exdates, list) else [exdates]:
            for excluded in listed.dts:
                skipped = excluded.dt
                recurrence.exdate(
                    skipped if isinstance(skipped, datetime) else datetime.combine(skipped, _MIDNIGHT)
                )
        window_start = datetime.combine(since, _MIDNIGHT, tzinfo=first.tzinfo)
        return list(recurrence.between(window_start, window_start + _RECURRENCE_HORIZON, inc=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Cannot read the repeat rule of the event {summary!r}: {exc}") from exc


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime.")
    return moment.astimezone(UTC)


def _as_duration(seconds: float) -> timedelta:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"A business duration must be a finite number of seconds >= 0, not {seconds!r}.")
    try:
        return timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"A business duration of {seconds!r} seconds is too long.") from exc


def _since_midnight(clock: time) -> timedelta:
    return timedelta(
        hours=clock.hour, minutes=clock.minute, seconds=clock.second, microseconds=clock.microsecond
    )


def _clock_at(after_midnight: timedelta) -> time:
    return _MIDNIGHT if after_midnight == _ONE_DAY else (datetime.min + after_midnight).time()


def _format_clock(clock: time) -> str:
    return clock.isoformat(timespec="minutes" if not (clock.second or clock.microsecond) else "auto")


def _parse_clock(text: str) -> time:
    # People writing snapshots by hand say 24:00 for the end of the day; the spec spells it time(0).
    return _MIDNIGHT if text == "24:00" else time.fromisoformat(text)
