"""The SLA sweeper: claims due clocks with FOR UPDATE SKIP LOCKED, records each warning, breach and
escalation step exactly once (timeline event + notifications, same transaction) and moves clocks on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.urls import reverse

from config.prepared import Prepared
from incidents.models import (
    OPEN_STATUS_VALUES,
    ClockKind,
    EventKind,
    FiringKind,
    Incident,
    SlaClock,
    TimelineEvent,
)
from incidents.services import clocks as clock_service
from incidents.services.clocks import DueEvent, advance, incident_sla_sync, next_event, now_bound
from incidents.services.crisis import crisis_current, crisis_on_clock, crisis_start
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Digest, Message, drafts_for, messages_coalesce
from incidents.services.timeline import SystemEvent, timeline_append_many
from incidents.services.webhooks import EventItem, incident_updated_emit, webhook_events_emit
from protocols.models import EscalationAction, Priority, Role, RoleAssignment

BATCH = 500
MAX_EVENTS_PER_CLOCK = 100  # a clock overdue for a long time fires its backlog in order, boundedly
RAISED = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH, Priority.HIGH: Priority.CRITICAL}
CLOCK_LABELS = dict(ClockKind.choices)
CRISIS_CLOCKS = (ClockKind.CRISIS_UPDATE, ClockKind.CRISIS_EXPIRY)
# firing kind -> (timeline event, notification kind, subject headline, timeline note, "due" verb)
TARGET_WORDING: dict[str, tuple[str, str, str, str, str]] = {
    FiringKind.WARNING: (
        EventKind.SLA_WARNING,
        "sla_warning",
        "Due soon",
        "The {what} target is close",
        "is due at",
    ),
    FiringKind.BREACH: (
        EventKind.SLA_BREACHED,
        "sla_breach",
        "Missed",
        "The {what} target was missed",
        "was due at",
    ),
}
# One statement for the whole batch (Django's bulk_update builds a CASE per row and column, which
# PostgreSQL plans slowly for hundreds of rows).
_SAVE_SQL = """
UPDATE incidents_slaclock AS c
SET warned_at = v.warned_at, breached_at = v.breached_at, next_step = v.next_step,
    step_repeats = v.step_repeats, next_fire_at = v.next_fire_at, updated_at = v.updated_at
