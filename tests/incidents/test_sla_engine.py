"""The SLA engine with time moved by time_machine: clocks start from the policy, warn, breach and
escalate once each at the right moment, stop when someone acts, pause, resume and recompute."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import ClockFiring, Incident, Notification, SlaClock, TimelineEvent
from incidents.services.clocks import clocks_start
from incidents.services.incidents import (
    incident_acknowledge,
    incident_create,
    incident_reopen,
    incident_resolve,
    incident_respond,
    incident_set_priority,
    incident_set_status,
)
from incidents.services.ingestion import mentions_ingest
from incidents.services.sweeper import sla_sweep
from protocols.models import EscalationChain, EscalationStep, Role, SlaPolicy
from tests.factories import IncidentFactory, UserFactory, mention_payload
from tests.sla import STOCKHOLM, T0, at, high_chain, make_policies


def kinds(incident: Incident, *only: str) -> list[str]:
    qs = TimelineEvent.objects.filter(incident=incident).order_by("id")
    if only:
        qs = qs.filter(kind__in=only)
    return list(qs.values_list("kind", flat=True))


def clock(incident: Incident, kind: str) -> SlaClock:
    return SlaClock.objects.filter(incident=incident, kind=kind).order_by("-id").first()  # type: ignore[return-value]


@pytest.fixture
def chain(db: Any, manager: Any) -> EscalationChain:
    return high_chain(manager=manager)


@pytest.fixture
def policies(db: Any, chain: EscalationChain) -> dict[str, SlaPolicy]:
    return make_policies(chain=chain)


def high_incident(actor: Any, **extra: Any) -> Incident:
    return incident_create(actor=actor, title="Blender exploded", priority="high", **extra)


@pytest.mark.django_db
def test_a_new_incident_starts_its_clocks_from_the_matching_policy(responder: Any, policies: Any) -> None:
    with at(T0):
        incident = high_incident(responder)
    first = clock(incident, "first_response")
    assert first.policy_name == "High" and first.calendar_name == "24/7"
    assert first.due_at == T0 + timedelta(hours=1)
    assert first.warn_at == T0 + timedelta(minutes=45)
    assert first.next_fire_at == T0 + timedelta(minutes=45)
    assert clock(incident, "resolution").due_at == T0 + timedelta(hours=24)
    incident.refresh_from_db()
    assert incident.sla_state == "ok" and incident.sla_due_at == T0 + timedelta(hours=1)
    # A normal-priority incident falls back to the default policy, on office hours.
    friday_evening = datetime(2026, 11, 20, 16, 45, tzinfo=STOCKHOLM)
    with at(friday_evening):
        routine = incident_create(actor=responder, title="Late parcel")
    # 24 business hours from Friday 16:45 = 15 min Friday + 8 h x 2 days + 7 h 45 min on Wednesday.
    assert clock(routine, "first_response").due_at == datetime(2026, 11, 25, 16, 45, tzinfo=STOCKHOLM)


@pytest.mark.django_db
def test_warning_breach_and_every_step_fire_once_in_order(
    responder: Any, manager: Any, pr_user: Any, policies: Any
) -> None:
    with at(T0):
        incident = high_incident(responder)
    first = clock(incident, "first_response")
    # Nothing is due before the warning; sweeping twice at the same moment changes nothing.
    with at(T0 + timedelta(minutes=44, seconds=59)):
        sla_sweep()
    assert kinds(incident, "sla_warning", "sla_breached", "escalated") == []
    moments = [
        (T0 + timedelta(minutes=45), ["sla_warning", "escalated"]),  # warning + the warning step
        (T0 + timedelta(minutes=60), ["sla_breached", "escalated"]),  # breach + notify manager
        (T0 + timedelta(minutes=70), ["escalated"]),  # repeat 1
        (T0 + timedelta(minutes=80), ["escalated"]),  # repeat 2
        (T0 + timedelta(minutes=90), ["escalated"]),  # raise priority
    ]
    seen: list[str] = []
    for moment, expected in moments:
        for _ in range(2):
            with at(moment):
                sla_sweep()
        seen += expected
        assert kinds(incident, "sla_warning", "sla_breached", "escalated") == seen, moment
    firings = list(
        ClockFiring.objects.filter(clock=first).order_by("id").values_list("kind", "level", "scheduled_at")
    )
    assert firings[:3] == [
        ("warning", 0, T0 + timedelta(minutes=45)),
        ("step", 0, T0 + timedelta(minutes=45)),
        ("breach", 0, T0 + timedelta(minutes=60)),
    ]
    incident.refresh_from_db()
    assert incident.priority == "critical"  # raised by the last step
    assert incident.sla_state == "breached"
    # The manager was told at the breach and twice more; the PR member at the warning.
    assert Notification.objects.filter(recipient=manager, kind="escalation", channel="in_app").count() == 3
    assert Notification.objects.filter(recipient=pr_user, kind="escalation", channel="in_app").count() == 1
    assert Notification.objects.filter(recipient=responder, kind="sla_breach", channel="in_app").count() == 1
    # Nothing is left to fire on the first-response clock once the chain is done.
    first.refresh_from_db()
    assert first.next_fire_at is None
    with at(T0 + timedelta(hours=5)):
        sla_sweep()
    assert ClockFiring.objects.filter(clock=first).count() == len(firings)


@pytest.mark.django_db
def test_a_late_sweep_fires_the_backlog_once_and_in_order(
    responder: Any, manager: Any, policies: Any
) -> None:
    with at(T0):
        incident = high_incident(responder)
    with at(T0 + timedelta(minutes=75)):  # the worker was down for 75 minutes
        sla_sweep()
    assert kinds(incident, "sla_warning", "sla_breached", "escalated") == [
        "sla_warning",
        "escalated",
        "sla_breached",
        "escalated",
        "escalated",
    ]
    scheduled = list(
        ClockFiring.objects.filter(clock__incident=incident)
        .order_by("id")
        .values_list("scheduled_at", flat=True)
    )
    assert scheduled == sorted(scheduled)


@pytest.mark.django_db
def test_acting_on_the_incident_stops_the_remaining_steps(
    responder: Any, manager: Any, policies: Any
) -> None:
    with at(T0):
        acknowledged = high_incident(responder)
        answered = high_incident(responder)
    with at(T0 + timedelta(minutes=61)):
        sla_sweep()
        incident_acknowledge(actor=responder, incident_id=acknowledged.pk)
        incident_respond(actor=responder, incident_id=answered.pk, note="Replied on X")
    with at(T0 + timedelta(hours=3)):
        sla_sweep()
    for incident in (acknowledged, answered):
        assert kinds(incident, "escalated") == ["escalated", "escalated"]  # warning step + breach step only
        assert Incident.objects.get(pk=incident.pk).priority == "high"
    # Acknowledging stops escalations, not the target: the resolution clock still runs for the first.
    assert clock(acknowledged, "first_response").status == "running"
    answered_clock = clock(answered, "first_response")
    assert answered_clock.status == "stopped" and answered_clock.breached_at is not None
    respond_event = TimelineEvent.objects.get(incident=answered, kind="responded")
    assert respond_event.after["targets"] == {"first_response": "missed"}


@pytest.mark.django_db
def test_editing_the_chain_mid_escalation_changes_nothing_running(
    responder: Any, manager: Any, chain: EscalationChain, policies: Any
) -> None:
    with at(T0):
        incident = high_incident(responder)
    with at(T0 + timedelta(minutes=60)):
        sla_sweep()
    # An admin removes the repeats and the priority step, and adds a new step.
    chain.steps.filter(position=3).delete()
    chain.steps.filter(position=2).update(repeat_times=0)
    EscalationStep.objects.create(
        chain=chain, position=4, trigger="breach", delay_minutes=5, action="notify_management"
    )
    with at(T0 + timedelta(minutes=95)):
        sla_sweep()
    steps = TimelineEvent.objects.filter(incident=incident, kind="escalated").order_by("id")
    assert [e.after["step"]["action"] for e in steps] == [
        "notify_role",
        "notify_user",
        "notify_user",
        "notify_user",
        "raise_priority",
    ]
    # A clock started after the edit takes the new chain.
    with at(T0 + timedelta(minutes=95)):
        later = high_incident(responder)
    assert [s["action"] for s in clock(later, "first_response").chain] == [
        "notify_role",
        "notify_user",
        "notify_management",
    ]


@pytest.mark.django_db
def test_waiting_on_the_customer_pauses_resolution_across_a_weekend(responder: Any, policies: Any) -> None:
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=STOCKHOLM)
    with at(friday):
        incident = incident_create(actor=responder, title="Where is my refund")
    resolution = clock(incident, "resolution")
    # 72 business hours from Friday 15:00: 2 h on Friday, eight 8-hour days, 6 h on the ninth.
    assert resolution.due_at == datetime(2026, 12, 3, 15, 0, tzinfo=STOCKHOLM)
    with at(friday + timedelta(hours=1)):
        incident_set_status(actor=responder, incident_id=incident.pk, status="waiting_on_customer")
    paused = clock(incident, "resolution")
    assert paused.status == "paused" and paused.consumed_seconds == 3600 and paused.next_fire_at is None
    assert Incident.objects.get(pk=incident.pk).sla_state == "ok"  # first response still runs
    monday = datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM)
    with at(monday):
        incident_set_status(actor=responder, incident_id=incident.pk, status="in_progress")
    resumed = clock(incident, "resolution")
    assert resumed.status == "running"
    assert resumed.paused_for_seconds == (monday - (friday + timedelta(hours=1))).total_seconds()
    # 71 business hours left from Monday 11:00: 6 h on Monday, eight 8-hour days, 1 h on the next one.
    assert resumed.due_at == datetime(2026, 12, 4, 10, 0, tzinfo=STOCKHOLM)
    # The 3 business hours spent waiting (Friday 16-17, Monday 09-11) were added back.
    assert resumed.due_at == datetime(2026, 12, 3, 17, 0, tzinfo=STOCKHOLM) + timedelta(hours=17)


@pytest.mark.django_db
def test_resolve_stops_and_reopen_resumes_with_a_new_next_response_clock(
    responder: Any, policies: Any
) -> None:
    with at(T0):
        incident = high_incident(responder)
    with at(T0 + timedelta(hours=2)):
        incident_resolve(actor=responder, incident_id=incident.pk)
    stopped = clock(incident, "resolution")
    assert stopped.status == "stopped" and stopped.consumed_seconds == 7200
    assert Incident.objects.get(pk=incident.pk).sla_state == "none"
    with at(T0 + timedelta(hours=10)):
        incident_reopen(actor=responder, incident_id=incident.pk)
    resumed = clock(incident, "resolution")
    assert resumed.pk == stopped.pk and resumed.status == "running"
    assert resumed.due_at == T0 + timedelta(hours=10) + timedelta(hours=22)
    next_response = clock(incident, "next_response")
    assert next_response.status == "running" and next_response.due_at == T0 + timedelta(hours=11)


@pytest.mark.django_db
def test_a_priority_change_recomputes_the_deadlines_and_says_so(responder: Any, policies: Any) -> None:
    with at(T0):
        incident = high_incident(responder)
    with at(T0 + timedelta(minutes=10)):
        incident_set_priority(actor=responder, incident_id=incident.pk, priority="critical")
    first = clock(incident, "first_response")
    assert first.policy_name == "Critical"
    assert first.due_at == T0 + timedelta(minutes=15)  # 10 of its 15 minutes are already used
    event = TimelineEvent.objects.get(incident=incident, kind="deadlines_changed")
    assert event.before["first_response"] == {
        "policy": "High",
        "due_at": (T0 + timedelta(hours=1)).isoformat(),
    }
    assert event.after["first_response"] == {
        "policy": "Critical",
        "due_at": (T0 + timedelta(minutes=15)).isoformat(),
    }
    assert event.note == "Priority changed"


@pytest.mark.django_db
def test_intake_starts_clocks_and_a_customer_reply_starts_next_response(
    responder: Any, integration: Any, policies: Any
) -> None:
    with at(T0):
        (created,) = mentions_ingest(
            items=[mention_payload(1, thread_id="t-1")], actor=integration, actor_label="api"
        )
    incident = Incident.objects.get(pk=created.incident_id)
    assert {c.kind for c in incident.clocks.all()} == {"first_response", "resolution"}
    assert incident.sla_state == "ok"
    with at(T0 + timedelta(minutes=5)):
        incident_respond(actor=responder, incident_id=incident.pk)
    with at(T0 + timedelta(minutes=20)):
        mentions_ingest(items=[mention_payload(2, thread_id="t-1")], actor=integration, actor_label="api")
    reply_clock = clock(incident, "next_response")
    assert reply_clock.status == "running"
    assert reply_clock.policy_name == "Routine"
    # A customer reply on an incident waiting on them puts it back to work and resumes the clock.
    with at(T0 + timedelta(minutes=30)):
        incident_set_status(actor=responder, incident_id=incident.pk, status="waiting_on_customer")
    with at(T0 + timedelta(minutes=50)):
        mentions_ingest(items=[mention_payload(3, thread_id="t-1")], actor=integration, actor_label="api")
    incident.refresh_from_db()
    assert incident.status == "in_progress"
    assert clock(incident, "resolution").status == "running"


@pytest.mark.django_db
def test_an_incident_without_a_matching_policy_has_no_clocks(responder: Any) -> None:
    incident = incident_create(actor=responder, title="No plan yet")
    assert not incident.clocks.exists()
    assert Incident.objects.get(pk=incident.pk).sla_state == "none"


@pytest.mark.django_db
def test_reassign_step_picks_the_least_loaded_member_on_duty(responder: Any, policies: Any) -> None:
    busy = UserFactory(username="busy", roles=[Role.SUPPORT_LIAISON])
    free = UserFactory(username="free", roles=[Role.SUPPORT_LIAISON])
    off = UserFactory(username="off", roles=[Role.SUPPORT_LIAISON])
    off.role_assignments.update(is_on_duty=False)
    IncidentFactory(assignee=busy, status="in_progress")
    chain = EscalationChain.objects.create(name="Reassign")
    EscalationStep.objects.create(
        chain=chain, trigger="breach", action="reassign_role", role=Role.SUPPORT_LIAISON
    )
    policies["critical"].escalation_chain = chain
    policies["critical"].save()
    with at(T0):
        incident = incident_create(actor=responder, title="Smoke", priority="critical")
    with at(T0 + timedelta(minutes=16)):
        sla_sweep()
    incident.refresh_from_db()
    assert incident.assignee_id == free.pk and incident.assigned_role == Role.SUPPORT_LIAISON
    assert Notification.objects.filter(recipient=free, channel="in_app", kind="escalation").exists()


@pytest.mark.django_db
def test_clocks_start_is_idempotent_per_kind(responder: Any, policies: Any) -> None:
    """The database refuses a second live clock of the same kind on one incident."""
    from django.db import IntegrityError, transaction

    incident = high_incident(responder)
    with pytest.raises(IntegrityError), transaction.atomic():
        clocks_start(incident=incident, now=timezone.now())
