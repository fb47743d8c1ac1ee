"""Replies over REST: the transitions as POST actions, their 403/409 answers in the one error shape with
nothing changed, the approval inbox, list filters, bounded queries, and Mastodon publishing end to end
against a local fake instance."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Mention, Reply, ReplyState
from incidents.services import replies as svc
from protocols.models import ApprovalChain, Priority, SocialAccount
from tests.approvals import sign_off_chain
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/replies/"


@pytest.fixture
def chain(db: Any) -> ApprovalChain:
    return sign_off_chain(rules=[("", Priority.HIGH)])


@pytest.fixture
def incident(chain: ApprovalChain) -> Any:
    return IncidentFactory(priority=Priority.HIGH, platform="x")


def _create(client: Any, incident: Any, body: str = "We are on it — please DM us.") -> dict[str, Any]:
    response = client.post(URL, {"incident": incident.pk, "body": body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_chain_over_the_api(api_for: Any, pr_user: Any, legal: Any, manager: Any, incident: Any) -> None:
    pr, lee, boss = api_for(pr_user), api_for(legal), api_for(manager)
    reply = _create(pr, incident)
    assert reply["state"] == "draft" and reply["version"] == 1 and reply["versions"][0]["body"]

    submitted = pr.post(f"{URL}{reply['id']}/submit/", {"version": 1}, format="json").json()
    assert submitted["state"] == "legal_review"
    assert [s["stage"] for s in submitted["chain"]] == ["legal_review", "management_approval"]

    # legal's inbox has it; the manager's does not yet; the author's never
    assert [r["id"] for r in lee.get(f"{URL}inbox/").json()] == [reply["id"]]
    assert boss.get(f"{URL}inbox/").json() == []
    assert pr.get(f"{URL}inbox/").json() == []

    changes = lee.post(f"{URL}{reply['id']}/request-changes/", {"note": "Drop the dash."}, format="json")
    assert changes.json()["state"] == "changes_requested"
    assert changes.json()["changes_note"] == "Drop the dash."

    edited = pr.post(
        f"{URL}{reply['id']}/edit/", {"body": "We are on it. Please DM us.", "version": 1}, format="json"
    )
    assert edited.json()["version"] == 2 and edited.json()["state"] == "draft"
    pr.post(f"{URL}{reply['id']}/submit/", {"version": 2}, format="json")
    detail = lee.get(f"{URL}{reply['id']}/").json()
    assert detail["diff_from_reviewed"] == [
        {"op": " ", "text": "We are on"},
        {"op": "-", "text": "it — please"},
        {"op": "+", "text": "it. Please"},
        {"op": " ", "text": "DM us."},
    ]

    assert lee.post(f"{URL}{reply['id']}/approve/", {"version": 2}, format="json").json()["state"] == (
        "management_approval"
    )
    assert [r["id"] for r in boss.get(f"{URL}inbox/").json()] == [reply["id"]]
    assert (
        boss.post(f"{URL}{reply['id']}/approve/", {"version": 2}, format="json").json()["state"] == "approved"
    )

    published = pr.post(
        f"{URL}{reply['id']}/publish/", {"version": 2, "url": "https://x.com/brand/status/77"}, format="json"
    ).json()
    assert published["state"] == "published"
    assert published["published_url"] == "https://x.com/brand/status/77"
    assert [d["stage"] for d in published["decisions"]] == [
        "legal_review",
        "legal_review",
        "management_approval",
    ]
    assert [d["decision"] for d in published["decisions"]] == ["changes_requested", "approved", "approved"]


def _unchanged(reply_id: int) -> tuple[Any, ...]:
    reply = Reply.objects.get(pk=reply_id)
    return reply.state, reply.version, reply.step, reply.updated_at


@pytest.mark.parametrize(
    "who, action, body, status",
    [
        ("pr_user", "approve", {}, 403),  # the author
        ("manager", "approve", {}, 403),  # not the legal step's role
        ("outsider", "approve", {}, 403),
        ("integration", "approve", {}, 403),
        ("integration", "submit", {}, 403),
        ("legal", "submit", {}, 403),  # legal may not draft
        ("legal", "approve", {"version": 9}, 409),  # a version they never saw
        ("legal", "request-changes", {}, 400),  # the note is required
        ("pr_user", "publish", {"url": "https://x.com/a/1"}, 409),  # not approved yet
        ("pr_user", "edit", {"body": ""}, 400),
    ],
)
def test_refusals_answer_in_the_error_shape_and_change_nothing(
    request: pytest.FixtureRequest,
    api_for: Any,
    who: str,
    action: str,
    body: dict[str, Any],
    status: int,
    pr_user: Any,
    incident: Any,
) -> None:
    reply = svc.reply_create(actor=pr_user, incident_id=incident.pk, body="Sorry about this.")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    before = _unchanged(reply.pk)
    response = api_for(request.getfixturevalue(who)).post(f"{URL}{reply.pk}/{action}/", body, format="json")
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert _unchanged(reply.pk) == before


def test_stale_publish_is_409_until_confirmed(api_for: Any, responder: Any) -> None:
    incident = IncidentFactory(priority=Priority.NORMAL)
    client = api_for(responder)
    reply = _create(client, incident, "Thanks for the heads-up!")
    Mention.objects.create(
        platform="x",
        external_id="m-late",
        author_handle="cust",
        text="Hello??",
        posted_at=timezone.now(),
        sentiment="negative",
        incident=incident,
        received_at=timezone.now(),
    )
    refused = client.post(f"{URL}{reply['id']}/publish/", {"url": "https://x.com/b/1"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "stale_reply"
    assert Reply.objects.get(pk=reply["id"]).state == ReplyState.DRAFT
    ok = client.post(
        f"{URL}{reply['id']}/publish/", {"url": "https://x.com/b/1", "confirm_stale": True}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["state"] == "published"


def test_bad_input_names_the_field_and_stores_nothing(api_for: Any, pr_user: Any, incident: Any) -> None:
    client = api_for(pr_user)
    for payload, field in [
        ({"incident": incident.pk}, "body"),
        ({"incident": "x", "body": "hi"}, "incident"),
        ({"incident": incident.pk, "body": "hi", "mention": 999999}, "mention"),
        ({"incident": incident.pk, "body": "hi", "account": 999999}, "account"),
    ]:
        response = client.post(URL, payload, format="json")
        assert response.status_code == 400, payload
        assert field in response.json()["error"]["fields"], response.json()
    assert client.post(URL, {"incident": 999999, "body": "hi"}, format="json").status_code == 404
    assert Reply.objects.count() == 0


def test_list_filters_and_bounded_queries(
    api_for: Any, pr_user: Any, legal: Any, incident: Any, django_assert_max_num_queries: Any
) -> None:
    other = IncidentFactory(priority=Priority.HIGH)
    waiting = [svc.reply_create(actor=pr_user, incident_id=incident.pk, body=f"Reply {i}") for i in range(6)]
    for reply in waiting[:4]:
        svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    svc.reply_create(actor=pr_user, incident_id=other.pk, body="Elsewhere")
    client = api_for(legal)
    in_review = client.get(URL, {"state": "legal_review"}).json()["results"]
    assert sorted(r["id"] for r in in_review) == sorted(r.pk for r in waiting[:4])
    assert len(client.get(URL, {"incident": other.pk}).json()["results"]) == 1
    assert len(client.get(URL, {"waiting_on_role": "legal"}).json()["results"]) == 4
    assert client.get(URL, {"state": "nonsense"}).status_code == 400
    with django_assert_max_num_queries(8):
        assert len(client.get(URL).json()["results"]) == 7
    with django_assert_max_num_queries(8):
        assert len(client.get(f"{URL}inbox/").json()) == 4
    assert api_for(UserFactory(username="nobody")).get(URL).status_code == 403


def test_mastodon_publishes_in_reply_to_the_mention_and_survives_a_retry(
    pr_user: Any, legal: Any, manager: Any, incident: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.fakes.mastodon import FakeMastodon

    with FakeMastodon(token="tok") as instance:
        original = instance.seed_status(text="Your kettle blew up my kitchen")
        incident.platform = "mastodon"
        incident.save(update_fields=["platform"])
        mention = Mention.objects.create(
            platform="mastodon",
            external_id=original,
            author_handle="customer",
            text="Your kettle blew up",
            posted_at=timezone.now(),
            sentiment="negative",
            incident=incident,
            received_at=timezone.now(),
        )
        SocialAccount.objects.create(
            name="Brand on Mastodon",
            platform="mastodon",
            publisher="mastodon",
            mastodon_base_url=instance.base_url,
            mastodon_access_token="tok",
        )
        reply = svc.reply_create(
            actor=pr_user, incident_id=incident.pk, mention_id=mention.pk, body="@customer We are so sorry."
        )
        svc.reply_submit(actor=pr_user, reply_id=reply.pk)
        svc.reply_approve(actor=legal, reply_id=reply.pk)
        svc.reply_approve(actor=manager, reply_id=reply.pk)
        instance.fail_next(1, status=502)
        with django_capture_on_commit_callbacks(execute=False):
            svc.reply_publish(actor=pr_user, reply_id=reply.pk)
        assert svc.reply_publish_attempt(reply_id=reply.pk) == "retry"
        Reply.objects.filter(pk=reply.pk).update(publish_next_attempt_at=timezone.now())
        assert svc.reply_publish_attempt(reply_id=reply.pk) == "published"
        reply.refresh_from_db()
        assert reply.state == ReplyState.PUBLISHED
        posted = [s for s in instance.statuses if s["params"].get("in_reply_to_id") == original]
        assert len(posted) == 1
        assert reply.published_url == posted[0]["url"]
        assert reply.published_external_id == str(posted[0]["id"])


def test_a_refused_mastodon_post_is_shown_and_not_published(
    responder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.fakes.mastodon import FakeMastodon

    with FakeMastodon(token="right") as instance:
        incident = IncidentFactory(priority=Priority.NORMAL, platform="mastodon")
        SocialAccount.objects.create(
            name="Brand on Mastodon",
            platform="mastodon",
            publisher="mastodon",
            mastodon_base_url=instance.base_url,
            mastodon_access_token="wrong",
        )
        reply = svc.reply_create(actor=responder, incident_id=incident.pk, body="Thanks!")
        with django_capture_on_commit_callbacks(execute=False):
            svc.reply_publish(actor=responder, reply_id=reply.pk)
        assert svc.reply_publish_attempt(reply_id=reply.pk) == "failed"
        reply.refresh_from_db()
        assert reply.state == ReplyState.APPROVED
        assert reply.publish_status == "failed"
        assert "token" in reply.publish_error.lower()
        assert instance.statuses == []