FROM unnest(
    %s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[],
    %s::timestamptz[], %s::timestamptz[]
) AS v(id, warned_at, breached_at, next_step, step_repeats, next_fire_at, updated_at)
WHERE c.id = v.id
"""

_INSERT_FIRINGS_SQL = """
INSERT INTO incidents_clockfiring (clock_id, kind, level, scheduled_at, fired_at)
SELECT c, k, l, s, clock_timestamp()
FROM unnest(%s::bigint[], %s::varchar[], %s::int[], %s::timestamptz[]) AS f(c, k, l, s)
ON CONFLICT (clock_id, kind, level) DO NOTHING
RETURNING clock_id, kind, level
"""


def sla_sweep_batch(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """One batch: returns how many due clocks it claimed (0 = nothing was due)."""
    now = now if now is not None else now_bound()
    with transaction.atomic():
        clocks = list(due_clocks(now=now, limit=limit))
        if not clocks:
            return 0
        due: list[tuple[SlaClock, DueEvent]] = []
        for clock in clocks:
            # Re-checked here, under the row lock: what is due is computed from the row as it is now.
            for _ in range(MAX_EVENTS_PER_CLOCK):
                event = next_event(clock)
                if event is None or event.moment > now:
                    break
                due.append((clock, event))
                advance(clock, event)
            clock.updated_at = now
        recorded = _record(due)
        fired = [(clock, event) for clock, event in due if (clock.pk, event.kind, event.level) in recorded]
        _save(clocks)
        if fired:
            _apply(fired, now)
        incident_sla_sync(incident_ids=[c.incident_id for c in clocks])
    return len(clocks)


def due_clocks(*, now: datetime, limit: int) -> QuerySet[SlaClock]:
    """The claim: due running clocks, oldest first, skipping rows another sweeper holds. `now` is a
    bound parameter, so the partial index on next_fire_at serves it."""
    return (
        SlaClock.objects.select_for_update(skip_locked=True)
        # What fires is computed from the stored moments and the frozen chain, never from the calendar:
        # leaving it out saves decoding a JSON document per clock.
        .defer("calendar")
        .filter(status="running", next_fire_at__isnull=False, next_fire_at__lte=now)
        .order_by("next_fire_at")[:limit]
    )


def sla_sweep(*, limit: int = BATCH, max_batches: int = 1000, now: datetime | None = None) -> int:
    """Drains every due clock, batch by batch, each batch with a fresh "now" (unless one is given)."""
    total = 0
    for _ in range(max_batches):
        claimed = sla_sweep_batch(now=now, limit=limit)
        total += claimed
        if claimed < limit:
            break
    return total


_ANY_DUE_SQL = Prepared(
    "fb_sla_any_due",
    ("timestamptz",),
    "SELECT 1 FROM incidents_slaclock WHERE status = 'running' AND next_fire_at IS NOT NULL "
    "AND next_fire_at <= %s LIMIT 1",
)
SWEEP_LOCK_NAMESPACE = 7302  # pg_advisory_lock(namespace, slot); 7301 is ingestion's


def sla_sweep_if_free(*, slots: int, limit: int = BATCH) -> int | None:
    """Sweeps if anything is due and one of `slots` sweeper slots is free; None when every slot is
    busy. The slots are PostgreSQL session advisory locks: a worker killed mid-sweep loses its
    connection and with it the lock, so the next tick sweeps at once (a lock with an expiry would
    stall the engine until it ran out). Must run outside a transaction (a Celery task does)."""
    with connection.cursor() as cursor:
        # Most ticks find nothing due: one prepared index probe answers that without a lock or a
        # transaction, so an idle engine costs less than a queue page.
        _ANY_DUE_SQL.execute(cursor, (now_bound(),))
        if cursor.fetchone() is None:
            return 0
        for slot in range(max(slots, 1)):
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SWEEP_LOCK_NAMESPACE, slot])
            if cursor.fetchone()[0]:
                break
        else:
            return None
    try:
        return sla_sweep(limit=limit)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SWEEP_LOCK_NAMESPACE, slot])


def _save(clocks: Sequence[SlaClock]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _SAVE_SQL,
            [
                [c.pk for c in clocks],
                [c.warned_at for c in clocks],
                [c.breached_at for c in clocks],
                [c.next_step for c in clocks],
                [c.step_repeats for c in clocks],
                [c.next_fire_at for c in clocks],
                [c.updated_at for c in clocks],
            ],
        )


def _record(due: Sequence[tuple[SlaClock, DueEvent]]) -> set[tuple[int, str, int]]:
    """Inserts the firings; the unique key drops any that already happened. Returns the new ones.
    `fired_at` is the database's wall clock at insert, so the recorded lag is the real one."""
    if not due:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_FIRINGS_SQL,
            [
                [c.pk for c, _ in due],
                [str(e.kind) for _, e in due],
                [e.level for _, e in due],
                [e.moment for _, e in due],
            ],
        )
        return {(row[0], row[1], row[2]) for row in cursor.fetchall()}


def _apply(fired: Sequence[tuple[SlaClock, DueEvent]], now: datetime) -> None:
    incidents = {
        i.pk: i
        for i in Incident.objects.filter(pk__in={c.incident_id for c, _ in fired}).only(
            "id", "title", "priority", "status", "assignee_id", "assigned_role", "category_id", "created_at"
        )
    }
    events: list[SystemEvent] = []
    messages: list[Message] = []
    hooks: dict[str, list[EventItem]] = {FiringKind.WARNING: [], FiringKind.BREACH: []}
    actions: list[tuple[Incident, SlaClock, dict[str, Any]]] = []
    for clock, event in fired:
        if clock.kind in CRISIS_CLOCKS:
            if event.kind == FiringKind.BREACH:
                crisis_on_clock(clock=clock, now=now)
            continue
        incident = incidents[clock.incident_id]
        what = CLOCK_LABELS.get(clock.kind, clock.kind).lower()
        key = f"firing:{clock.pk}:{event.kind}:{event.level}"
        link = incident_link(incident.pk)
        common = {
            "clock": clock.kind,
            "clock_id": clock.pk,
            "scheduled_at": event.moment.isoformat(),
            "due_at": clock.due_at.isoformat() if clock.due_at else None,
            "policy": clock.policy_name,
        }
        if event.kind in TARGET_WORDING:
            event_kind, message_kind, headline, note, verb = TARGET_WORDING[event.kind]
            events.append(_event(incident.pk, event_kind, common, note.format(what=what)))
            hooks[event.kind].append(
                EventItem(
                    data={
                        "target": clock.kind,
                        "policy": clock.policy_name,
                        "due_at": common["due_at"],
                        "scheduled_at": common["scheduled_at"],
                    },
                    incident_id=incident.pk,
                )
            )
            messages.append(
                Message(
                    key=key,
                    kind=message_kind,
                    subject=f"{headline}: {what} on #{incident.pk} {incident.title}",
                    body=f"The {what} target ({clock.policy_name}) {verb} {_when(clock.due_at)}.",
                    link=link,
                    incident_id=incident.pk,
                    **_owners(incident, clock),
                )
            )
        else:
            step = event.step or {}
            repeat = event.level % 1000
            label = step.get("label", step.get("action", "step"))
            note = f"{clock.chain_name}: {label}" + (f" (repeat {repeat})" if repeat else "")
            events.append(
                _event(incident.pk, EventKind.ESCALATED, {**common, "step": step, "repeat": repeat}, note)
            )
            messages.extend(_step_messages(step, incident, key, what, link, repeat))
            if step.get("action") in (
                EscalationAction.REASSIGN_ROLE,
                EscalationAction.RAISE_PRIORITY,
                EscalationAction.OPEN_CRISIS,
            ):
                actions.append((incident, clock, step))
    timeline_append_many(events=events, at=now)
    # One statement per event type for the whole batch, like the timeline and the notifications.
    webhook_events_emit(event="sla.warning", items=hooks[FiringKind.WARNING])
    webhook_events_emit(event="sla.breached", items=hooks[FiringKind.BREACH])
    digest_after = settings.FIREBREAK_NOTIFY_DIGEST_AFTER
    notifications_enqueue(
        items=drafts_for(messages_coalesce(messages, after=digest_after, digests=_digests()))
    )
    for incident, clock, step in actions:
        _act(incident, clock, step, now)


