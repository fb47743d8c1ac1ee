"""Crisis mode: who may switch it on, what it blocks (and records), the full chain for every reply, stay
silent with the holding statement, status-update reminders and expiry on the SLA engine, renewal, the
escalation step that switches it on, and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from config.errors import Conflict, PermissionRefused
from incidents.models import CrisisMode, EventKind, Incident, Notification, Reply, ReplyState, TimelineEvent
from incidents.services import crisis as crisis_services
from incidents.services import replies as reply_services
from incidents.services.incidents import incident_resolve
from incidents.services.sweeper import sla_sweep
from protocols.models import Priority, Tier
from templates_app.services import templates as template_services
from tests.approvals import sign_off_chain
from tests.factories import IncidentFactory
from tests.sla import T0, at

pytestmark = pytest.mark.django_db
URL = "/api/v1/crisis/"


@pytest.fixture
def routine(db: Any) -> Any:
    sign_off_chain(rules=[(Tier.CRISIS, "")])
    return IncidentFactory(priority=Priority.NORMAL, title="Where is my parcel?")


def _on(manager: Any, **kwargs: Any) -> CrisisMode:
    return crisis_services.crisis_start(actor=manager, reason="Kettle recall goes viral", **kwargs)


def _events(incident_id: int, kind: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(incident_id=incident_id, kind=kind).order_by("id"))


def test_only_managers_switch_it_on_and_only_once(manager: Any, responder: Any) -> None:
    with pytest.raises(PermissionRefused):
        crisis_services.crisis_start(actor=responder, reason="no")
    crisis = _on(manager)
    incident = Incident.objects.get(pk=crisis.incident_id)
    assert incident.title == "Crisis: Kettle recall goes viral" and incident.priority == Priority.CRITICAL
    assert _events(incident.pk, EventKind.CRISIS_STARTED)[0].actor_id == manager.pk
    assert crisis.expires_at - crisis.started_at == timedelta(hours=24)
    with pytest.raises(Conflict, match="already on"):
        _on(manager)
    assert CrisisMode.objects.count() == 1
    assert crisis_services.crisis_current() == crisis


def test_a_non_publisher_is_blocked_and_the_attempt_is_on_the_timeline(
    manager: Any, responder: Any, spokesperson: Any, routine: Incident
) -> None:
    draft = reply_services.reply_create(actor=responder, incident_id=routine.pk, body="On it!")
    crisis = _on(manager)
    with pytest.raises(PermissionRefused, match="only Spokesperson, PR may publish") as refused:
        reply_services.reply_publish(actor=responder, reply_id=draft.pk, url="https://x.com/b/1")
    assert refused.value.code == "crisis_mode"
    blocked = _events(crisis.incident_id, EventKind.CRISIS_BLOCKED)
    assert [(e.actor_id, e.after["reply_id"]) for e in blocked] == [(responder.pk, draft.pk)]
    assert Reply.objects.get(pk=draft.pk).state == ReplyState.DRAFT


def test_every_reply_needs_the_full_chain_during_a_crisis(
    manager: Any, spokesperson: Any, legal: Any, routine: Incident
) -> None:
    before = reply_services.reply_create(actor=spokesperson, incident_id=routine.pk, body="Thanks!")
    assert reply_services.approval_plan_for_incident(incident=routine) is None  # routine: straight out
    _on(manager)
    reply_services.reply_submit(actor=spokesperson, reply_id=before.pk)
    assert Reply.objects.get(pk=before.pk).state == ReplyState.LEGAL_REVIEW


def test_stay_silent_lets_only_the_holding_statement_out(
    manager: Any, pr_user: Any, spokesperson: Any, legal: Any, admin_user: Any, routine: Incident
) -> None:
    holding = template_services.template_create(
        actor=pr_user,
        name="Holding statement",
        kind="holding_statement",
        body="We are aware of reports and are looking into them urgently. More soon.",
    )
    version = holding.versions.get()
    template_services.template_version_approve(actor=manager, version_id=version.pk)
    crisis = _on(manager, stay_silent=True, holding_template_id=holding.pk)
    assert crisis.holding_template_name == "Holding statement"

    other = reply_services.reply_create(actor=spokesperson, incident_id=routine.pk, body="It was not us.")
    statement = reply_services.reply_create(
        actor=spokesperson,
        incident_id=routine.pk,
        body=version.body,
        template_version_id=version.pk,
        template_name="Holding statement",
    )
    for reply in (other, statement):  # the full chain first
        reply_services.reply_submit(actor=spokesperson, reply_id=reply.pk)
        reply_services.reply_approve(actor=legal, reply_id=reply.pk)
        reply_services.reply_approve(actor=manager, reply_id=reply.pk)
    with pytest.raises(PermissionRefused, match="stay silent"):
        reply_services.reply_publish(actor=spokesperson, reply_id=other.pk, url="https://x.com/b/2")
    reply_services.reply_publish(actor=spokesperson, reply_id=statement.pk, url="https://x.com/b/3")
    assert Reply.objects.get(pk=statement.pk).state == ReplyState.PUBLISHED
    assert Reply.objects.get(pk=other.pk).state == ReplyState.APPROVED


def test_reminders_then_expiry_run_on_the_sla_engine(manager: Any) -> None:
    with at(T0):
        crisis = _on(manager, hours=2, status_update_minutes=45)
    with at(T0 + timedelta(minutes=44)):
        sla_sweep()
    assert _events(crisis.incident_id, EventKind.CRISIS_STATUS_DUE) == []
    with at(T0 + timedelta(minutes=45)):
        sla_sweep()
    with at(T0 + timedelta(minutes=90)):
        sla_sweep()
    reminders = _events(crisis.incident_id, EventKind.CRISIS_STATUS_DUE)
    assert [e.after["reminder"] for e in reminders] == [1, 2]
    assert (
        Notification.objects.filter(recipient=manager, kind="crisis_status_due", channel="in_app").count()
        == 2
    )
    with at(T0 + timedelta(minutes=119)):
        sla_sweep()
        assert crisis_services.crisis_current() is not None
    with at(T0 + timedelta(hours=2)):
        sla_sweep()
        assert crisis_services.crisis_current() is None
    crisis.refresh_from_db()
    assert crisis.ended_at == T0 + timedelta(hours=2) and crisis.ended_by is None
    assert _events(crisis.incident_id, EventKind.CRISIS_ENDED)[0].after["expired"] is True
    with at(T0 + timedelta(hours=3)):
        sla_sweep()  # no reminder after the end
    assert len(_events(crisis.incident_id, EventKind.CRISIS_STATUS_DUE)) == 2


def test_renewal_moves_the_expiry_and_resolving_the_incident_does_not_end_it(manager: Any) -> None:
    with at(T0):
        crisis = _on(manager, hours=1)
    with at(T0 + timedelta(minutes=50)):
        crisis_services.crisis_renew(actor=manager, hours=3)
        incident_resolve(actor=manager, incident_id=crisis.incident_id)
    with at(T0 + timedelta(hours=1, minutes=1)):
        sla_sweep()
        assert crisis_services.crisis_current() is not None
    with at(T0 + timedelta(hours=3, minutes=50)):
        sla_sweep()
        assert crisis_services.crisis_current() is None
    assert len(_events(crisis.incident_id, EventKind.CRISIS_RENEWED)) == 1


def test_ending_by_hand(manager: Any, responder: Any) -> None:
    crisis = _on(manager)
    with pytest.raises(PermissionRefused):
        crisis_services.crisis_end(actor=responder)
    crisis_services.crisis_end(actor=manager, reason="Statement out, volume back to normal")
    assert crisis_services.crisis_current() is None
    assert (
        _events(crisis.incident_id, EventKind.CRISIS_ENDED)[0].note == "Statement out, volume back to normal"
    )
    with pytest.raises(Conflict):
        crisis_services.crisis_end(actor=manager)


def test_an_escalation_step_switches_it_on(manager: Any, responder: Any) -> None:
    from incidents.services.clocks import clocks_start
    from protocols.models import EscalationChain, EscalationStep, SlaPolicy

    chain = EscalationChain.objects.create(name="Viral")
    EscalationStep.objects.create(chain=chain, position=1, trigger="breach", action="open_crisis")
    SlaPolicy.objects.create(
        name="Critical", priority="critical", first_response_minutes=15, escalation_chain=chain
    )
    with at(T0):
        incident: Any = IncidentFactory(priority=Priority.CRITICAL, title="Video of exploding kettle")
        clocks_start(incident=incident, now=T0)
    with at(T0 + timedelta(minutes=15)):
        sla_sweep()
        crisis = crisis_services.crisis_current()
    assert crisis is not None and crisis.incident_id == incident.pk and crisis.started_by is None
    assert _events(incident.pk, EventKind.CRISIS_STARTED)


def test_the_api(api_for: Any, manager: Any, responder: Any, routine: Incident) -> None:
    boss, riley = api_for(manager), api_for(responder)
    assert riley.get(URL).json() == {"on": False, "crisis": None}
    refused = riley.post(URL, {"reason": "mine"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"]
    assert boss.post(URL, {"reason": ""}, format="json").status_code == 400
    started = boss.post(
        URL, {"reason": "Recall", "hours": 6, "publisher_roles": ["spokesperson"]}, format="json"
    )
    assert started.status_code == 201
    assert started.json()["on"] is True and started.json()["crisis"]["publisher_roles"] == ["spokesperson"]
    assert boss.post(URL, {"reason": "again"}, format="json").status_code == 409
    assert riley.get(URL).json()["on"] is True

    draft = riley.post("/api/v1/replies/", {"incident": routine.pk, "body": "Hi!"}, format="json").json()
    blocked = riley.post(
        f"/api/v1/replies/{draft['id']}/publish/", {"url": "https://x.com/b/9"}, format="json"
    )
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "crisis_mode"

    assert boss.post(f"{URL}renew/", {"hours": 2}, format="json").status_code == 200
    assert boss.post(f"{URL}end/", {"reason": "Over"}, format="json").json() == {"on": False, "crisis": None}
    assert boss.post(f"{URL}end/", {}, format="json").status_code == 409
