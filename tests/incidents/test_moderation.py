"""Moderation under the community guidelines: each action recorded with who, when and the rule; hide and
remove capture evidence first; a webhook bridge performs it, other accounts only record it; repeats and
the wrong role change nothing; the guidelines are public."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import EventKind, EvidenceCapture, Mention, ModerationAction, TimelineEvent
from incidents.services import moderation as services
from incidents.services.timeline import actor_label_of
from protocols.models import ModerationRule, PublisherKind, SocialAccount
from tests.factories import IncidentFactory
from tests.fakes.webhook import FakeBridge

pytestmark = pytest.mark.django_db

SECRET = "bridge-signing-secret"


@pytest.fixture(autouse=True)
def _short_timeout(settings: Any) -> None:
    settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS = 1


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    with FakeBridge(secret=SECRET) as server:
        yield server


@pytest.fixture
def rule() -> ModerationRule:
    return ModerationRule.objects.create(
        title="No threats", description="Threats of violence are removed and reported.", action="remove"
    )


@pytest.fixture
def mention() -> Mention:
    return Mention.objects.create(
        platform="x",
        external_id="ext-1",
        url="https://x.com/someone/status/1",
        author_handle="angry_ann",
        text="I know where your CEO lives",
        posted_at=timezone.now(),
        sentiment="negative",
        incident=IncidentFactory(),
        received_at=timezone.now(),
    )


def manual_account() -> SocialAccount:
    return SocialAccount.objects.create(name="Brand on X", platform="x", publisher=PublisherKind.MANUAL)


def moderate(client: Any, mention: Mention, rule: ModerationRule, action: str, note: str = "") -> Any:
    return client.post(
        f"/api/v1/mentions/{mention.pk}/moderate/",
        {"action": action, "rule": rule.pk, "note": note},
        format="json",
    )


@pytest.mark.parametrize("action", ["hide", "remove", "report_platform", "report_police", "block_author"])
def test_each_action_is_recorded_with_who_when_and_the_rule(
    api_for: Any, responder: Any, mention: Mention, rule: ModerationRule, action: str
) -> None:
    manual_account()
    answer = moderate(api_for(responder), mention, rule, action, note="per policy")
    assert answer.status_code == 201, answer.content
    row = ModerationAction.objects.get()
    assert (row.action, row.rule, row.actor, row.note) == (action, rule, responder, "per policy")
    assert row.at is not None
    assert answer.json()["actor"] == actor_label_of(responder)
    event = TimelineEvent.objects.get(incident=mention.incident, kind=EventKind.MODERATED)
    assert event.actor == responder
    assert event.after["action"] == action
    assert event.after["rule_id"] == rule.pk


@pytest.mark.parametrize("action", ["hide", "remove"])
def test_hide_and_remove_capture_evidence_first(
    api_for: Any, manager: Any, mention: Mention, rule: ModerationRule, action: str
) -> None:
    assert moderate(api_for(manager), mention, rule, action).status_code == 201
    capture = EvidenceCapture.objects.get(mention=mention)
    row = ModerationAction.objects.get()
    assert row.evidence == capture
    assert capture.captured_at <= row.at
    kinds = list(TimelineEvent.objects.filter(incident=mention.incident).values_list("kind", flat=True))
    assert kinds.index(EventKind.EVIDENCE_CAPTURED) < kinds.index(EventKind.MODERATED)


def test_reports_capture_no_evidence(api_for: Any, responder: Any, mention: Mention, rule: Any) -> None:
    assert moderate(api_for(responder), mention, rule, "report_police").status_code == 201
    assert not EvidenceCapture.objects.exists()


def bridged_account(bridge: FakeBridge) -> SocialAccount:
    return SocialAccount.objects.create(
        name="Brand on X",
        platform="x",
        publisher=PublisherKind.WEBHOOK,
        webhook_url=bridge.url,
        webhook_secret=SECRET,
    )


def test_a_webhook_account_gets_a_signed_post_after_the_request_commits(
    api_for: Any,
    responder: Any,
    mention: Mention,
    rule: ModerationRule,
    bridge: FakeBridge,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bridged_account(bridge)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = moderate(api_for(responder), mention, rule, "hide")
    assert answer.status_code == 201
    assert answer.json()["outcome"] == "pending"
    # Nothing went out while the mention's row was locked; the task is queued for after the commit.
    assert bridge.verified == [] and len(queued) == 1
    row = ModerationAction.objects.get()

    assert services.moderation_perform_attempt(action_id=row.pk) == "performed"
    row.refresh_from_db()
    assert row.outcome == "performed" and row.attempts == 1 and row.next_attempt_at is None
    assert bridge.verified == [True]
    key = f"firebreak-moderation-{row.pk}"
    assert bridge.posts == [
        {
            "event": "mention.moderate",
            "action": "hide",
            "mention": {"platform": "x", "external_id": "ext-1", "url": "https://x.com/someone/status/1"},
            "rule": {"id": rule.pk, "title": "No threats"},
            "idempotency_key": key,
        }
    ]
    assert list(bridge.by_idempotency_key) == [key]
    result = TimelineEvent.objects.get(incident=mention.incident, kind=EventKind.MODERATION_RESULT)
    assert result.after["outcome"] == "performed" and result.actor_label == "moderation bridge"
    # Run again (a duplicate task, the beat's safety net): nothing is sent twice.
    assert services.moderation_perform_attempt(action_id=row.pk) == "nothing"
    assert len(bridge.verified) == 1


def test_a_bridge_refusal_is_recorded_as_failed(
    api_for: Any,
    responder: Any,
    mention: Mention,
    rule: ModerationRule,
    bridge: FakeBridge,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bridged_account(bridge)
    bridge.answer_next(422, {"error": "post already gone"})
    with django_capture_on_commit_callbacks(execute=False):
        assert moderate(api_for(responder), mention, rule, "remove").status_code == 201
    row = ModerationAction.objects.get()
    assert services.moderation_perform_attempt(action_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.outcome == "failed"
    assert "post already gone" in row.outcome_detail
    event = TimelineEvent.objects.get(incident=mention.incident, kind=EventKind.MODERATION_RESULT)
    assert event.after["outcome"] == "failed" and "post already gone" in event.note


def test_a_bridge_outage_is_retried_with_the_same_idempotency_key(
    api_for: Any,
    responder: Any,
    mention: Mention,
    rule: ModerationRule,
    bridge: FakeBridge,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bridged_account(bridge)
    bridge.answer_next(503, {"error": "down for maintenance"})
    with django_capture_on_commit_callbacks(execute=False):
        moderate(api_for(responder), mention, rule, "block_author")
    row = ModerationAction.objects.get()
    assert services.moderation_perform_attempt(action_id=row.pk) == "retry"
    row.refresh_from_db()
    assert row.outcome == "pending" and "503" in row.outcome_detail and "Trying again" in row.outcome_detail
    assert services.moderation_perform_due(now=timezone.now()) == []  # backing off
    assert services.moderation_perform_attempt(action_id=row.pk) == "nothing"
    assert row.next_attempt_at is not None
    later = row.next_attempt_at + timedelta(seconds=1)
    assert services.moderation_perform_due(now=later) == [row.pk]
    ModerationAction.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert services.moderation_perform_attempt(action_id=row.pk) == "performed"
    row.refresh_from_db()
    assert row.attempts == 2 and row.outcome == "performed"
    assert len(bridge.posts) == 1 and list(bridge.by_idempotency_key) == [f"firebreak-moderation-{row.pk}"]


def test_a_manual_account_records_only(api_for: Any, responder: Any, mention: Mention, rule: Any) -> None:
    manual_account()
    answer = moderate(api_for(responder), mention, rule, "hide")
    assert answer.json()["outcome"] == "recorded_only"
    assert "by hand" in answer.json()["outcome_detail"]


def test_a_repeat_hide_answers_409_and_changes_nothing(
    api_for: Any, responder: Any, mention: Mention, rule: ModerationRule
) -> None:
    client = api_for(responder)
    assert moderate(client, mention, rule, "hide").status_code == 201
    events = TimelineEvent.objects.count()
    answer = moderate(client, mention, rule, "hide")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict"
    assert ModerationAction.objects.count() == 1
    assert EvidenceCapture.objects.count() == 1
    assert TimelineEvent.objects.count() == events


def test_the_wrong_role_answers_403_and_changes_nothing(
    api_for: Any, legal: Any, mention: Mention, rule: ModerationRule
) -> None:
    answer = moderate(api_for(legal), mention, rule, "hide")
    assert answer.status_code == 403
    assert not ModerationAction.objects.exists()
    assert not EvidenceCapture.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"), [({"action": "burn", "rule": 1}, "action"), ({"action": "hide", "rule": 999}, "rule")]
)
def test_a_bad_action_or_rule_answers_400_naming_the_field(
    api_for: Any, responder: Any, mention: Mention, rule: ModerationRule, body: dict[str, Any], field: str
) -> None:
    answer = api_for(responder).post(f"/api/v1/mentions/{mention.pk}/moderate/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]
    assert not ModerationAction.objects.exists()


def test_the_incident_page_offers_moderation_and_lists_past_actions(
    client: Client, responder: Any, mention: Mention, rule: ModerationRule
) -> None:
    client.force_login(responder)
    page = f"/incidents/{mention.incident_id}/"
    assert client.post(
        f"/mentions/{mention.pk}/moderate/", {"action": "hide", "rule": rule.pk}
    ).status_code in (
        200,
        302,
    )
    html = client.get(page).content.decode()
    assert 'name="rule"' in html
    assert f"Hide under “No threats” by {actor_label_of(responder)}" in html


def test_the_guidelines_page_is_public_and_shows_active_rules(client: Client, rule: ModerationRule) -> None:
    ModerationRule.objects.create(title="Old rule", description="gone", action="hide", is_active=False)
    answer = client.get("/community-guidelines/")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "No threats" in html
    assert "Threats of violence are removed and reported." in html
    assert "Old rule" not in html