def _owners(incident: Incident, clock: SlaClock) -> dict[str, Any]:
    """Warnings and breaches go to the assignee, or to the on-duty members of the routed role; an
    approval step's go to the role that must decide (the last part of the clock's reference)."""
    if clock.kind == ClockKind.APPROVAL_STEP and clock.reference.count(":") >= 4:
        return {"roles": [clock.reference.rsplit(":", 1)[1]]}
    if incident.assignee_id:
        return {"user_ids": [incident.assignee_id]}
    return {"roles": [incident.assigned_role or Role.RESPONDER]}


def _step_messages(
    step: dict[str, Any], incident: Incident, key: str, what: str, link: str, repeat: int
) -> list[Message]:
    action = step.get("action")
    subject = f"Escalated: {what} on #{incident.pk} {incident.title}"
    body = f"Escalation step: {step.get('label', action)}" + (f" (reminder {repeat})" if repeat else "")
    base: dict[str, Any] = {
        "key": key,
        "kind": "escalation",
        "subject": subject,
        "body": body,
        "link": link,
        "incident_id": incident.pk,
    }
    if action == EscalationAction.NOTIFY_ROLE:
        return [Message(**base, roles=[step["role"]])]
    if action == EscalationAction.NOTIFY_USER and step.get("user_id"):
        return [Message(**base, user_ids=[step["user_id"]])]
    if action in (EscalationAction.NOTIFY_MANAGEMENT, EscalationAction.OPEN_CRISIS):
        roles = [Role.MANAGER] if action == EscalationAction.NOTIFY_MANAGEMENT else [Role.MANAGER, Role.PR]
        if action == EscalationAction.OPEN_CRISIS:
            base["subject"] = f"Crisis mode requested: #{incident.pk} {incident.title}"
            base["kind"] = "crisis_requested"
        return [Message(**base, roles=roles)]
    return []  # reassign / raise priority notify through their own change (see _act)


