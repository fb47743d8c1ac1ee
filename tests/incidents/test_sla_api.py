"""Response-time clocks in the incidents API: list rows carry the SLA state, the detail explains each
clock as time moves, the queue filters on state and deadline, and respond/acknowledge act on the clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from incidents.models import ClockFiring, Incident, SlaClock, TimelineEvent
from incidents.services.incidents import incident_create, incident_set_status
from incidents.services.sweeper import sla_sweep
from protocols.models import SlaPolicy
from tests.factories import IncidentFactory
from tests.roles import ACKNOWLEDGERS, RESPONDERS, ROLES
from tests.sla import STOCKHOLM, T0, at, high_chain, make_policies

LIST = "/api/v1/incidents/"


@pytest.fixture
def policies(db: Any, manager: Any) -> dict[str, SlaPolicy]:
    # A routine target of one business hour, so a Friday-afternoon incident runs into the weekend.
    return make_policies(
        chain=high_chain(manager=manager),
        high_name="High priority",
        critical_name=None,
        routine={
            "first_response_minutes": 60,
            "next_response_minutes": None,
            "resolution_minutes": 8 * 60,
            "warn_at_percent": None,
        },
    )


@pytest.fixture
def api(api_for: Callable[[Any], APIClient], responder: Any) -> APIClient:
    return api_for(responder)


def detail(api: APIClient, incident: Any) -> dict[str, Any]:
    response = api.get(f"{LIST}{incident.pk}/")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def clock_of(body: dict[str, Any], kind: str) -> dict[str, Any]:
    clock: dict[str, Any] = next(c for c in body["clocks"] if c["kind"] == kind)
    return clock


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- the detail's clocks as time moves ------------------------------------------------------------------


def test_clocks_explain_themselves_through_warning_breach_and_acknowledgement(
    api: APIClient, responder: Any, policies: Any
) -> None:
    with at(T0):
        incident = incident_create(actor=responder, title="Blender exploded", priority="high")
    with at(T0 + timedelta(minutes=30)):
        body = detail(api, incident)
    assert [c["kind"] for c in body["clocks"]] == ["first_response", "resolution"]
    first = clock_of(body, "first_response")
    assert first["status"] == "running" and first["policy_name"] == "High priority"
    assert first["calendar_name"] == "24/7" and first["target_seconds"] == 3600
    assert first["business_seconds_left"] == 30 * 60 and first["consumed_seconds"] == 30 * 60
    assert first["explanation"] == (
        "High priority policy: first response within 1 h, counted 24/7; due 2026-11-16 11:00 UTC."
    )
    assert [(s["action"], s["state"]) for s in first["escalation_steps"]] == [
        ("notify_role", "pending"),
        ("notify_user", "pending"),
        ("raise_priority", "pending"),
    ]
    assert body["sla_state"] == "ok" and body["sla_due_at"] == "2026-11-16T11:00:00Z"

    with at(T0 + timedelta(minutes=46)):
        sla_sweep()
        body = detail(api, incident)
    first = clock_of(body, "first_response")
    assert first["warned_at"] == "2026-11-16T10:45:00Z" and first["business_seconds_left"] == 14 * 60
    assert first["explanation"].endswith("; warned 2026-11-16 10:45 UTC; due 2026-11-16 11:00 UTC.")
    warning_step = first["escalation_steps"][0]
    assert warning_step["state"] == "fired" and len(warning_step["fired_at"]) == 1
    assert body["sla_state"] == "warning"

    with at(T0 + timedelta(minutes=61)):
        sla_sweep()
        body = detail(api, incident)
        listed = api.get(LIST, {"sla_state": "breached"}).json()["results"]
    first = clock_of(body, "first_response")
    assert first["breached_at"] == "2026-11-16T11:00:00Z"
    assert first["business_seconds_left"] == -60  # a minute past the deadline
    assert first["explanation"].endswith("; missed: it was due 2026-11-16 11:00 UTC.")
    notify_user = first["escalation_steps"][1]
    assert notify_user["state"] == "pending" and len(notify_user["fired_at"]) == 1  # two repeats to go
    assert [(row["id"], row["sla_state"]) for row in listed] == [(incident.pk, "breached")]

    # Acknowledging cancels what is left of the chain; later sweeps fire nothing more.
    with at(T0 + timedelta(minutes=62)):
        acknowledged = api.post(f"{LIST}{incident.pk}/acknowledge/")
    assert acknowledged.status_code == 200, acknowledged.content
    body = acknowledged.json()
    assert body["acknowledged_at"] == "2026-11-16T11:02:00Z"
    steps = clock_of(body, "first_response")["escalation_steps"]
    assert [s["state"] for s in steps] == ["fired", "cancelled", "cancelled"]
    firings = ClockFiring.objects.count()
    with at(T0 + timedelta(hours=3)):
        sla_sweep()
    assert ClockFiring.objects.count() == firings
    incident.refresh_from_db()
    assert incident.priority == "high"  # the raise-priority step never ran

    # Responding stops the first-response clock, late.
    with at(T0 + timedelta(minutes=63)):
        responded = api.post(f"{LIST}{incident.pk}/respond/", {"note": "Sorry, on it"}, format="json")
    first = clock_of(responded.json(), "first_response")
    assert first["status"] == "stopped" and first["business_seconds_left"] is None
    assert first["explanation"].endswith(
        "; missed (it was due 2026-11-16 11:00 UTC); stopped 2026-11-16 11:03 UTC."
    )


def test_business_hours_clock_counts_only_open_time(api: APIClient, responder: Any, policies: Any) -> None:
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=STOCKHOLM)
    with at(friday):
        incident = incident_create(actor=responder, title="Late parcel")
    with at(friday + timedelta(minutes=15)):
        first = clock_of(detail(api, incident), "first_response")
    assert first["business_seconds_left"] == 45 * 60
    assert first["explanation"] == (
        "Routine policy: first response within 1 h, counted in Office hours (Mon-Fri 09:00-17:00, "
        "Europe/Stockholm); due 2026-11-23 08:30 UTC."
    )
    # Over the weekend nothing is used up: 30 business minutes left from Friday 17:00 to Monday.
    with at(datetime(2026, 11, 21, 12, 0, tzinfo=STOCKHOLM)):
        first = clock_of(detail(api, incident), "first_response")
    assert first["business_seconds_left"] == 30 * 60 and first["consumed_seconds"] == 30 * 60


def test_a_paused_clock_says_since_when_and_adds_the_pause_back(
    api: APIClient, responder: Any, policies: Any
) -> None:
    with at(T0):
        incident = incident_create(actor=responder, title="Refund missing", priority="high")
    with at(T0 + timedelta(minutes=10)):
        incident_set_status(actor=responder, incident_id=incident.pk, status="waiting_on_customer")
    with at(T0 + timedelta(hours=2, minutes=15)):
        resolution = clock_of(detail(api, incident), "resolution")
    assert resolution["status"] == "paused" and resolution["due_at"] is None
    assert resolution["paused_for_seconds"] == 2 * 3600 + 5 * 60
    assert resolution["business_seconds_left"] == 24 * 3600 - 10 * 60
    assert (
        "; paused since 2026-11-16 10:10 UTC while waiting on the customer (2 h 5 min so far, added back "
        "to the deadline); 23 h 50 min left when it resumes." in resolution["explanation"]
    )
    with at(T0 + timedelta(hours=2, minutes=15)):
        incident_set_status(actor=responder, incident_id=incident.pk, status="in_progress")
    with at(T0 + timedelta(hours=3)):
        resolution = clock_of(detail(api, incident), "resolution")
    assert resolution["status"] == "running" and resolution["due_at"] == "2026-11-17T12:05:00Z"
    assert resolution["explanation"].endswith("; paused 2 h 5 min so far; due 2026-11-17 12:05 UTC.")


def test_an_incident_without_a_policy_has_no_clocks(api: APIClient) -> None:
    incident = IncidentFactory()
    body = detail(api, incident)
    assert body["clocks"] == [] and body["sla_state"] == "none" and body["sla_due_at"] is None


# --- queue filters ---------------------------------------------------------------------------------------


def test_sla_state_and_due_before_filter_the_queue(api: APIClient) -> None:
    now = datetime.now(UTC)
    breached = IncidentFactory(sla_state="breached", sla_due_at=now - timedelta(minutes=5))
    warning = IncidentFactory(sla_state="warning", sla_due_at=now + timedelta(minutes=10))
    ok_soon = IncidentFactory(sla_state="ok", sla_due_at=now + timedelta(minutes=50))
    IncidentFactory(sla_state="ok", sla_due_at=now + timedelta(hours=5))
    paused = IncidentFactory(status="waiting_on_customer", sla_state="paused")
    untimed = IncidentFactory()
    IncidentFactory(status="resolved", sla_state="none", sla_due_at=now - timedelta(hours=1))
    assert ids(api.get(LIST, {"sla_state": "breached"})) == [breached.pk]
    assert set(ids(api.get(LIST, {"sla_state": "warning,breached"}))) == {breached.pk, warning.pk}
    assert set(ids(api.get(LIST, [("sla_state", "warning"), ("sla_state", "paused")]))) == {
        warning.pk,
        paused.pk,
    }
    assert ids(api.get(LIST, {"sla_state": "none"})) == [untimed.pk]
    soon = (now + timedelta(hours=1)).isoformat()
    assert set(ids(api.get(LIST, {"due_before": soon}))) == {breached.pk, warning.pk, ok_soon.pk}
    # Closed incidents never count as due, whatever the status filter says.
    assert set(ids(api.get(LIST, {"due_before": soon, "status": "all"}))) == {
        breached.pk,
        warning.pk,
        ok_soon.pk,
    }
    assert ids(api.get(LIST, {"due_before": soon, "sla_state": "breached"})) == [breached.pk]
    rows = api.get(LIST, {"sla_state": "breached"}).json()["results"]
    assert rows[0]["sla_state"] == "breached" and rows[0]["sla_due_at"] is not None
    for field, value in [("sla_state", "late"), ("due_before", "tomorrow")]:
        response = api.get(LIST, {field: value})
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.content


# --- respond and acknowledge -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "allowed"), [("respond", RESPONDERS), ("acknowledge", ACKNOWLEDGERS)])
def test_who_may_respond_and_acknowledge(
    request: Any,
    api_for: Callable[[Any], APIClient],
    policies: Any,
    role: str,
    action: str,
    allowed: set[str],
) -> None:
    user = request.getfixturevalue(role)
    incident = IncidentFactory(priority="high")
    before = TimelineEvent.objects.count()
    response = api_for(user).post(f"{LIST}{incident.pk}/{action}/", {}, format="json")
    incident.refresh_from_db()
    if role in allowed:
        assert response.status_code == 200, (role, action, response.content)
        assert TimelineEvent.objects.count() == before + 1
        assert (incident.first_responded_at if action == "respond" else incident.acknowledged_at) is not None
    else:
        assert response.status_code == 403, (role, action, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert TimelineEvent.objects.count() == before
        assert incident.first_responded_at is None and incident.acknowledged_at is None


def test_respond_meets_the_first_response_target(api: APIClient, responder: Any, policies: Any) -> None:
    with at(T0):
        incident = incident_create(actor=responder, title="Where is my order", priority="high")
    with at(T0 + timedelta(minutes=20)):
        response = api.post(f"{LIST}{incident.pk}/respond/", {"note": "Replied on X"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "in_progress" and body["first_responded_at"] == "2026-11-16T10:20:00Z"
    assert body["timeline"][-1]["kind"] == "responded" and body["timeline"][-1]["note"] == "Replied on X"
    first = clock_of(body, "first_response")
    assert first["status"] == "stopped" and first["breached_at"] is None
    assert first["explanation"].endswith("; stopped 2026-11-16 10:20 UTC, before its deadline.")
    assert [s["state"] for s in first["escalation_steps"]] == ["cancelled"] * 3
    # The resolution clock is what the queue now waits for.
    assert body["sla_state"] == "ok" and body["sla_due_at"] == "2026-11-17T10:00:00Z"


@pytest.mark.parametrize("action", ["respond", "acknowledge"])
def test_actions_on_a_resolved_incident_are_409(api: APIClient, action: str) -> None:
    incident = IncidentFactory(status="resolved")
    response = api.post(f"{LIST}{incident.pk}/{action}/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    incident.refresh_from_db()
    assert incident.first_responded_at is None and incident.acknowledged_at is None
    assert not TimelineEvent.objects.filter(incident=incident).exists()
    assert api.post(f"{LIST}999999/{action}/", {}, format="json").status_code == 404


def test_respond_refuses_a_note_that_is_not_text(api: APIClient) -> None:
    incident = IncidentFactory()
    response = api.post(f"{LIST}{incident.pk}/respond/", {"note": "x" * 2001}, format="json")
    assert response.status_code == 400 and "note" in response.json()["error"]["fields"]
    assert not TimelineEvent.objects.filter(incident=incident).exists()


# --- fixed cost ------------------------------------------------------------------------------------------


def _pile_up_clocks(incident: Incident, copies: int) -> None:
    """Old stopped clocks of every kind with firings, as years of reopening would leave behind."""
    template = SlaClock.objects.filter(incident=incident, kind="first_response").get()
    fields = [f.attname for f in SlaClock._meta.concrete_fields if f.attname != "id"]
    for n in range(copies):
        clone = SlaClock(**{name: getattr(template, name) for name in fields})
        clone.kind = ("first_response", "next_response", "resolution")[n % 3]
        clone.status = "stopped"
        clone.started_at = template.started_at - timedelta(days=n + 1)
        clone.stopped_at = clone.started_at + timedelta(minutes=5)
        clone.save()
        ClockFiring.objects.create(
            clock=clone, kind="step", level=0, scheduled_at=clone.started_at, fired_at=clone.started_at
        )


def test_detail_costs_the_same_whatever_the_number_of_clocks(
    api: APIClient, responder: Any, policies: Any
) -> None:
    few = incident_create(actor=responder, title="Few clocks", priority="high")
    many = incident_create(actor=responder, title="Many clocks", priority="high")
    _pile_up_clocks(many, 15)
    api.get(f"{LIST}{few.pk}/")  # the token's first use records last_used_at; measure steady state
    counts = []
    for incident in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            body = detail(api, incident)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert len(body["clocks"]) == 17
    # Grouped by kind in reading order, newest first within each.
    kinds = [c["kind"] for c in body["clocks"]]
    assert kinds == sorted(kinds, key=["first_response", "next_response", "resolution"].index)
    started = [c["started_at"] for c in body["clocks"] if c["kind"] == "resolution"]
    assert started == sorted(started, reverse=True)


def test_list_with_sla_filters_stays_at_two_queries(api: APIClient, responder: Any, policies: Any) -> None:
    for n in range(30):
        incident = incident_create(actor=responder, title=f"Incident {n}", priority="high")
        if n % 3 == 0:
            _pile_up_clocks(incident, 3)
    api.get(LIST)
    cases: list[dict[str, str]] = [
        {},
        {"sla_state": "ok,warning"},
        {"due_before": "2100-01-01T00:00:00Z", "page_size": "25"},
    ]
    for params in cases:
        with CaptureQueriesContext(connection) as ctx:
            assert len(ids(api.get(LIST, params))) > 0
        assert len(ctx.captured_queries) == 2, (params, ctx.captured_queries)
