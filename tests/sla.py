"""The response plan the SLA tests share: a fixed Monday, frozen time, the Stockholm office calendar,
the two escalation chains and the routine/high/critical policies, each varied only where a test needs it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from protocols.models import BusinessCalendar, EscalationChain, EscalationStep, OpeningHours, Role, SlaPolicy

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A Monday, 10:00 UTC (11:00 in Stockholm).
T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def at(moment: datetime) -> time_machine.travel:
    """Stand still at `moment` inside the with-block, so deadlines and "x min ago" are exact."""
    return time_machine.travel(moment, tick=False)


def office_calendar(name: str = "Office") -> BusinessCalendar:
    """Open Monday to Friday, 09:00-17:00 in Stockholm."""
    calendar = BusinessCalendar.objects.create(name=name, time_zone="Europe/Stockholm")
    for day in range(5):
        OpeningHours.objects.create(calendar=calendar, weekday=day, opens_at=time(9), closes_at=time(17))
    return calendar


def high_chain(*, manager: Any) -> EscalationChain:
    """PR at the warning; `manager` at the breach and twice more, 10 minutes apart; priority raised
    30 minutes after the breach."""
    chain = EscalationChain.objects.create(name="High")
    EscalationStep.objects.create(
        chain=chain, position=1, trigger="warning", action="notify_role", role=Role.PR
    )
    EscalationStep.objects.create(
        chain=chain,
        position=2,
        trigger="breach",
        delay_minutes=0,
        action="notify_user",
        user=manager,
        repeat_every_minutes=10,
        repeat_times=2,
    )
    EscalationStep.objects.create(
        chain=chain, position=3, trigger="breach", delay_minutes=30, action="raise_priority"
    )
    return chain


def urgent_replies_chain(*, manager: Any) -> EscalationChain:
    """PR at the warning, management at the breach, `manager` 30 minutes after it."""
    chain = EscalationChain.objects.create(name="Urgent replies")
    EscalationStep.objects.create(
        chain=chain, position=1, trigger="warning", action="notify_role", role=Role.PR
    )
    EscalationStep.objects.create(chain=chain, position=2, trigger="breach", action="notify_management")
    EscalationStep.objects.create(
        chain=chain, position=3, trigger="breach", delay_minutes=30, action="notify_user", user=manager
    )
    return chain


def routine_policy(*, calendar: BusinessCalendar, **overrides: Any) -> SlaPolicy:
    """The default policy (any category, any priority): first response within 24 business hours,
    resolution within 72, warned at 75%; `overrides` replace any of those fields or add others."""
    fields: dict[str, Any] = {
        "name": "Routine",
        "calendar": calendar,
        "first_response_minutes": 24 * 60,
        "resolution_minutes": 72 * 60,
        "warn_at_percent": 75,
        **overrides,
    }
    return SlaPolicy.objects.create(**fields)


def make_policies(
    *,
    chain: EscalationChain | None = None,
    high_name: str = "High",
    critical_name: str | None = "Critical",
    next_response: bool = True,
    routine: Mapping[str, Any] | None = None,
) -> dict[str, SlaPolicy]:
    """The policies by key: "routine", routine_policy() on a new office_calendar(); "high", 1 h to the
    first response and 24 h to resolve, counted 24/7, warned at 75%, escalating along `chain`; and, unless
    `critical_name` is None, "critical", 15 min and 8 h, 24/7, no chain. `next_response` gives routine
    24 h and high 1 h to answer each later customer message; `routine` overrides routine's fields."""
    routine_fields: dict[str, Any] = {"next_response_minutes": 24 * 60} if next_response else {}
    policies = {
        "routine": routine_policy(calendar=office_calendar(), **{**routine_fields, **(routine or {})}),
        "high": SlaPolicy.objects.create(
            name=high_name,
            priority="high",
            first_response_minutes=60,
            next_response_minutes=60 if next_response else None,
            resolution_minutes=24 * 60,
            warn_at_percent=75,
            escalation_chain=chain,
        ),
    }
    if critical_name is not None:
        policies["critical"] = SlaPolicy.objects.create(
            name=critical_name, priority="critical", first_response_minutes=15, resolution_minutes=8 * 60
        )
    return policies