def _act(incident: Incident, clock: SlaClock, step: dict[str, Any], now: datetime) -> None:
    """The escalation steps that change the incident: compare-and-set, with a timeline event each."""
    action = step.get("action")
    if incident.status not in OPEN_STATUS_VALUES:
        return
    if action == EscalationAction.REASSIGN_ROLE:
        role = step["role"]
        assignee_id = least_loaded_member(role=role)
        before = {"assignee_id": incident.assignee_id, "assigned_role": incident.assigned_role}
        updated = Incident.objects.filter(
            pk=incident.pk, assignee_id=incident.assignee_id, assigned_role=incident.assigned_role
        ).update(assignee_id=assignee_id, assigned_role=role, updated_at=now)
        if updated:
            TimelineEvent.objects.create(
                incident_id=incident.pk,
                kind=EventKind.ASSIGNED,
                actor_label="escalation",
                before=before,
                after={"assignee_id": assignee_id, "assigned_role": role},
                note=f"Reassigned by escalation ({clock.chain_name})",
                created_at=now,
            )
            incident_updated_emit(
                incident_id=incident.pk,
                before={"assignee_id": incident.assignee_id, "assigned_role": incident.assigned_role},
                after={"assignee_id": assignee_id, "assigned_role": role},
            )
            incident.assignee_id, incident.assigned_role = assignee_id, role
            subject = f"Assigned to you by escalation: #{incident.pk} {incident.title}"
            message = Message(
                key=f"reassign:{clock.pk}:{clock.next_step}:{incident.pk}",
                kind="escalation",
                subject=subject,
                link=incident_link(incident.pk),
                incident_id=incident.pk,
                user_ids=[assignee_id] if assignee_id else [],
                roles=[] if assignee_id else [role],
            )
            notifications_enqueue(items=drafts_for([message]))
    elif action == EscalationAction.RAISE_PRIORITY:
        raised = RAISED.get(Priority(incident.priority))
        if raised is None:
            return
        updated = Incident.objects.filter(pk=incident.pk, priority=incident.priority).update(
            priority=raised, updated_at=now
        )
        if updated:
            TimelineEvent.objects.create(
                incident_id=incident.pk,
                kind=EventKind.PRIORITY_CHANGED,
                actor_label="escalation",
                before={"priority": incident.priority},
                after={"priority": raised},
                note=f"Raised by escalation ({clock.chain_name})",
                created_at=now,
            )
            incident_updated_emit(
                incident_id=incident.pk, before={"priority": incident.priority}, after={"priority": raised}
            )
            incident.priority = raised
            clock_service.clocks_recompute(
                incident=Incident.objects.get(pk=incident.pk),
                actor=None,
                now=now,
                reason="Priority raised by escalation",
            )
    elif action == EscalationAction.OPEN_CRISIS:
        # The step switches crisis mode on (its own timeline event says so); if a crisis is already on,
        # the request is recorded and managers and PR decide.
        already_on = crisis_current() is not None
        TimelineEvent.objects.create(
            incident_id=incident.pk,
            kind=EventKind.CRISIS_REQUESTED,
            actor_label="escalation",
            after={"clock": clock.kind, "crisis_already_on": already_on},
            note=f"Crisis mode requested by escalation ({clock.chain_name}); managers and PR were notified",
            created_at=now,
        )
        if not already_on:
            crisis_start(
                actor=None,
                reason=f"Escalation step of {clock.chain_name!r} on #{incident.pk} {incident.title}",
                incident_id=incident.pk,
            )


@lru_cache(maxsize=1)
def _digests() -> dict[str, Digest]:
    """A sweep that would send one audience more than FIREBREAK_NOTIFY_DIGEST_AFTER of these sends one
    digest instead, linking to the queue filtered to what it is about."""
    queue = reverse("incidents:queue")
    return {
        "sla_warning": Digest("targets are about to be missed", f"{queue}?sla_state=warning&sort=deadline"),
        "sla_breach": Digest("targets were missed", f"{queue}?sla_state=breached&sort=deadline"),
        "escalation": Digest("escalation steps fired", f"{queue}?sla_state=breached&sort=deadline"),
    }


def incident_link(incident_id: int) -> str:
    # reverse() once: resolving the URL for each of thousands of firings would dominate a sweep.
    return _incident_path().replace("/0/", f"/{incident_id}/")


@lru_cache(maxsize=1)
def _incident_path() -> str:
    return reverse("incidents:incident_detail", args=[0])


def least_loaded_member(*, role: str) -> int | None:
    """The on-duty member of `role` with the fewest open incidents assigned (ties: lowest id)."""
    members = list(
        RoleAssignment.objects.filter(role=role, is_on_duty=True, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    if not members:
        return None
    loads = dict(
        Incident.objects.filter(assignee_id__in=members, status__in=OPEN_STATUS_VALUES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return min(members, key=lambda user_id: (loads.get(user_id, 0), user_id))


def _event(incident_id: int, kind: str, after: dict[str, Any], note: str) -> SystemEvent:
    return SystemEvent(incident_id=incident_id, kind=kind, actor_label="SLA clock", after=after, note=note)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def oldest_overdue(*, now: datetime | None = None) -> datetime | None:
    """The earliest moment that should already have fired and has not (None: nothing overdue)."""
    now = now if now is not None else now_bound()
    moment = (
        SlaClock.objects.filter(status="running", next_fire_at__isnull=False, next_fire_at__lte=now)
        .order_by("next_fire_at")
        .values_list("next_fire_at", flat=True)
        .first()
    )
    return moment
