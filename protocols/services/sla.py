"""Writes to the SLA side of the response plan: SLA policies with their business calendars and
escalation chains, each saved whole, validated, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import NotFound, ValidationFailed
from protocols.business_time import holidays_from_ical
from protocols.models import (
    BusinessCalendar,
    Category,
    EscalationChain,
    EscalationStep,
    Holiday,
    OpeningHours,
    SlaPolicy,
)
from protocols.services.common import (
    in_use_conflict,
    locked,
    refuse,
    refuse_unknown,
    require,
    rows_replace,
    save_or_conflict,
)
from protocols.sla_checks import (
    TARGET_FIELDS,
    HolidayDay,
    OpeningSpan,
    StepSpec,
    business_calendar_problems,
    escalation_step_problems,
    name_taken_problem,
    sla_policy_problems,
)

POLICY_FIELDS = frozenset(
    {"name", "category", "priority", "calendar", "warn_at_percent", "warn_before_minutes"}
    | {"escalation_chain", "is_active", *TARGET_FIELDS}
)


@dataclass(frozen=True)
class HolidayImport:
    added: int
    already_present: int


def _require_manage(actor: Any) -> None:
    require(
        actor=actor,
        action="sla.manage",
        refusal="Only admins may change SLA policies, calendars and escalation chains.",
    )


def _delete_unless_used(
    instance: BusinessCalendar | EscalationChain, *, what: str, users: QuerySet[SlaPolicy]
) -> None:
    """Deletes a calendar or an escalation chain no SLA policy uses; one still in use is refused, naming
    the policies."""
    names = list(users.values_list("name", flat=True))
    if names:
        raise in_use_conflict(what=what, used_by="SLA policies", those="policies", names=names, joiner=", ")
    instance.delete()


@transaction.atomic
def business_calendar_save(
    *,
    actor: Any,
    calendar_id: int | None = None,
    name: str | None = None,
    time_zone: str | None = None,
    always_open: bool | None = None,
    opening_hours: Sequence[OpeningSpan] | None = None,
    holidays: Sequence[HolidayDay] | None = None,
) -> BusinessCalendar:
    """Creates a calendar (no id) or changes one. The opening hours and the holidays are each replaced
    as a whole when given and kept when None, so a form and an API client write one consistent calendar."""
    _require_manage(actor)
    if calendar_id is None:
        calendar = BusinessCalendar(name="", time_zone="UTC", always_open=False)
        current_hours: list[OpeningSpan] = []
        current_days: list[HolidayDay] = []
    else:
        calendar = locked(BusinessCalendar, pk=calendar_id, missing="Calendar not found.")
        current_hours = [
            OpeningSpan(h.weekday, h.opens_at, h.closes_at) for h in calendar.opening_hours.all()
        ]
        current_days = [HolidayDay(h.date, h.name) for h in calendar.holidays.all()]
    calendar.name = (name if name is not None else calendar.name).strip()
    calendar.time_zone = time_zone if time_zone is not None else calendar.time_zone
    calendar.always_open = always_open if always_open is not None else calendar.always_open
    hours = list(opening_hours) if opening_hours is not None else current_hours
    days = list(holidays) if holidays is not None else current_days
    problems = name_taken_problem(BusinessCalendar, calendar.name, calendar.pk)
    problems.update(
        business_calendar_problems(
            time_zone=calendar.time_zone, always_open=calendar.always_open, opening_hours=hours, holidays=days
        )
    )
    refuse(problems)
    save_or_conflict(calendar, conflict="Another calendar with that name was saved at the same time.")
    if opening_hours is not None:
        rows_replace(
            calendar.opening_hours,
            (
                OpeningHours(calendar=calendar, weekday=h.weekday, opens_at=h.opens_at, closes_at=h.closes_at)
                for h in hours
            ),
        )
    if holidays is not None:
        rows_replace(calendar.holidays, (Holiday(calendar=calendar, date=d.date, name=d.name) for d in days))
    return calendar


@transaction.atomic
def business_calendar_delete(*, actor: Any, calendar_id: int) -> None:
    _require_manage(actor)
    calendar = locked(BusinessCalendar, pk=calendar_id, missing="Calendar not found.")
    _delete_unless_used(calendar, what="calendar", users=SlaPolicy.objects.filter(calendar=calendar))


@transaction.atomic
def business_calendar_import_holidays(*, actor: Any, calendar_id: int, data: bytes) -> HolidayImport:
    """Adds the days an iCalendar file names as holidays; days the calendar already has are kept as they
    are (their names too), so importing the same file twice adds nothing."""
    _require_manage(actor)
    calendar = locked(BusinessCalendar, pk=calendar_id, missing="Calendar not found.")
    try:
        found = holidays_from_ical(data)
    except ValueError as exc:
        raise ValidationFailed(f"file: {exc}", fields={"file": [str(exc)]}) from None
    existing = set(calendar.holidays.values_list("date", flat=True))
    names: dict[date, list[str]] = {}
    for day, summary in found:
        if summary and summary not in names.setdefault(day, []):
            names[day].append(summary)
    new_days = sorted(set(names) - existing)
    max_name = Holiday._meta.get_field("name").max_length or 200
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=day, name=" / ".join(names[day])[:max_name]) for day in new_days
    )
    if new_days:
        BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
    return HolidayImport(added=len(new_days), already_present=len(names) - len(new_days))


@transaction.atomic
def escalation_chain_save(
    *,
    actor: Any,
    chain_id: int | None = None,
    name: str | None = None,
    description: str | None = None,
    steps: Sequence[StepSpec] | None = None,
) -> EscalationChain:
    """Creates or changes a chain; its steps are replaced as a whole (in the order given) when given.
    Clocks already running keep the copy they froze when they started."""
    _require_manage(actor)
    if chain_id is None:
        chain = EscalationChain(name="")
    else:
        chain = locked(EscalationChain, pk=chain_id, missing="Escalation chain not found.")
    chain.name = (name if name is not None else chain.name).strip()
    chain.description = description if description is not None else chain.description
    problems: dict[str, Any] = name_taken_problem(EscalationChain, chain.name, chain.pk)
    step_rows = {str(i): row for i, row in enumerate(escalation_step_problems(steps or [])) if row}
    if step_rows:
        problems["steps"] = step_rows
    refuse(problems)
    save_or_conflict(chain, conflict="Another chain with that name was saved at the same time.")
    if steps is not None:
        rows_replace(
            chain.steps,
            (
                EscalationStep(
                    chain=chain,
                    position=index,
                    trigger=step.trigger,
                    delay_minutes=step.delay_minutes,
                    action=step.action,
                    role=step.role,
                    user=step.user,
                    repeat_every_minutes=step.repeat_every_minutes,
                    repeat_times=step.repeat_times,
                )
                for index, step in enumerate(steps, start=1)
            ),
        )
    return chain


@transaction.atomic
def escalation_chain_delete(*, actor: Any, chain_id: int) -> None:
    _require_manage(actor)
    chain = locked(EscalationChain, pk=chain_id, missing="Escalation chain not found.")
    _delete_unless_used(
        chain, what="escalation chain", users=SlaPolicy.objects.filter(escalation_chain=chain)
    )


def _policy_write(policy: SlaPolicy, changes: dict[str, Any]) -> SlaPolicy:
    refuse_unknown(changes=changes, known=POLICY_FIELDS)
    for field, value in changes.items():
        setattr(policy, field, value.strip() if field == "name" else value)
    refuse(sla_policy_problems(policy))
    save_or_conflict(
        policy, conflict="Another policy for this category and priority was saved at the same time."
    )
    return policy


@transaction.atomic
def sla_policy_create(
    *,
    actor: Any,
    name: str,
    category: Category | None = None,
    priority: str = "",
    calendar: BusinessCalendar | None = None,
    first_response_minutes: int | None = None,
    next_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    warn_at_percent: int | None = None,
    warn_before_minutes: int | None = None,
    escalation_chain: EscalationChain | None = None,
    is_active: bool = True,
) -> SlaPolicy:
    """A new policy; clocks that start from now on use it (running clocks keep what they froze)."""
    _require_manage(actor)
    policy = SlaPolicy(
        category=category,
        priority=priority,
        calendar=calendar,
        first_response_minutes=first_response_minutes,
        next_response_minutes=next_response_minutes,
        resolution_minutes=resolution_minutes,
        warn_at_percent=warn_at_percent,
        warn_before_minutes=warn_before_minutes,
        escalation_chain=escalation_chain,
        is_active=is_active,
    )
    return _policy_write(policy, {"name": name})


@transaction.atomic
def sla_policy_update(*, actor: Any, policy_id: int, **changes: Any) -> SlaPolicy:
    """Changes the fields given (a PATCH gives some, a PUT all of POLICY_FIELDS)."""
    _require_manage(actor)
    return _policy_write(locked(SlaPolicy, pk=policy_id, missing="SLA policy not found."), changes)


@transaction.atomic
def sla_policy_delete(*, actor: Any, policy_id: int) -> None:
    """Running clocks keep the policy's name and numbers they froze; only the link to it goes."""
    _require_manage(actor)
    deleted, _ = SlaPolicy.objects.filter(pk=policy_id).delete()
    if not deleted:
        raise NotFound("SLA policy not found.")
