"""The life of response-time clocks: started from the incident's policy, paused while waiting on the
customer, stopped by a response or a resolution, resumed on reopen, recomputed when the policy changes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from incidents.models import (
    OPEN_STATUS_VALUES,
    ClockKind,
    ClockStatus,
    EventKind,
    FiringKind,
    Incident,
    IncidentStatus,
    SlaClock,
)
from incidents.services.timeline import timeline_append
from incidents.services.webhooks import incident_updated_emit
from protocols.business_time import BusinessCalendarSpec, business_add, business_seconds_between
from protocols.selectors import sla_policy_book
from protocols.sla import PolicyBook, PolicySnapshot

INCIDENT_CLOCKS = (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION)
LIVE = (ClockStatus.RUNNING, ClockStatus.PAUSED)
MAX_LEVELS_PER_STEP = 1000


class DueEvent(NamedTuple):
    moment: datetime
    kind: str  # FiringKind
    level: int
    step: dict[str, Any] | None


@lru_cache(maxsize=256)
def _spec(calendar_json: str) -> BusinessCalendarSpec:
    return BusinessCalendarSpec.from_json(json.loads(calendar_json))


def calendar_of(clock: SlaClock) -> BusinessCalendarSpec:
    return _spec(json.dumps(clock.calendar, sort_keys=True))


# --- pure scheduling -------------------------------------------------------------------------------


def schedule(clock: SlaClock) -> None:
    """Recomputes `due_at` and `warn_at` of a running clock from what it has consumed so far."""
    if clock.status != ClockStatus.RUNNING or clock.running_since is None:
        return
    spec = calendar_of(clock)
    remaining = clock.target_seconds - clock.consumed_seconds
    # A target already used up keeps the deadline it had (the breach happened then, and was recorded).
    if remaining > 0:
        clock.due_at = business_add(spec, clock.running_since, remaining)
    elif clock.breached_at is not None:
        clock.due_at = clock.breached_at
    elif clock.due_at is None:
        clock.due_at = business_add(spec, clock.running_since, 0.0)
    if clock.warn_after_seconds is None:
        clock.warn_at = None
    elif clock.warn_after_seconds > clock.consumed_seconds or clock.warn_at is None:
        clock.warn_at = business_add(
            spec, clock.running_since, max(clock.warn_after_seconds - clock.consumed_seconds, 0.0)
        )
    clock.next_fire_at = next_moment(clock)


def next_event(clock: SlaClock) -> DueEvent | None:
    """The next thing that must happen to this clock: its warning, its breach or its next escalation
    step, whichever comes first. Nothing happens to a clock that is not running."""
    if clock.status != ClockStatus.RUNNING:
        return None
    candidates: list[DueEvent] = []
    if clock.breached_at is None and clock.due_at is not None:
        candidates.append(DueEvent(clock.due_at, FiringKind.BREACH, 0, None))
        if clock.warned_at is None and clock.warn_at is not None and clock.warn_at < clock.due_at:
            candidates.append(DueEvent(clock.warn_at, FiringKind.WARNING, 0, None))
    if clock.escalation_stopped_at is None and clock.next_step < len(clock.chain):
        step = clock.chain[clock.next_step]
        base = clock.warned_at if step["trigger"] == "warning" else clock.breached_at
        if base is not None:
            every = step.get("repeat_every_minutes") or 0
            moment = base + timedelta(minutes=step["delay_minutes"] + every * clock.step_repeats)
            level = clock.next_step * MAX_LEVELS_PER_STEP + clock.step_repeats
            candidates.append(DueEvent(moment, FiringKind.STEP, level, step))
    # On a tie the warning goes before the breach before a step (the order a person would tell it).
    order = {FiringKind.WARNING: 0, FiringKind.BREACH: 1, FiringKind.STEP: 2}
    return min(candidates, key=lambda e: (e.moment, order[FiringKind(e.kind)]), default=None)


def next_moment(clock: SlaClock) -> datetime | None:
    event = next_event(clock)
    return event.moment if event else None


def advance(clock: SlaClock, event: DueEvent) -> None:
    """Moves the clock past an event that has fired."""
    if event.kind == FiringKind.WARNING:
        clock.warned_at = event.moment
    elif event.kind == FiringKind.BREACH:
        clock.breached_at = event.moment
        if clock.warned_at is None and clock.warn_at is not None:
            clock.warned_at = event.moment
    else:
        step = event.step or {}
        if clock.step_repeats < int(step.get("repeat_times") or 0):
            clock.step_repeats += 1
        else:
            clock.next_step += 1
            clock.step_repeats = 0
    clock.next_fire_at = next_moment(clock)


# --- starting clocks ------------------------------------------------------------------------------


def new_clock(
    *,
    incident_id: int,
    kind: str,
    policy: PolicySnapshot,
    started_at: datetime,
    now: datetime,
    reference: str = "",
) -> SlaClock | None:
    """A clock for `kind` under `policy`, counting from `started_at` (business time already passed by
    `now` is consumed). None when the policy sets no target for that kind."""
    target = policy.target_seconds(kind)
    if target is None:
        return None
    warn_after = policy.warn_after_seconds(target)
    clock = SlaClock(
        incident_id=incident_id,
        kind=kind,
        reference=reference,
        status=ClockStatus.RUNNING,
        policy_id=policy.policy_id,
        policy_name=policy.name,
        calendar_name=policy.calendar_name,
        calendar=policy.calendar.to_json(),
        chain=policy.chain_for(has_warning=warn_after is not None),
        chain_name=policy.chain_name,
        target_seconds=target,
        warn_after_seconds=warn_after,
        started_at=started_at,
        running_since=now,
        consumed_seconds=business_seconds_between(policy.calendar, started_at, now)
        if started_at < now
        else 0.0,
        updated_at=now,
    )
    schedule(clock)
    return clock


def clocks_start_for_new_incidents(
    *, incidents: Sequence[tuple[int, int | None, str]], now: datetime, book: PolicyBook | None = None
) -> list[SlaClock]:
    """First-response and resolution clocks for incidents just opened, given as (id, category_id,
    priority); one INSERT for all of them. Returns the clocks (the caller syncs the incidents)."""
    book = book if book is not None else sla_policy_book()
    clocks: list[SlaClock] = []
    for incident_id, category_id, priority in incidents:
        policy = book.policy_for(category_id=category_id, priority=priority)
        if policy is None:
            continue
        for kind in INCIDENT_CLOCKS:
            clock = new_clock(incident_id=incident_id, kind=kind, policy=policy, started_at=now, now=now)
            if clock is not None:
                clocks.append(clock)
    if clocks:
        SlaClock.objects.bulk_create(clocks)
    return clocks


def clocks_start(*, incident: Incident, now: datetime) -> None:
    clocks_start_for_new_incidents(
        incidents=[(incident.pk, incident.category_id, incident.priority)], now=now
    )
    incident_sla_sync(incident_ids=[incident.pk])


# --- changing clocks -----------------------------------------------------------------------------


def _live_clocks(incident_id: int, kinds: Iterable[str] | None = None) -> list[SlaClock]:
    qs = SlaClock.objects.select_for_update().filter(incident_id=incident_id, status__in=LIVE)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return list(qs.order_by("id"))


def _consume(clock: SlaClock, now: datetime) -> None:
    """Folds the running segment into `consumed_seconds` (the clock stops counting at `now`)."""
    if clock.status == ClockStatus.RUNNING and clock.running_since is not None and now > clock.running_since:
        clock.consumed_seconds += business_seconds_between(calendar_of(clock), clock.running_since, now)
    clock.running_since = None


def _save(clocks: Sequence[SlaClock], now: datetime) -> None:
    for clock in clocks:
        clock.updated_at = now
    if clocks:
        SlaClock.objects.bulk_update(
            clocks,
            [
                "status",
                "running_since",
                "consumed_seconds",
                "paused_at",
                "paused_for_seconds",
                "started_at",
                "warn_at",
                "due_at",
                "stopped_at",
                "next_fire_at",
                "escalation_stopped_at",
                "target_seconds",
                "warn_after_seconds",
                "policy",
                "policy_name",
                "calendar",
                "calendar_name",
                "updated_at",
            ],
        )


def clocks_stop(*, incident_id: int, kinds: Iterable[str], now: datetime) -> list[SlaClock]:
    """Stops the live clocks of these kinds (the target was met, or no longer applies)."""
    clocks = _live_clocks(incident_id, kinds)
    for clock in clocks:
        _consume(clock, now)
        clock.status = ClockStatus.STOPPED
        clock.stopped_at = now
        clock.next_fire_at = None
        if clock.paused_at is not None:
            clock.paused_for_seconds += (now - clock.paused_at).total_seconds()
            clock.paused_at = None
    _save(clocks, now)
    return clocks


def clocks_start_reference(
    *, incident_id: int, kind: str, reference: str, policy: PolicySnapshot, now: datetime
) -> SlaClock | None:
    """A clock for something other than the incident's own targets (an approval step of a reply),
    named by `reference` so exactly that clock can be stopped later."""
    clock = new_clock(
        incident_id=incident_id, kind=kind, policy=policy, started_at=now, now=now, reference=reference
    )
    if clock is not None:
        clock.save(force_insert=True)
        incident_sla_sync(incident_ids=[incident_id])
    return clock


def clocks_stop_reference(*, incident_id: int, reference: str, now: datetime) -> list[SlaClock]:
    """Stops the live clocks started for `reference` (the decision was taken, or the reply changed)."""
    clocks = [c for c in _live_clocks(incident_id) if c.reference == reference]
    for clock in clocks:
        _consume(clock, now)
        clock.status = ClockStatus.STOPPED
        clock.stopped_at = now
        clock.next_fire_at = None
    _save(clocks, now)
    if clocks:
        incident_sla_sync(incident_ids=[incident_id])
    return clocks


def clocks_pause(*, incident_id: int, now: datetime) -> None:
    """Waiting on the customer: the resolution clock stops counting until they answer."""
    clocks = [c for c in _live_clocks(incident_id, [ClockKind.RESOLUTION]) if c.status == ClockStatus.RUNNING]
    for clock in clocks:
        _consume(clock, now)
        clock.status = ClockStatus.PAUSED
        clock.paused_at = now
        clock.next_fire_at = None
        clock.due_at = None
        clock.warn_at = None
    _save(clocks, now)


def clocks_resume(*, incident_id: int, now: datetime) -> None:
    """The customer answered (or the wait ended): the paused time is added back to the deadline."""
    clocks = [c for c in _live_clocks(incident_id, [ClockKind.RESOLUTION]) if c.status == ClockStatus.PAUSED]
    for clock in clocks:
        if clock.paused_at is not None:
            clock.paused_for_seconds += (now - clock.paused_at).total_seconds()
        clock.paused_at = None
        clock.status = ClockStatus.RUNNING
        clock.running_since = now
        schedule(clock)
    _save(clocks, now)


def clocks_stop_escalations(*, incident_id: int, now: datetime) -> int:
    """Someone acted: the remaining escalation steps of every live clock are cancelled."""
    clocks = [c for c in _live_clocks(incident_id) if c.escalation_stopped_at is None]
    for clock in clocks:
        clock.escalation_stopped_at = now
        clock.next_fire_at = next_moment(clock)
    _save(clocks, now)
    return len(clocks)


def clocks_on_response(*, incident_id: int, now: datetime) -> list[SlaClock]:
    """A response went out: the first-response and next-response targets are met (or ended late)."""
    stopped = clocks_stop(
        incident_id=incident_id, kinds=[ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE], now=now
    )
    clocks_stop_escalations(incident_id=incident_id, now=now)
    return stopped


def clocks_on_resolve(*, incident_id: int, now: datetime) -> None:
    # Approval steps belong to their reply, crisis clocks to the crisis: resolving the incident ends neither.
    clocks_stop(
        incident_id=incident_id,
        kinds=[ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE, ClockKind.RESOLUTION],
        now=now,
    )


def clocks_on_reopen(*, incident: Incident, now: datetime) -> None:
    """Reopening resumes the resolution clock where it stopped and starts a new next-response clock."""
    last = (
        SlaClock.objects.select_for_update()
        .filter(incident_id=incident.pk, kind=ClockKind.RESOLUTION)
        .order_by("-id")
        .first()
    )
    book = sla_policy_book()
    policy = book.policy_for(category_id=incident.category_id, priority=incident.priority)
    if last is not None and last.status == ClockStatus.STOPPED:
        last.status = ClockStatus.RUNNING
        last.stopped_at = None
        last.running_since = now
        schedule(last)
        _save([last], now)
    elif last is None and policy is not None:
        clock = new_clock(
            incident_id=incident.pk, kind=ClockKind.RESOLUTION, policy=policy, started_at=now, now=now
        )
        if clock is not None:
            clock.save()
    if policy is not None:
        clock = new_clock(
            incident_id=incident.pk, kind=ClockKind.NEXT_RESPONSE, policy=policy, started_at=now, now=now
        )
        if clock is not None and not _live_clocks(incident.pk, [ClockKind.NEXT_RESPONSE]):
            clock.save()
    incident_sla_sync(incident_ids=[incident.pk])


def clocks_start_earlier(
    *, incident_id: int, kind: str, started_at: datetime, now: datetime
) -> dict[str, Any]:
    """The incident's live clock of `kind` counts from `started_at` when that is earlier than its own
    start (a duplicate merged in had been waiting longer): the business time in between is consumed and
    the deadline moves earlier. Returns what changed, to put it back later; {} when nothing did."""
    clock = next((c for c in _live_clocks(incident_id, [kind]) if c.reference == ""), None)
    if clock is None or started_at >= clock.started_at:
        return {}
    added = business_seconds_between(calendar_of(clock), started_at, clock.started_at)
    change = {
        "clock_id": clock.pk,
        "kind": kind,
        "started_at": clock.started_at.isoformat(),
        "added_seconds": added,
        "due_at_before": _iso(clock.due_at),
    }
    clock.started_at = started_at
    clock.consumed_seconds += added
    schedule(clock)
    _save([clock], now)
    return {**change, "due_at_after": _iso(clock.due_at)}


def clocks_restore_start(*, clock_id: int, started_at: datetime, added_seconds: float, now: datetime) -> None:
    """Undoes clocks_start_earlier on a clock still live (one that was met or stopped since stays so)."""
    clock = SlaClock.objects.select_for_update().filter(pk=clock_id, status__in=LIVE).first()
    if clock is None:
        return
    clock.started_at = started_at
    clock.consumed_seconds = max(clock.consumed_seconds - added_seconds, 0.0)
    schedule(clock)
    _save([clock], now)


def clocks_revive(*, clock_states: Sequence[tuple[int, str]], stopped_at: datetime, now: datetime) -> None:
    """Clocks stopped at `stopped_at` (not because a target was met) go back to the state they had, as
    if never stopped: the time since counts. Given as (clock id, status before). A clock whose kind has
    started again meanwhile stays stopped (one live clock per kind)."""
    states = dict(clock_states)
    clocks = list(
        SlaClock.objects.select_for_update()
        .filter(pk__in=list(states), status=ClockStatus.STOPPED, stopped_at=stopped_at)
        .order_by("id")
    )
    revived: list[SlaClock] = []
    for clock in clocks:
        if any(c.reference == clock.reference for c in _live_clocks(clock.incident_id, [clock.kind])):
            continue
        clock.stopped_at = None
        if states[clock.pk] == ClockStatus.PAUSED:
            clock.status = ClockStatus.PAUSED
            clock.paused_at = stopped_at
            clock.due_at = clock.warn_at = clock.next_fire_at = None
        else:
            clock.status = ClockStatus.RUNNING
            clock.running_since = stopped_at
            schedule(clock)
        revived.append(clock)
    _save(revived, now)


def clocks_move(*, clock_ids: Sequence[int], to_incident_id: int, now: datetime) -> int:
    """Live clocks follow what they time to another incident (an approval step moves with its reply)."""
    return SlaClock.objects.filter(pk__in=list(clock_ids), status__in=LIVE).update(
        incident_id=to_incident_id, updated_at=now
    )


def clocks_on_status_change(*, incident_id: int, old: str, new: str, now: datetime) -> None:
    waiting = IncidentStatus.WAITING_ON_CUSTOMER
    if new == waiting and old != waiting:
        clocks_pause(incident_id=incident_id, now=now)
    elif old == waiting and new != waiting:
        clocks_resume(incident_id=incident_id, now=now)


def clocks_recompute(*, incident: Incident, actor: Any, now: datetime, reason: str) -> None:
    """The priority or category changed: every live clock takes the new policy's target and calendar
    (the escalation chain frozen at its start stays). The timeline records old and new deadlines."""
    book = sla_policy_book()
    policy = book.policy_for(category_id=incident.category_id, priority=incident.priority)
    clocks = _live_clocks(
        incident.pk, [ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE, ClockKind.RESOLUTION]
    )
    changes: list[dict[str, Any]] = []
    to_save: list[SlaClock] = []
    for clock in clocks:
        before = {"policy": clock.policy_name, "due_at": _iso(clock.due_at)}
        target = policy.target_seconds(clock.kind) if policy is not None else None
        if policy is None or target is None:
            _consume(clock, now)
            clock.status = ClockStatus.STOPPED
            clock.stopped_at = now
            clock.next_fire_at = None
            changes.append({"clock": clock.kind, "before": before, "after": {"policy": None, "due_at": None}})
            to_save.append(clock)
            continue
        was_running = clock.status == ClockStatus.RUNNING
        _consume(clock, now)
        # Business time already used is re-measured on the new calendar from the clock's start.
        clock.calendar = policy.calendar.to_json()
        clock.calendar_name = policy.calendar_name
        clock.policy_id = policy.policy_id
        clock.policy_name = policy.name
        clock.target_seconds = target
        clock.warn_after_seconds = policy.warn_after_seconds(target)
        if was_running:
            clock.running_since = now
            schedule(clock)
        else:
            clock.running_since = None
        changes.append(
            {
                "clock": clock.kind,
                "before": before,
                "after": {"policy": policy.name, "due_at": _iso(clock.due_at)},
            }
        )
        to_save.append(clock)
    _save(to_save, now)
    if policy is not None:
        present = {c.kind for c in clocks}
        started = [
            c
            for kind in INCIDENT_CLOCKS
            if kind not in present and incident.is_open and not _ever_had(incident.pk, kind)
            for c in [
                new_clock(
                    incident_id=incident.pk, kind=kind, policy=policy, started_at=incident.created_at, now=now
                )
            ]
            if c is not None
        ]
        if started:
            SlaClock.objects.bulk_create(started)
            for clock in started:
                changes.append(
                    {
                        "clock": clock.kind,
                        "before": {"policy": None, "due_at": None},
                        "after": {"policy": policy.name, "due_at": _iso(clock.due_at)},
                    }
                )
    if changes:
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.DEADLINES_CHANGED,
            actor=actor,
            before={c["clock"]: c["before"] for c in changes},
            after={c["clock"]: c["after"] for c in changes},
            note=reason,
        )
    incident_sla_sync(incident_ids=[incident.pk])


def _ever_had(incident_id: int, kind: str) -> bool:
    return SlaClock.objects.filter(incident_id=incident_id, kind=kind).exists()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def clocks_on_customer_message(*, incident_ids: Sequence[int], now: datetime) -> None:
    """New mentions on existing incidents: if the team had already answered, a next-response clock
    starts; an incident waiting on the customer goes back to in progress (its resolution clock resumes)."""
    if not incident_ids:
        return
    rows = list(
        Incident.objects.filter(pk__in=list(incident_ids), status__in=OPEN_STATUS_VALUES)
        .filter(Q(first_responded_at__isnull=False) | Q(status=IncidentStatus.WAITING_ON_CUSTOMER))
        .values_list("pk", "category_id", "priority", "status", "first_responded_at")
    )
    if not rows:
        return
    book = sla_policy_book()
    live_next = set(
        SlaClock.objects.filter(
            incident_id__in=[r[0] for r in rows], kind=ClockKind.NEXT_RESPONSE, status__in=LIVE
        ).values_list("incident_id", flat=True)
    )
    new_clocks: list[SlaClock] = []
    for incident_id, category_id, priority, status, first_responded_at in rows:
        if status == IncidentStatus.WAITING_ON_CUSTOMER:
            updated = Incident.objects.filter(pk=incident_id, status=status).update(
                status=IncidentStatus.IN_PROGRESS, updated_at=now
            )
            if updated:
                timeline_append(
                    incident_id=incident_id,
                    kind=EventKind.STATUS_CHANGED,
                    actor=None,
                    before={"status": status},
                    after={"status": IncidentStatus.IN_PROGRESS},
                    note="The customer replied",
                )
                clocks_resume(incident_id=incident_id, now=now)
                incident_updated_emit(
                    incident_id=incident_id,
                    before={"status": status},
                    after={"status": IncidentStatus.IN_PROGRESS},
                )
        if first_responded_at is None or incident_id in live_next:
            continue
        policy = book.policy_for(category_id=category_id, priority=priority)
        if policy is None:
            continue
        clock = new_clock(
            incident_id=incident_id, kind=ClockKind.NEXT_RESPONSE, policy=policy, started_at=now, now=now
        )
        if clock is not None:
            new_clocks.append(clock)
    if new_clocks:
        SlaClock.objects.bulk_create(new_clocks)
    incident_sla_sync(incident_ids=[r[0] for r in rows])


# --- the incident's summary of its clocks ---------------------------------------------------------

_SYNC_SQL = """
UPDATE incidents_incident AS i SET sla_state = s.state, sla_due_at = s.due
FROM (
    SELECT ids.id,
        CASE
            WHEN bool_or(c.status = 'running' AND c.breached_at IS NOT NULL) THEN 'breached'
            WHEN bool_or(c.status = 'running' AND c.warned_at IS NOT NULL) THEN 'warning'
            WHEN bool_or(c.status = 'running') THEN 'ok'
            WHEN bool_or(c.status = 'paused') THEN 'paused'
            ELSE 'none'
        END AS state,
        min(c.due_at) FILTER (WHERE c.status = 'running') AS due
    FROM unnest(%s::bigint[]) AS ids(id)
    LEFT JOIN incidents_slaclock AS c ON c.incident_id = ids.id AND c.status IN ('running', 'paused')
        AND c.kind IN ('first_response', 'next_response', 'resolution', 'approval_step')
    GROUP BY ids.id
) AS s
WHERE i.id = s.id AND (i.sla_state IS DISTINCT FROM s.state OR i.sla_due_at IS DISTINCT FROM s.due)
"""


def incident_sla_sync(*, incident_ids: Sequence[int]) -> int:
    """Brings each incident's `sla_state` / `sla_due_at` in line with its live clocks (one statement)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_SYNC_SQL, [ids])
        return cursor.rowcount


def now_bound() -> datetime:
    """The moment a sweep compares against: one bound value, so the partial index on `next_fire_at` is
    used (a volatile `now()` in SQL would not be) and the whole batch agrees on what is due."""
    return timezone.now()
