"""Mention intake over the API and the signed webhook: created, duplicate, invalid, never half-stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from incidents.models import Incident, Mention, TimelineEvent
from incidents.services.ingestion import mentions_ingest
from protocols.models import IntakeSource
from tests.factories import mention_payload

URL = "/api/v1/mentions/"
HOOK = "/api/v1/hooks/mentions/"


@pytest.fixture
def client(api_for: Any, integration: Any) -> APIClient:
    return api_for(integration)


def post_raw(
    client: APIClient,
    body: bytes,
    content_type: str = "application/json",
    *,
    url: str = URL,
    headers: dict[str, str] | None = None,
) -> Any:
    """POSTs exact bytes (the stubs type `data` as str, but Django's client sends bytes as they are)."""
    return client.generic("POST", url, body, content_type, **(headers or {}))  # type: ignore[arg-type]


def test_single_mention_opens_an_incident(client: APIClient) -> None:
    response = client.post(URL, mention_payload(1), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created"
    mention = Mention.objects.get(pk=body["mention_id"])
    assert mention.incident_id == body["incident_id"]
    assert mention.sentiment in {"positive", "neutral", "negative"} and mention.sentiment_is_computed
    incident = Incident.objects.get(pk=body["incident_id"])
    assert incident.status == "new" and incident.mention_count == 1 and incident.platform == "x"
    assert list(incident.timeline.values_list("kind", flat=True)) == ["created"]
    assert incident.timeline.get().actor_label == "api:bridge"


def test_resending_a_mention_is_a_duplicate_not_an_error(client: APIClient) -> None:
    first = client.post(URL, mention_payload(1), format="json").json()
    again = client.post(URL, mention_payload(1, text="edited text"), format="json")
    assert again.status_code == 200
    assert again.json() == {
        "status": "duplicate",
        "mention_id": first["mention_id"],
        "incident_id": first["incident_id"],
    }
    assert Mention.objects.count() == 1 and Incident.objects.count() == 1
    assert Mention.objects.get().text == "My order 1 arrived late"


def test_batch_answers_per_item_and_invalid_items_block_nothing(client: APIClient) -> None:
    client.post(URL, mention_payload("old"), format="json")
    batch = [
        mention_payload(1),
        mention_payload("old"),  # stored before
        {"platform": "myspace", "external_id": "z", "author_handle": "a", "text": "t", "posted_at": "x"},
        mention_payload(2),
        mention_payload(1),  # repeated inside the batch
        "not an object",
    ]
    response = client.post(URL, batch, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["duplicate"], body["invalid"]) == (2, 2, 2)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created", "duplicate", "invalid", "created", "duplicate", "invalid"]
    assert body["results"][4]["mention_id"] == body["results"][0]["mention_id"]
    assert "platform" in body["results"][2]["errors"] and "posted_at" in body["results"][2]["errors"]
    assert Mention.objects.count() == 3
    assert not Mention.objects.filter(external_id="z").exists()


def test_batch_limit_is_500(client: APIClient) -> None:
    ok = client.post(URL, [mention_payload(i) for i in range(500)], format="json")
    assert ok.status_code == 200 and ok.json()["created"] == 500
    too_many = client.post(URL, [mention_payload(f"b{i}") for i in range(501)], format="json")
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "batch_too_large"
    assert Mention.objects.count() == 500


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"platform": "orkut"}, "platform"),
        ({"platform": 3}, "platform"),
        ({"external_id": None}, "external_id"),
        ({"external_id": 12345}, "external_id"),
        ({"author_handle": ""}, "author_handle"),
        ({"text": ["a list"]}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"text": "nul \x00 inside"}, "text"),
        ({"posted_at": "yesterday"}, "posted_at"),
        ({"posted_at": "2026-11-22T09:00:00"}, "posted_at"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"sentiment": "furious"}, "sentiment"),
        ({"tags": "not-a-list"}, "tags"),
        ({"raw": ["not", "an", "object"]}, "raw"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_stored(
    client: APIClient, payload: dict[str, Any], field: str
) -> None:
    response = client.post(URL, mention_payload(1, **payload), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"], error
    assert error["message"].startswith(field)
    assert Mention.objects.count() == 0 and Incident.objects.count() == 0


def test_missing_fields_are_each_named(client: APIClient) -> None:
    response = client.post(URL, {"platform": "x"}, format="json")
    assert response.status_code == 400
    assert {"external_id", "author_handle", "text", "posted_at"} <= set(response.json()["error"]["fields"])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"platform": "x", ', "application/json", 400, "malformed_json"),
        (b'{"text": "caf\xe9"}', "application/json", 400, "invalid_encoding"),
        (b"platform=x", "application/x-www-form-urlencoded", 400, "unsupported_media_type"),
        (b"[]", "application/json", 400, "invalid"),
        (b"42", "application/json", 400, "invalid"),
    ],
)
def test_malformed_bodies_get_a_json_error(
    client: APIClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = post_raw(client, body, content_type)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert Mention.objects.count() == 0


def test_body_over_one_mebibyte_is_refused(client: APIClient) -> None:
    body = json.dumps([mention_payload(i, text="y" * 9000) for i in range(130)]).encode()
    assert len(body) > 1024 * 1024
    response = post_raw(client, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert Mention.objects.count() == 0


def test_text_is_stored_exactly_as_given(client: APIClient) -> None:
    text = "<script>alert('x')</script> & “quotes” 🙂\nnew line"
    response = client.post(URL, mention_payload(1, text=text), format="json")
    assert Mention.objects.get(pk=response.json()["mention_id"]).text == text


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_store_each_mention_exactly_once(integration: Any) -> None:
    """Four threads (four PostgreSQL connections) send overlapping batches at the same moment."""
    batch = [mention_payload(i, thread_id=f"t{i % 7}", author_handle=f"a{i % 11}") for i in range(120)]
    barrier = threading.Barrier(4)
    outcomes: list[list[str]] = []
    failures: list[BaseException] = []

    def replay(offset: int) -> None:
        try:
            items = batch[offset:] + batch[:offset]  # same mentions, different order
            barrier.wait()
            results = mentions_ingest(items=items, actor=integration, actor_label="test")
            outcomes.append([r.status for r in results])
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=replay, args=(n * 30,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert Mention.objects.count() == 120
    assert sum(s.count("created") for s in outcomes) == 120
    assert sum(s.count("duplicate") for s in outcomes) == 3 * 120
    # Each thread of the conversation ended up in one open incident, never two.
    assert Incident.objects.values("thread_key").distinct().count() == Incident.objects.count()
    assert TimelineEvent.objects.filter(kind__in=["created", "mention_added"]).count() == 120


@pytest.fixture
def source(db: Any) -> IntakeSource:
    return IntakeSource.objects.create(name="Listening", slug="listening", secret="s3cret-value")


def signed(
    source: IntakeSource, body: bytes, *, timestamp: int | None = None, secret: str | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new((secret or source.secret).encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_FIREBREAK_SOURCE": source.slug,
        "HTTP_X_FIREBREAK_TIMESTAMP": ts,
        "HTTP_X_FIREBREAK_SIGNATURE": f"sha256={mac}",
    }


def test_webhook_accepts_a_signed_batch(source: IntakeSource) -> None:
    body = json.dumps([mention_payload(1), mention_payload(2)]).encode()
    response = post_raw(APIClient(), body, url=HOOK, headers=signed(source, body))
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    assert TimelineEvent.objects.filter(actor_label="webhook:listening").count() == 2


@pytest.mark.parametrize(
    "tamper",
    ["bad_secret", "old", "future", "body_changed", "unknown_source", "no_signature"],
)
def test_webhook_refuses_bad_signatures_and_replays(source: IntakeSource, tamper: str) -> None:
    body = json.dumps(mention_payload(1)).encode()
    headers = signed(source, body)
    if tamper == "bad_secret":
        headers = signed(source, body, secret="wrong")
    elif tamper == "old":
        headers = signed(source, body, timestamp=int(time.time()) - 301)
    elif tamper == "future":
        # Beyond the 5-minute window by a margin the request's own time cannot eat on a busy machine
        # (the signed second is truncated and the server reads the clock later).
        headers = signed(source, body, timestamp=int(time.time()) + 330)
    elif tamper == "body_changed":
        body = json.dumps(mention_payload(2)).encode()
    elif tamper == "unknown_source":
        headers["HTTP_X_FIREBREAK_SOURCE"] = "nobody"
    elif tamper == "no_signature":
        del headers["HTTP_X_FIREBREAK_SIGNATURE"]
    response = post_raw(APIClient(), body, url=HOOK, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Mention.objects.count() == 0


def test_webhook_within_window_still_accepted(source: IntakeSource) -> None:
    body = json.dumps(mention_payload(1)).encode()
    headers = signed(source, body, timestamp=int(time.time()) - 290)
    response = post_raw(APIClient(), body, url=HOOK, headers=headers)
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_intake_survives_a_reconnect_of_its_prepared_statements(integration: Any) -> None:
    """The hot path prepares statements per database session; a new session prepares them again."""
    mentions_ingest(items=[mention_payload(1)], actor=integration, actor_label="t")
    connection.close()
    (again,) = mentions_ingest(items=[mention_payload(2)], actor=integration, actor_label="t")
    assert again.status == "created"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'fb_ingest_%%'")
        assert cursor.fetchone()[0] >= 5


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_text_postgres_cannot_store_is_a_400_not_a_500(client: APIClient, escape: str) -> None:
    for field in ("text", "author_handle", "external_id"):
        body = json.dumps(mention_payload(1, **{field: "PLACEHOLDER"})).replace("PLACEHOLDER", f"x{escape}y")
        response = post_raw(client, body.encode())
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["error"]["fields"]
    raw = json.dumps(mention_payload(2, raw={"k": "PLACEHOLDER"})).replace("PLACEHOLDER", escape)
    assert post_raw(client, raw.encode()).status_code == 400
    assert Mention.objects.count() == 0


def test_prepared_statements_use_one_generic_plan(client: APIClient) -> None:
    client.post(URL, mention_payload(1), format="json")
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"
        cursor.execute(
            "SELECT generic_plans > 0 FROM pg_prepared_statements WHERE name = 'fb_ingest_incidents'"
        )
        assert cursor.fetchone()[0] is True
