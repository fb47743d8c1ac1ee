"""What makes an SLA policy, a business calendar or an escalation chain wrong, field by field. The
services refuse to save it and the admin's forms show it: both ask the same questions here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Model, Q

from protocols.models import EscalationAction, SlaPolicy, Weekday

MIDNIGHT = time(0)
# A step's firings are numbered step index * 1000 + repetition (incidents.services.clocks), so a step
# may repeat at most 999 times before its numbers would run into the next step's.
MAX_STEP_REPEATS = 999
TARGET_FIELDS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
WEEKDAY_NAMES = dict(Weekday.choices)


@dataclass(frozen=True)
class OpeningSpan:
    weekday: int  # 0 = Monday
    opens_at: time
    closes_at: time  # 00:00 = midnight at the end of the day


@dataclass(frozen=True)
class HolidayDay:
    date: date
    name: str = ""


@dataclass(frozen=True)
class StepSpec:
    action: str
    trigger: str = "breach"
    delay_minutes: int = 0
    role: str = ""
    user: Any | None = None
    repeat_every_minutes: int | None = None
    repeat_times: int = 0


def time_zone_problem(name: str) -> str | None:
    """None for a real IANA zone name; otherwise what is wrong with it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
        return f"Unknown time zone {name!r}: use an IANA name such as Europe/Stockholm."
    return None


def _since_midnight(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


def _closes_after(span: OpeningSpan) -> timedelta:
    """How long after midnight the interval closes; closing at 00:00 is the end of the day."""
    return timedelta(days=1) if span.closes_at == MIDNIGHT else _since_midnight(span.closes_at)


def _hours_label(span: OpeningSpan) -> str:
    return f"{WEEKDAY_NAMES.get(span.weekday, span.weekday)} {span.opens_at:%H:%M}-{span.closes_at:%H:%M}"


def opening_hours_problems(spans: Sequence[OpeningSpan], *, always_open: bool) -> list[str]:
    """Intervals that close before they open or overlap another of the same day; none at all on a
    calendar that is not 24/7."""
    problems: list[str] = []
    by_day: dict[int, list[OpeningSpan]] = {}
    for span in spans:
        if _closes_after(span) <= _since_midnight(span.opens_at):
            problems.append(f"{_hours_label(span)}: must close after it opens (or at 00:00 for midnight).")
        else:
            by_day.setdefault(span.weekday, []).append(span)
    for day_spans in by_day.values():
        day_spans.sort(key=lambda span: span.opens_at)
        widest = day_spans[0]
        for span in day_spans[1:]:
            # Touching intervals (09-12, 12-17) are fine; only real overlap is a mistake.
            if _since_midnight(span.opens_at) < _closes_after(widest):
                problems.append(f"{_hours_label(span)} overlaps {_hours_label(widest)}.")
            widest = max(widest, span, key=_closes_after)
    if not always_open and not spans:
        # No open hours means no time ever passes: every deadline on this calendar would be unreachable.
        problems.append("A calendar that is not 24/7 needs at least one opening interval.")
    return problems


def holiday_problems(days: Sequence[HolidayDay]) -> list[str]:
    repeated = sorted(day for day, count in Counter(h.date for h in days).items() if count > 1)
    return [f"{day.isoformat()} is listed more than once." for day in repeated]


def business_calendar_problems(
    *, time_zone: str, always_open: bool, opening_hours: Sequence[OpeningSpan], holidays: Sequence[HolidayDay]
) -> dict[str, list[str]]:
    """What is wrong with a calendar as a whole, by field (empty when nothing is)."""
    problems = {
        "time_zone": [problem] if (problem := time_zone_problem(time_zone)) else [],
        "opening_hours": opening_hours_problems(opening_hours, always_open=always_open),
        "holidays": holiday_problems(holidays),
    }
    return {field: found for field, found in problems.items() if found}


def name_taken_problem(model: type[Model], name: str, exclude_id: int | None) -> dict[str, list[str]]:
    taken = model._default_manager.filter(name=name).exclude(pk=exclude_id).exists()
    return {"name": [f"The name {name!r} is already used."]} if taken else {}


def escalation_step_problems(steps: Sequence[StepSpec]) -> list[dict[str, list[str]]]:
    """Per step (same order), what breaks the rules the database enforces; an empty dict when nothing."""
    rows: list[dict[str, list[str]]] = []
    for step in steps:
        row: dict[str, list[str]] = {}
        if step.action in (EscalationAction.NOTIFY_ROLE, EscalationAction.REASSIGN_ROLE) and not step.role:
            row["role"] = [f"A role is required for {step.action}."]
        if step.action == EscalationAction.NOTIFY_USER and step.user is None:
            row["user"] = ["A user is required for notify_user."]
        if step.repeat_times and not step.repeat_every_minutes:
            row["repeat_every_minutes"] = ["A step that repeats needs the minutes between repeats."]
        if step.repeat_times > MAX_STEP_REPEATS:
            row["repeat_times"] = [f"At most {MAX_STEP_REPEATS}."]
        rows.append(row)
    return rows


def sla_policy_problems(policy: SlaPolicy) -> dict[str, list[str]]:
    """What is wrong with a policy about to be saved, including a clash with another active policy."""
    problems = name_taken_problem(SlaPolicy, policy.name, policy.pk)
    if all(getattr(policy, field) is None for field in TARGET_FIELDS):
        problems["non_field_errors"] = [
            "Set at least one target (first response, next response or resolution)."
        ]
    if policy.warn_at_percent is not None and policy.warn_before_minutes is not None:
        problems["warn_before_minutes"] = [
            "Warn at a percentage of the target or minutes before it, not both."
        ]
    if policy.is_active:
        rival = (
            SlaPolicy.objects.filter(is_active=True, priority=policy.priority)
            .filter(Q(category_id=policy.category_id) if policy.category_id else Q(category__isnull=True))
            .exclude(pk=policy.pk)
            .values_list("name", flat=True)
            .first()
        )
        if rival is not None:
            problems.setdefault("non_field_errors", []).append(
                f"The active policy {rival!r} already covers this category and priority; deactivate it first."
            )
    return problems
