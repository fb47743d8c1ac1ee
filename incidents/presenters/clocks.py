"""Each response-time clock of an incident explained: where it stands, its deadline, the policy,
target and calendar behind it, the time used and paused, and its escalation steps (fired or not)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from incidents.clock_presenters import consumed_seconds, escalation_steps, paused_seconds, weekly_hours_phrase
from incidents.models import (
    TARGET_CLOCK_KINDS,
    ClockKind,
    ClockStatus,
    EventKind,
    SlaClock,
    SlaState,
    TimelineEvent,
)
from incidents.presenters.wording import countdown_text, duration_words, since_text
from incidents.services.clocks import calendar_of
from protocols.business_time import BusinessCalendarSpec, is_open_at
from protocols.models import ApprovalStage, EscalationAction, Role

CLOCK_LABELS = dict(ClockKind.choices)
ROLE_LABELS = dict(Role.choices)
STATE_LABELS = {
    "ok": str(SlaState.OK.label),
    "warning": str(SlaState.WARNING.label),
    "breached": str(SlaState.BREACHED.label),
    "paused": str(SlaState.PAUSED.label),
    "missed": "Missed",
    "met": "Met",
}


def clock_label(kind: str) -> str:
    return str(CLOCK_LABELS.get(kind, kind.replace("_", " ").capitalize()))


def step_title(step: dict[str, Any], user_names: dict[int, str]) -> str:
    """What an escalation step does, as a person would say it ("Notify PR", "Raise priority")."""
    action = step.get("action")
    role = str(ROLE_LABELS.get(step.get("role") or "", step.get("role") or "a role"))
    if action == EscalationAction.NOTIFY_ROLE:
        return f"Notify {role}"
    if action == EscalationAction.NOTIFY_USER:
        user_id = step.get("user_id")
        return f"Notify {user_names.get(user_id, f'user #{user_id}') if user_id else 'a user'}"
    if action == EscalationAction.REASSIGN_ROLE:
        return f"Reassign to {role}"
    if action == EscalationAction.RAISE_PRIORITY:
        return "Raise priority"
    if action == EscalationAction.NOTIFY_MANAGEMENT:
        return "Notify management"
    if action == EscalationAction.OPEN_CRISIS:
        return "Request crisis mode"
    return str(step.get("label") or action or "Escalation step")


def step_timing(step: dict[str, Any]) -> str:
    """When a step fires: "at the breach", "30 min after the warning", then its repeats."""
    trigger = "warning" if step.get("trigger") == "warning" else "breach"
    delay = int(step.get("delay_minutes") or 0)
    when = f"at the {trigger}" if delay == 0 else f"{duration_words(delay * 60)} after the {trigger}"
    times = int(step.get("repeat_times") or 0)
    every = int(step.get("repeat_every_minutes") or 0)
    if times and every:
        when += f", then every {duration_words(every * 60)} ({times} more time{'' if times == 1 else 's'})"
    return when


@dataclass(frozen=True)
class StepView:
    title: str
    timing: str
    state: str  # fired, next, waiting, cancelled, skipped
    state_label: str
    fired_at: list[datetime]
    next_at: datetime | None  # when the step is the next to fire


@dataclass(frozen=True)
class ClockView:
    """One clock on the incident page: where it stands and why its deadline is what it is."""

    clock: SlaClock
    label: str
    state: str  # ok, warning, breached, paused, met, missed (also the colour class)
    state_label: str
    headline: str  # on load; sla.js keeps it current when `counts` is set
    counts: str
    due_at: datetime | None
    target_text: str
    calendar_text: str
    used_text: str
    used_percent: int
    paused_text: str
    outside_hours: bool
    steps: list[StepView] = field(default_factory=list)


def _calendar_text(clock: SlaClock, spec: BusinessCalendarSpec) -> str:
    if spec.always_open:
        return f"{clock.calendar_name} (counts every hour)"
    holidays = len(spec.holidays)
    extra = f", {holidays} holiday{'' if holidays == 1 else 's'}" if holidays else ""
    hours = weekly_hours_phrase(spec.weekly_hours) or "never open"
    return f"{clock.calendar_name} ({hours}, {spec.time_zone}{extra})"


def _steps(clock: SlaClock, users: dict[int, str]) -> list[StepView]:
    """The frozen chain, each step with when it fired, or why it will not, or when it will next."""
    views = []
    for index, (step, fired) in enumerate(zip(clock.chain, escalation_steps(clock), strict=True)):
        times = sorted(fired.fired_at)
        base = clock.warned_at if fired.trigger == "warning" else clock.breached_at
        next_at = None
        if fired.state == "fired":
            state, label = "fired", "Fired"
        elif clock.escalation_stopped_at is not None:
            state, label = "cancelled", "Cancelled (someone acted)"
        elif fired.state == "cancelled":
            state, label = "skipped", "Not needed"
        elif index == clock.next_step and base is not None:
            state, label, next_at = "next", "Next", clock.next_fire_at
        else:
            state, label = "waiting", "Waiting"
        if times and state != "fired":
            label = f"Fired {len(times)} of {fired.repeat_times + 1}; {label.lower()}"
        views.append(StepView(step_title(step, users), step_timing(step), state, label, times, next_at))
    return views


def _standing(
    clock: SlaClock, spec: BusinessCalendarSpec, left: float, now: datetime
) -> tuple[str, str, str]:
    """The clock's state (also its colour), its headline on load, and how sla.js keeps that current."""
    if clock.status == ClockStatus.RUNNING and clock.breached_at is not None:
        return "breached", f"breached {since_text((now - clock.breached_at).total_seconds())}", "since"
    if clock.status == ClockStatus.RUNNING:
        state = "warning" if clock.warned_at is not None else "ok"
        if left <= 0:
            return state, "due now", ""
        # Business time runs at wall-clock speed only on a 24/7 calendar: only there does it tick.
        if spec.always_open:
            return state, f"{countdown_text(left)} left", "left"
        return state, f"{duration_words(left)} of business time left", ""
    if clock.status == ClockStatus.PAUSED:
        return "paused", f"Paused with {duration_words(max(left, 0))} left", ""
    if clock.breached_at is not None:
        late = (clock.stopped_at - clock.breached_at).total_seconds() if clock.stopped_at else 0
        return "missed", f"Late by {duration_words(late)}" if late >= 60 else "Late by under a minute", ""
    return "met", f"Done with {duration_words(max(left, 0))} to spare", ""


