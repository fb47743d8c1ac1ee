"""How a response-time clock reads: business time left and used, a plain-English sentence explaining its
deadline (policy, calendar, paused time) and its frozen escalation steps with what has fired. No queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from incidents.models import ClockKind, ClockStatus, FiringKind, SlaClock
from incidents.services.clocks import MAX_LEVELS_PER_STEP, calendar_of
from protocols.business_time import business_seconds_between

KIND_LABELS = dict(ClockKind.choices)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class StepState:
    """One frozen escalation step: what it does and what became of it."""

    position: int
    trigger: str
    delay_minutes: int
    action: str
    role: str
    user_id: int | None
    repeat_every_minutes: int | None
    repeat_times: int
    label: str
    fired_at: list[datetime]
    state: str  # pending (may still fire), fired (every repetition did), cancelled (never will again)


def duration_phrase(seconds: float) -> str:
    """2 h 5 min, 15 min, 40 s."""
    total = round(abs(seconds))
    if total < 60:
        return f"{total} s"
    hours, minutes = divmod(total // 60, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def moment_phrase(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def paused_seconds(clock: SlaClock, *, now: datetime) -> float:
    """Wall-clock time spent paused, including a pause still going on."""
    ongoing = 0.0
    if clock.status == ClockStatus.PAUSED and clock.paused_at is not None:
        ongoing = max((now - clock.paused_at).total_seconds(), 0.0)
    return clock.paused_for_seconds + ongoing


def consumed_seconds(clock: SlaClock, *, now: datetime) -> float:
    """Business seconds of the target used so far, including the running stretch."""
    running = 0.0
    if clock.status == ClockStatus.RUNNING and clock.running_since is not None:
        running = business_seconds_between(calendar_of(clock), clock.running_since, now)
    return clock.consumed_seconds + running


def business_seconds_left(clock: SlaClock, *, now: datetime) -> int | None:
    """Running: business seconds until the deadline, or minus the (wall-clock) seconds since it passed.
    Paused: what was left when it paused. Stopped: None, nothing is counting."""
    if clock.status == ClockStatus.RUNNING and clock.due_at is not None:
        if clock.due_at > now:
            return round(business_seconds_between(calendar_of(clock), now, clock.due_at))
        return -round((now - clock.due_at).total_seconds())
    if clock.status == ClockStatus.PAUSED:
        return round(clock.target_seconds - clock.consumed_seconds)
    return None


def _clock_time(moment: time) -> str:
    return "24:00" if moment == time(0) else f"{moment:%H:%M}"


def weekly_hours_phrase(weekly_hours: Sequence[tuple[int, time, time]]) -> str:
    """Mon-Fri 09:00-17:00, Sat 10:00-14:00: consecutive days with the same hours run together."""
    by_day = [
        ", ".join(
            f"{_clock_time(opens)}-{_clock_time(closes)}"
            for day, opens, closes in sorted(weekly_hours, key=lambda row: row[1])
            if day == weekday
        )
        for weekday in range(7)
    ]
    runs: list[list[Any]] = []  # [first day, last day, hours]
    for weekday, hours in enumerate(by_day):
        if not hours:
            continue
        if runs and runs[-1][1] == weekday - 1 and runs[-1][2] == hours:
            runs[-1][1] = weekday
        else:
            runs.append([weekday, weekday, hours])
    return ", ".join(
        f"{DAY_NAMES[first]}{'' if last == first else '-' + DAY_NAMES[last]} {hours}"
        for first, last, hours in runs
    )


def calendar_phrase(clock: SlaClock) -> str:
    spec = calendar_of(clock)
    if spec.always_open:
        return "counted 24/7"
    details = [weekly_hours_phrase(spec.weekly_hours) or "never open", spec.time_zone]
    if spec.holidays:
        details.append("holidays excluded")
    return f"counted in {clock.calendar_name} hours ({', '.join(details)})"


def clock_explanation(clock: SlaClock, *, now: datetime) -> str:
    """e.g. "High priority policy: first response within 1 h, counted 24/7; paused 2 h 5 min so far;
    due 2026-11-16 11:00 UTC." """
    name = clock.policy_name
    policy = name if name.lower().endswith("policy") else f"{name} policy"
    what = KIND_LABELS.get(clock.kind, clock.kind).lower()
    target = f"{policy}: {what} within {duration_phrase(clock.target_seconds)}, {calendar_phrase(clock)}"
    return "; ".join([target, *_pause_phrases(clock, now), *_deadline_phrases(clock)]) + "."


def _pause_phrases(clock: SlaClock, now: datetime) -> list[str]:
    seconds = paused_seconds(clock, now=now)
    paused = duration_phrase(seconds)
    if clock.status == ClockStatus.PAUSED and clock.paused_at is not None:
        left = business_seconds_left(clock, now=now) or 0
        return [
            f"paused since {moment_phrase(clock.paused_at)} while waiting on the customer ({paused} so "
            "far, added back to the deadline)",
            f"{duration_phrase(left)} {'left' if left >= 0 else 'over'} when it resumes",
        ]
    if seconds >= 1:
        return [f"paused {paused} {'so far' if clock.status == ClockStatus.RUNNING else 'in all'}"]
    return []


def _deadline_phrases(clock: SlaClock) -> list[str]:
    due = moment_phrase(clock.due_at) if clock.due_at else None
    if clock.status == ClockStatus.RUNNING and due:
        if clock.breached_at is not None:
            return [f"missed: it was due {due}"]
        warned = [f"warned {moment_phrase(clock.warned_at)}"] if clock.warned_at else []
        return [*warned, f"due {due}"]
    if clock.status == ClockStatus.STOPPED and clock.stopped_at is not None:
        stopped = moment_phrase(clock.stopped_at)
        if clock.breached_at is not None and due:
            return [f"missed (it was due {due}); stopped {stopped}"]
        return [f"stopped {stopped}, before its deadline"]
    return []


def escalation_steps(clock: SlaClock) -> list[StepState]:
    """The chain frozen onto the clock when it started, each step with the moments it fired. Reads the
    clock's prefetched firings (a step's firing level is its index * 1000 + repetition)."""
    fired: dict[int, list[datetime]] = {}
    for firing in clock.firings.all():
        if firing.kind == FiringKind.STEP:
            fired.setdefault(firing.level // MAX_LEVELS_PER_STEP, []).append(firing.fired_at)
    will_not_fire = clock.status == ClockStatus.STOPPED or clock.escalation_stopped_at is not None
    steps = []
    for index, step in enumerate(clock.chain):
        times = fired.get(index, [])
        repeat_times = int(step.get("repeat_times") or 0)
        state = "fired" if len(times) > repeat_times else "cancelled" if will_not_fire else "pending"
        steps.append(
            StepState(
                position=int(step.get("position", index + 1)),
                trigger=str(step.get("trigger", "")),
                delay_minutes=int(step.get("delay_minutes") or 0),
                action=str(step.get("action", "")),
                role=str(step.get("role") or ""),
                user_id=step.get("user_id"),
                repeat_every_minutes=step.get("repeat_every_minutes"),
                repeat_times=repeat_times,
                label=str(step.get("label", "")),
                fired_at=times,
                state=state,
            )
        )
    return steps
