"""Replies and the approval chain through the services and the API: every legal transition, every
illegal one refused with nothing changed, separation of duties, versions, the step clocks, publishing."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents.models import (
    ClockKind,
    EventKind,
    FiringKind,
    Mention,
    Notification,
    Reply,
    ReplyDecision,
    ReplyState,
    SlaClock,
    TimelineEvent,
)
from incidents.services import replies as svc
from incidents.services.sweeper import sla_sweep
from protocols.models import ApprovalChain, ApprovalRule, ApprovalStep, Priority, Role, SocialAccount, Tier
from tests.approvals import sign_off_chain
from tests.factories import CategoryFactory, IncidentFactory, UserFactory
from tests.sla import T0, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(db: Any) -> ApprovalChain:
    """Legal within 2 h, then management within 1 h; high-priority and crisis incidents need it."""
    chain = sign_off_chain(rules=[(Tier.HIGH_PRIORITY, ""), ("", Priority.HIGH)])
    ApprovalRule.objects.create(tier="", priority="", chain=None)
    return chain


@pytest.fixture
def incident(db: Any, chain: ApprovalChain) -> Any:
    return IncidentFactory(priority=Priority.HIGH, title="Influencer says our kettle exploded")


@pytest.fixture
def routine_incident(db: Any, chain: ApprovalChain) -> Any:
    return IncidentFactory(priority=Priority.NORMAL, category=CategoryFactory(tier=Tier.ROUTINE))


def _draft(
    author: Any, incident: Any, body: str = "We are so sorry, please DM us your order number."
) -> Reply:
    return svc.reply_create(actor=author, incident_id=incident.pk, body=body)


def _events(incident: Any) -> list[str]:
    return list(TimelineEvent.objects.filter(incident=incident).order_by("id").values_list("kind", flat=True))


def _state(reply: Reply) -> tuple[str, int, int]:
    reply.refresh_from_db()
    return reply.state, reply.version, reply.step


# --- the legal path --------------------------------------------------------------------------------------


def test_the_whole_chain_records_every_step_with_its_time(
    pr_user: Any, legal: Any, manager: Any, incident: Any
) -> None:
    reply = _draft(pr_user, incident)
    assert reply.state == ReplyState.DRAFT

    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    assert _state(reply) == (ReplyState.LEGAL_REVIEW, 1, 0)
    assert reply.waiting_on_role == Role.LEGAL
    # legal is told; the author is not
    assert Notification.objects.filter(recipient=legal, kind="approval_needed").exists()
    assert not Notification.objects.filter(recipient=pr_user, kind="approval_needed").exists()

    svc.reply_approve(actor=legal, reply_id=reply.pk, expected_version=1)
    assert _state(reply) == (ReplyState.MANAGEMENT_APPROVAL, 1, 1)
    assert Notification.objects.filter(recipient=manager, kind="approval_needed").exists()

    svc.reply_approve(actor=manager, reply_id=reply.pk, expected_version=1)
    assert _state(reply)[0] == ReplyState.APPROVED
    assert reply.approved_at is not None

    svc.reply_publish(actor=pr_user, reply_id=reply.pk, url="https://x.com/brand/status/1")
    reply.refresh_from_db()
    assert reply.state == ReplyState.PUBLISHED
    assert reply.published_url == "https://x.com/brand/status/1"
    kinds = _events(incident)
    assert kinds.index(EventKind.REPLY_DRAFTED) < kinds.index(EventKind.REPLY_SUBMITTED)
    assert kinds.count(EventKind.REPLY_APPROVED) == 2
    assert kinds[-1] == EventKind.REPLY_PUBLISHED
    decided = list(ReplyDecision.objects.filter(reply=reply).values_list("stage", "decided_by__username"))
    assert decided == [("legal_review", legal.username), ("management_approval", manager.username)]


def test_a_routine_reply_needs_no_approval_and_publishing_stops_the_response_clocks(
    responder: Any, routine_incident: Any
) -> None:
    from incidents.services.clocks import clocks_start
    from protocols.models import SlaPolicy

    SlaPolicy.objects.create(name="Any", first_response_minutes=60, resolution_minutes=600)
    clocks_start(incident=routine_incident, now=timezone.now())
    assert SlaClock.objects.filter(incident=routine_incident, kind=ClockKind.FIRST_RESPONSE, status="running")

    reply = _draft(responder, routine_incident, "Thanks for telling us!")
    svc.reply_publish(actor=responder, reply_id=reply.pk, url="https://x.com/brand/status/2")
    reply.refresh_from_db()
    assert reply.state == ReplyState.PUBLISHED
    routine_incident.refresh_from_db()
    assert routine_incident.first_responded_at is not None
    assert routine_incident.status == "in_progress"
    first = SlaClock.objects.get(incident=routine_incident, kind=ClockKind.FIRST_RESPONSE)
    assert first.status == "stopped"
    published = TimelineEvent.objects.get(incident=routine_incident, kind=EventKind.REPLY_PUBLISHED)
    assert published.after["targets"]["first_response"] == "met"


def test_request_changes_then_edit_makes_a_new_version_and_restarts_the_chain(
    pr_user: Any, legal: Any, manager: Any, incident: Any
) -> None:
    reply = _draft(pr_user, incident, "We are sorry. It was not our fault.")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    with pytest.raises(ValidationFailed):
        svc.reply_request_changes(actor=legal, reply_id=reply.pk, note="  ")
    svc.reply_request_changes(actor=legal, reply_id=reply.pk, note="Do not say whose fault it was.")
    assert _state(reply) == (ReplyState.CHANGES_REQUESTED, 1, 0)
    assert Notification.objects.filter(recipient=pr_user, kind="reply_changes_requested").exists()

    svc.reply_edit(actor=pr_user, reply_id=reply.pk, body="We are sorry. We are looking into it now.")
    assert _state(reply) == (ReplyState.DRAFT, 2, 0)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk, expected_version=2)
    assert _state(reply) == (ReplyState.LEGAL_REVIEW, 2, 0)

    # reviewers see what changed since the version they decided on
    from incidents.reply_selectors import reply_diff_from_reviewed, reply_get

    diff = reply_diff_from_reviewed(reply=reply_get(user=legal, reply_id=reply.pk))
    assert diff is not None
    assert ("-", "It was not our fault.") in [(d.op, d.text) for d in diff]
    assert ("+", "We are looking into it now.") in [(d.op, d.text) for d in diff]


def test_editing_an_approved_reply_sends_it_back_through_the_chain(
    pr_user: Any, legal: Any, manager: Any, incident: Any
) -> None:
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    svc.reply_approve(actor=legal, reply_id=reply.pk)
    svc.reply_approve(actor=manager, reply_id=reply.pk)
    svc.reply_edit(actor=pr_user, reply_id=reply.pk, body="A different text nobody approved.")
    assert _state(reply) == (ReplyState.DRAFT, 2, 0)
    with pytest.raises(Conflict):
        svc.reply_publish(actor=pr_user, reply_id=reply.pk, url="https://x.com/brand/status/3")
    assert _state(reply) == (ReplyState.DRAFT, 2, 0)


def test_withdraw_by_author_or_manager_only(
    pr_user: Any, responder: Any, manager: Any, incident: Any
) -> None:
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    with pytest.raises(PermissionRefused):
        svc.reply_withdraw(actor=responder, reply_id=reply.pk)
    svc.reply_withdraw(actor=manager, reply_id=reply.pk, note="Staying silent for now")
    assert _state(reply)[0] == ReplyState.WITHDRAWN
    assert not SlaClock.objects.filter(
        incident=incident, kind=ClockKind.APPROVAL_STEP, status="running"
    ).exists()
    with pytest.raises(Conflict):
        svc.reply_withdraw(actor=pr_user, reply_id=reply.pk)


# --- what is refused, and changes nothing ---------------------------------------------------------------


def _snapshot(reply: Reply) -> tuple[Any, ...]:
    reply.refresh_from_db()
    return (
        reply.state,
        reply.version,
        reply.step,
        reply.updated_at,
        ReplyDecision.objects.filter(reply=reply).count(),
        TimelineEvent.objects.filter(incident_id=reply.incident_id).count(),
    )


def test_separation_of_duties(pr_user: Any, incident: Any) -> None:
    lawyer_manager = UserFactory(username="lm", roles=[Role.LEGAL, Role.MANAGER])
    author_legal = UserFactory(username="al", roles=[Role.PR, Role.LEGAL])
    reply = _draft(author_legal, incident)
    svc.reply_submit(actor=author_legal, reply_id=reply.pk)
    before = _snapshot(reply)
    with pytest.raises(PermissionRefused, match="You wrote this reply"):
        svc.reply_approve(actor=author_legal, reply_id=reply.pk)
    assert _snapshot(reply) == before

    svc.reply_approve(actor=lawyer_manager, reply_id=reply.pk)
    before = _snapshot(reply)
    with pytest.raises(PermissionRefused, match="already approved another step"):
        svc.reply_approve(actor=lawyer_manager, reply_id=reply.pk)
    assert _snapshot(reply) == before


def test_a_teammate_who_edited_the_text_cannot_approve_it(pr_user: Any, incident: Any) -> None:
    editor = UserFactory(username="ed", roles=[Role.LEGAL, Role.PR])
    reply = _draft(pr_user, incident)
    svc.reply_edit(actor=editor, reply_id=reply.pk, body="Edited by a teammate who is also legal.")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    with pytest.raises(PermissionRefused):
        svc.reply_approve(actor=editor, reply_id=reply.pk)


@pytest.mark.parametrize(
    "who, action",
    [
        ("manager", "approve"),  # wrong role for the legal step
        ("responder", "approve"),  # no deciding role at all
        ("outsider", "approve"),
        ("manager", "request_changes"),
        ("outsider", "submit"),
        ("outsider", "publish"),
    ],
)
def test_wrong_role_is_refused_with_nothing_changed(
    request: pytest.FixtureRequest, who: str, action: str, pr_user: Any, legal: Any, incident: Any
) -> None:
    actor = request.getfixturevalue(who)
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    before = _snapshot(reply)
    calls = {
        "approve": lambda: svc.reply_approve(actor=actor, reply_id=reply.pk),
        "request_changes": lambda: svc.reply_request_changes(actor=actor, reply_id=reply.pk, note="no"),
        "submit": lambda: svc.reply_submit(actor=actor, reply_id=reply.pk),
        "publish": lambda: svc.reply_publish(actor=actor, reply_id=reply.pk, url="https://x.com/a/1"),
    }
    with pytest.raises(PermissionRefused):
        calls[action]()
    assert _snapshot(reply) == before


@pytest.mark.parametrize(
    "state_setup, action",
    [
        ("draft", "approve"),
        ("draft", "request_changes"),
        ("legal", "submit"),
        ("legal", "publish"),
        ("approved", "approve"),
        ("approved", "submit"),
        ("published", "edit"),
        ("published", "withdraw"),
        ("published", "publish"),
        ("withdrawn", "submit"),
        ("withdrawn", "edit"),
    ],
)
def test_wrong_state_is_a_conflict_with_nothing_changed(
    state_setup: str, action: str, pr_user: Any, legal: Any, manager: Any, incident: Any
) -> None:
    reply = _draft(pr_user, incident)
    if state_setup != "draft" and state_setup != "withdrawn":
        svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    if state_setup in ("approved", "published"):
        svc.reply_approve(actor=legal, reply_id=reply.pk)
        svc.reply_approve(actor=manager, reply_id=reply.pk)
    if state_setup == "published":
        svc.reply_publish(actor=pr_user, reply_id=reply.pk, url="https://x.com/brand/status/9")
    if state_setup == "withdrawn":
        svc.reply_withdraw(actor=pr_user, reply_id=reply.pk)
    before = _snapshot(reply)
    calls = {
        "approve": lambda: svc.reply_approve(
            actor=legal if state_setup != "approved" else manager, reply_id=reply.pk
        ),
        "request_changes": lambda: svc.reply_request_changes(actor=legal, reply_id=reply.pk, note="x"),
        "submit": lambda: svc.reply_submit(actor=pr_user, reply_id=reply.pk),
        "publish": lambda: svc.reply_publish(actor=pr_user, reply_id=reply.pk, url="https://x.com/a/2"),
        "edit": lambda: svc.reply_edit(actor=pr_user, reply_id=reply.pk, body="new words"),
        "withdraw": lambda: svc.reply_withdraw(actor=pr_user, reply_id=reply.pk),
    }
    with pytest.raises(Conflict):
        calls[action]()
    assert _snapshot(reply) == before


def test_acting_on_an_old_version_is_a_conflict(pr_user: Any, legal: Any, incident: Any) -> None:
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    svc.reply_edit(actor=pr_user, reply_id=reply.pk, body="Changed while legal was reading.")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    before = _snapshot(reply)
    with pytest.raises(Conflict, match="version 2"):
        svc.reply_approve(actor=legal, reply_id=reply.pk, expected_version=1)
    assert _snapshot(reply) == before


def test_a_second_lawyer_acting_on_a_decided_step_is_told_it_was_decided(
    pr_user: Any, legal: Any, incident: Any
) -> None:
    """The page still showed the legal step: the late lawyer gets a conflict, not 'only a manager decides'."""
    other_lawyer = UserFactory(username="second-lawyer", roles=[Role.LEGAL])
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    svc.reply_approve(actor=legal, reply_id=reply.pk, expected_version=1)
    before = _snapshot(reply)
    with pytest.raises(Conflict, match="legal review step was already decided"):
        svc.reply_approve(actor=other_lawyer, reply_id=reply.pk, expected_version=1)
    assert _snapshot(reply) == before
    outsider = UserFactory(username="support-only", roles=[Role.RESPONDER])
    with pytest.raises(PermissionRefused):
        svc.reply_approve(actor=outsider, reply_id=reply.pk, expected_version=1)


# --- races ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_twenty_concurrent_approvals_exactly_one_wins(
    round_: int, pr_user: Any, chain: ApprovalChain
) -> None:
    incident = IncidentFactory(priority=Priority.HIGH)
    lawyers = [UserFactory(username=f"lawyer{round_}-{i}", roles=[Role.LEGAL]) for i in range(20)]
    reply = _draft(pr_user, incident)
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    barrier = threading.Barrier(20)
    outcomes: dict[int, str] = {}

    def approve(user: Any) -> None:
        try:
            barrier.wait()
            svc.reply_approve(actor=user, reply_id=reply.pk, expected_version=1)
            outcomes[user.pk] = "ok"
        except Conflict:
            outcomes[user.pk] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in lawyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [uid for uid, outcome in outcomes.items() if outcome == "ok"]
    assert len(winners) == 1, outcomes
    assert sorted(outcomes.values()).count("conflict") == 19
    decision = ReplyDecision.objects.get(reply=reply)
    assert decision.decided_by_id == winners[0]
    assert _state(reply) == (ReplyState.MANAGEMENT_APPROVAL, 1, 1)
    assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.REPLY_APPROVED).count() == 1


# --- the approval step's clock ---------------------------------------------------------------------------


def test_the_legal_review_clock_warns_breaches_and_escalates(
    pr_user: Any, legal: Any, manager: Any, chain: ApprovalChain
) -> None:
    from protocols.models import EscalationChain, EscalationStep

    escalation = EscalationChain.objects.create(name="Slow legal")
    EscalationStep.objects.create(
        chain=escalation, position=1, trigger="breach", delay_minutes=15, action="notify_management"
    )
    ApprovalStep.objects.filter(chain=chain, stage="legal_review").update(escalation_chain=escalation)
    with at(T0):
        incident = IncidentFactory(priority=Priority.HIGH)
        reply = _draft(pr_user, incident)
        svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    clock = SlaClock.objects.get(incident=incident, kind=ClockKind.APPROVAL_STEP)
    assert clock.due_at == T0 + timedelta(hours=2)
    assert clock.warn_at == T0 + timedelta(minutes=90)  # 75% of the target

    def fired() -> list[str]:
        return list(clock.firings.order_by("id").values_list("kind", flat=True))

    with at(T0 + timedelta(minutes=89)):
        sla_sweep()
    assert fired() == []
    with at(T0 + timedelta(minutes=90)):
        sla_sweep()
    assert fired() == [FiringKind.WARNING]
    # the warning goes to the role that must decide
    assert Notification.objects.filter(recipient=legal, kind="sla_warning").exists()
    with at(T0 + timedelta(hours=2)):
        sla_sweep()
    assert fired() == [FiringKind.WARNING, FiringKind.BREACH]
    with at(T0 + timedelta(hours=2, minutes=15)):
        sla_sweep()
    assert fired() == [FiringKind.WARNING, FiringKind.BREACH, FiringKind.STEP]
    assert Notification.objects.filter(recipient=manager, kind="escalation").exists()

    # deciding stops the step's clock; the next step's starts
    with at(T0 + timedelta(hours=2, minutes=20)):
        svc.reply_approve(actor=legal, reply_id=reply.pk)
    clock.refresh_from_db()
    assert clock.status == "stopped"
    management = SlaClock.objects.get(incident=incident, kind=ClockKind.APPROVAL_STEP, status="running")
    assert management.due_at == T0 + timedelta(hours=3, minutes=20)


# --- publishing -------------------------------------------------------------------------------------------


def test_publishing_a_stale_reply_asks_first(responder: Any, routine_incident: Any) -> None:
    reply = _draft(responder, routine_incident, "Thanks, we'll look into it.")
    Mention.objects.create(
        platform="x",
        external_id="later-1",
        author_handle="cust",
        text="Also it was cold!",
        posted_at=timezone.now(),
        sentiment="negative",
        incident=routine_incident,
        received_at=timezone.now() + timedelta(seconds=1),
    )
    with pytest.raises(Conflict) as refused:
        svc.reply_publish(actor=responder, reply_id=reply.pk, url="https://x.com/brand/status/5")
    assert refused.value.code == "stale_reply"
    assert _state(reply)[0] == ReplyState.DRAFT  # refused: nothing changed
    svc.reply_publish(
        actor=responder, reply_id=reply.pk, url="https://x.com/brand/status/5", confirm_stale=True
    )
    assert _state(reply)[0] == ReplyState.PUBLISHED


def test_by_hand_publishing_needs_the_posts_url(responder: Any, routine_incident: Any) -> None:
    reply = _draft(responder, routine_incident)
    with pytest.raises(ValidationFailed) as refused:
        svc.reply_publish(actor=responder, reply_id=reply.pk, url="")
    assert "url" in refused.value.fields
    with pytest.raises(ValidationFailed):
        svc.reply_publish(actor=responder, reply_id=reply.pk, url="javascript:alert(1)")
    assert Reply.objects.get(pk=reply.pk).state != ReplyState.PUBLISHED


def test_a_webhook_account_publishes_through_the_task_only_when_accepted(
    responder: Any, routine_incident: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.fakes.webhook import FakeBridge

    with FakeBridge(secret="s3cret") as bridge:
        bridge.answer_next(503, {"error": "bridge restarting"})
        SocialAccount.objects.create(
            name="Brand on X",
            platform="x",
            publisher="webhook",
            webhook_url=bridge.url,
            webhook_secret="s3cret",
        )
        reply = _draft(responder, routine_incident, "Thanks for flagging this!")
        with django_capture_on_commit_callbacks(execute=False):
            svc.reply_publish(actor=responder, reply_id=reply.pk)
        reply.refresh_from_db()
        assert reply.state == ReplyState.APPROVED and reply.publish_status == "pending"

        assert svc.reply_publish_attempt(reply_id=reply.pk) == "retry"  # the bridge answered 503 once
        reply.refresh_from_db()
        assert reply.state == ReplyState.APPROVED and "503" in reply.publish_error
        assert svc.reply_publish_attempt(reply_id=reply.pk) == "nothing"  # not due yet
        with pytest.raises(Conflict, match="being sent"):  # the text must not change under the platform
            svc.reply_edit(actor=responder, reply_id=reply.pk, body="Changed while sending")

        Reply.objects.filter(pk=reply.pk).update(publish_next_attempt_at=timezone.now())
        assert svc.reply_publish_attempt(reply_id=reply.pk) == "published"
        reply.refresh_from_db()
        assert reply.state == ReplyState.PUBLISHED
        assert reply.published_url == "https://social.example/brand/posts/1"
        assert len(bridge.posts) == 1
        assert bridge.posts[0]["text"] == "Thanks for flagging this!"
        assert bridge.posts[0]["idempotency_key"] == f"firebreak-reply-{reply.pk}-v1"
        assert all(bridge.verified)