STAGE_LABELS = dict(ApprovalStage.choices)


def reference_label(reference: str) -> str:
    """What a clock's reference is about, in words: "reply:12:v2:legal_review:legal" reads as
    "Legal review of reply #12, version 2"; an unknown reference is shown as it is."""
    parts = reference.split(":")
    if len(parts) == 5 and parts[0] == "reply" and parts[1].isdigit() and parts[2].startswith("v"):
        stage = STAGE_LABELS.get(parts[3], parts[3].replace("_", " ").capitalize())
        return f"{stage} of reply #{parts[1]}, version {parts[2][1:]}"
    return reference


def clock_view(clock: SlaClock, *, now: datetime, users: dict[int, str]) -> ClockView:
    spec = calendar_of(clock)
    target = clock.target_seconds
    running = clock.status == ClockStatus.RUNNING
    used = consumed_seconds(clock, now=now)
    paused_for = paused_seconds(clock, now=now)
    state, headline, counts = _standing(clock, spec, target - used, now)
    return ClockView(
        clock=clock,
        label=clock_label(clock.kind) + (f" · {reference_label(clock.reference)}" if clock.reference else ""),
        state=state,
        state_label=STATE_LABELS[state],
        headline=headline,
        counts=counts,
        due_at=None if clock.status == ClockStatus.PAUSED else clock.due_at,
        target_text=f"{duration_words(target)} of business time",
        calendar_text=_calendar_text(clock, spec),
        used_text=f"{duration_words(min(used, target))} of {duration_words(target)}",
        used_percent=100 if clock.breached_at or not target else min(100, max(0, round(100 * used / target))),
        paused_text=duration_words(paused_for) if paused_for >= 1 else "none",
        outside_hours=running and clock.breached_at is None and not is_open_at(spec, now),
        steps=_steps(clock, users),
    )


def clock_views(clocks: Iterable[SlaClock], *, users: dict[int, str]) -> list[ClockView]:
    """The response targets (crisis reminders and expiry are shown by crisis mode, not here): live clocks
    first, then finished ones, each in the order they started."""
    now = timezone.now()
    targets = [c for c in clocks if c.kind in TARGET_CLOCK_KINDS]
    ordered = sorted(targets, key=lambda c: (c.status == ClockStatus.STOPPED, c.started_at, c.pk))
    return [clock_view(c, now=now, users=users) for c in ordered]


def step_user_ids(clocks: Iterable[SlaClock], events: Iterable[TimelineEvent]) -> set[int]:
    """The people named by escalation steps, so one query can fetch their names."""
    steps = [step for clock in clocks for step in clock.chain]
    steps += [
        e.after["step"]
        for e in events
        if e.kind == EventKind.ESCALATED and isinstance(e.after.get("step"), dict)
    ]
    return {int(step["user_id"]) for step in steps if step.get("user_id")}
