"""The incidents API: filters mirroring the queue, keyset pages, actions with timeline and 409s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.services.ingestion import mentions_ingest
from tests.factories import CategoryFactory, IncidentFactory, mention_payload

LIST = "/api/v1/incidents/"


@pytest.fixture
def api(api_for: Any, responder: Any) -> APIClient:
    return api_for(responder)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_default_list_is_open_incidents_most_urgent_first(api: APIClient) -> None:
    now = timezone.now()
    old_normal = IncidentFactory(priority="normal", created_at=now - timedelta(hours=5))
    critical = IncidentFactory(priority="critical", created_at=now - timedelta(hours=1))
    new_normal = IncidentFactory(priority="normal", created_at=now - timedelta(hours=2))
    low = IncidentFactory(priority="low", created_at=now - timedelta(hours=9))
    IncidentFactory(status="resolved", priority="critical")
    assert ids(api.get(LIST)) == [critical.pk, old_normal.pk, new_normal.pk, low.pk]
    assert ids(api.get(LIST, {"sort": "oldest"})) == [low.pk, old_normal.pk, new_normal.pk, critical.pk]
    assert ids(api.get(LIST, {"sort": "newest"})) == [critical.pk, new_normal.pk, old_normal.pk, low.pk]
    assert len(ids(api.get(LIST, {"status": "all"}))) == 5


def test_filters_mirror_the_queue(api: APIClient, responder: Any, manager: Any) -> None:
    cat = CategoryFactory()
    mine = IncidentFactory(assignee=responder, category=cat, priority="high", platform="tiktok", tags=["vip"])
    theirs = IncidentFactory(assignee=manager, products=["kettle"], follow_up_required=True)
    loose = IncidentFactory(status="waiting_on_customer", title="Blender exploded in kitchen")
    assert ids(api.get(LIST, {"assignee": "me"})) == [mine.pk]
    assert ids(api.get(LIST, {"assignee": "none"})) == [loose.pk]
    assert ids(api.get(LIST, {"assignee": manager.pk})) == [theirs.pk]
    assert ids(api.get(LIST, {"category": cat.pk})) == [mine.pk]
    assert set(ids(api.get(LIST, {"category": "none"}))) == {theirs.pk, loose.pk}
    assert ids(api.get(LIST, {"priority": "high,critical"})) == [mine.pk]
    assert ids(api.get(LIST, {"platform": "tiktok"})) == [mine.pk]
    assert ids(api.get(LIST, {"tag": "VIP"})) == [mine.pk]
    assert ids(api.get(LIST, {"product": "kettle"})) == [theirs.pk]
    assert ids(api.get(LIST, {"follow_up_required": "true"})) == [theirs.pk]
    assert ids(api.get(LIST, {"status": "waiting_on_customer"})) == [loose.pk]
    assert ids(api.get(LIST, {"q": "blender exploding"})) == [loose.pk]


def test_search_finds_words_of_later_mentions(api: APIClient) -> None:
    (first,) = mentions_ingest(items=[mention_payload(1, text="late order")], actor=None, actor_label="t")
    mentions_ingest(
        items=[mention_payload(2, thread_id="ext-1", text="now the refund is missing too")],
        actor=None,
        actor_label="t",
    )
    assert ids(api.get(LIST, {"q": "refund"})) == [first.incident_id]


def test_bad_filter_values_are_400_with_the_field(api: APIClient) -> None:
    for params, field in [
        ({"priority": "urgent"}, "priority"),
        ({"status": "sleeping"}, "status"),
        ({"sort": "random"}, "sort"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
        ({"category": "abc"}, "category"),
    ]:
        response = api.get(LIST, params)
        assert response.status_code == 400, (params, response.content)
        assert field in response.json()["error"]["fields"], response.json()


def test_cursor_walks_every_row_once(api: APIClient) -> None:
    now = timezone.now()
    same_time = now - timedelta(hours=1)
    made = [
        IncidentFactory(
            priority=("critical", "high", "normal", "low")[i % 4],
            created_at=same_time if i % 3 else now - timedelta(minutes=i),
        )
        for i in range(23)
    ]
    seen: list[int] = []
    response = api.get(LIST, {"page_size": 5})
    pages = 0
    while True:
        seen += ids(response)
        pages += 1
        body = response.json()
        if not body["next_cursor"]:
            break
        assert body["next"].startswith("http://testserver/api/v1/incidents/?")
        response = api.get(LIST, {"page_size": 5, "cursor": body["next_cursor"]})
    assert pages == 5
    assert sorted(seen) == sorted(i.pk for i in made) and len(seen) == len(set(seen))
    ranks = [Incident.objects.get(pk=i).urgency_rank for i in seen]
    assert ranks == sorted(ranks)


def test_list_runs_a_fixed_number_of_queries_whatever_the_page_size(api: APIClient, responder: Any) -> None:
    cat = CategoryFactory()
    for i in range(60):
        IncidentFactory(category=cat if i % 2 else None, assignee=responder if i % 3 else None, tags=["a"])
    api.get(LIST)  # the token's first use records last_used_at; measure steady state
    counts = []
    for size in (5, 60):
        with CaptureQueriesContext(connection) as ctx:
            assert len(ids(api.get(LIST, {"page_size": size}))) == size
        counts.append(len(ctx.captured_queries))
    # the token with its user and roles (one prepared statement), then the page itself
    assert counts[0] == counts[1] == 2, counts


def test_detail_has_mentions_and_timeline(api: APIClient) -> None:
    (r,) = mentions_ingest(items=[mention_payload(1)], actor=None, actor_label="listener")
    body = api.get(f"{LIST}{r.incident_id}/").json()
    assert body["mentions"][0]["external_id"] == "ext-1"
    assert body["timeline"][0]["kind"] == "created" and body["timeline"][0]["actor"] == "listener"
    assert api.get(f"{LIST}999999/").status_code == 404
    assert api.get(f"{LIST}999999/").json()["error"]["code"] == "not_found"


def test_actions_change_the_incident_and_append_to_its_timeline(api: APIClient, responder: Any) -> None:
    incident = IncidentFactory()
    cat = CategoryFactory(name="Routine")
    url = f"{LIST}{incident.pk}/"
    assert (
        api.post(url + "assign/", {"assignee": responder.pk}, format="json").json()["assignee"]["id"]
        == responder.pk
    )
    body = api.post(url + "categorize/", {"category": cat.pk}, format="json").json()
    assert body["category"]["name"] == "Routine" and body["status"] == "triaged"
    assert api.post(url + "prioritize/", {"priority": "high"}, format="json").json()["priority"] == "high"
    resolved = api.post(url + "resolve/", {"note": "refund sent"}, format="json").json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    reopened = api.post(url + "reopen/", {}, format="json").json()
    assert reopened["status"] == "in_progress" and reopened["resolved_at"] is None
    kinds = [e["kind"] for e in reopened["timeline"]]
    assert kinds == ["assigned", "categorized", "priority_changed", "resolved", "reopened"]
    assigned = reopened["timeline"][0]
    assert assigned["before"]["assignee"] is None and assigned["after"]["assignee"]["username"] == "riley"
    assert assigned["after"]["status"] == "triaged"


def test_conflicting_actions_get_409_and_change_nothing(api: APIClient) -> None:
    incident = IncidentFactory(status="resolved")
    response = api.post(f"{LIST}{incident.pk}/resolve/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    closed = IncidentFactory(status="closed")
    assert api.post(f"{LIST}{closed.pk}/reopen/", {}, format="json").status_code == 409
    assert not incident.timeline.exists() and not closed.timeline.exists()


def test_bad_action_input_is_400(api: APIClient) -> None:
    incident = IncidentFactory()
    for action, body, field in [
        ("assign", {"assignee": 99999}, "assignee"),
        ("assign", {}, "assignee"),
        ("categorize", {"category": "x"}, "category"),
        ("prioritize", {"priority": "max"}, "priority"),
    ]:
        response = api.post(f"{LIST}{incident.pk}/{action}/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
    assert not incident.timeline.exists()


def test_bulk_assign_and_categorize(api: APIClient, responder: Any) -> None:
    incidents = [IncidentFactory() for _ in range(3)]
    cat = CategoryFactory()
    pks = [i.pk for i in incidents]
    assert api.post(
        f"{LIST}bulk-assign/", {"incidents": pks, "assignee": responder.pk}, format="json"
    ).json() == {"changed": 3}
    assert api.post(
        f"{LIST}bulk-categorize/", {"incidents": pks, "category": cat.pk}, format="json"
    ).json() == {"changed": 3}
    assert Incident.objects.filter(assignee=responder, category=cat).count() == 3
    missing = api.post(f"{LIST}bulk-assign/", {"incidents": [*pks, 999999], "assignee": None}, format="json")
    assert missing.status_code == 404
    assert Incident.objects.filter(assignee=responder).count() == 3


def test_create_by_hand(api: APIClient, responder: Any) -> None:
    response = api.post(
        LIST, {"title": "Phone call from a journalist", "priority": "high", "tags": ["Press"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "new" and body["tags"] == ["press"]
    assert (
        body["timeline"][0]["kind"] == "created" and body["timeline"][0]["actor"] == responder.get_full_name()
    )


def test_categories_list(api: APIClient) -> None:
    CategoryFactory(name="Praise", slug="praise")
    CategoryFactory(name="Old", slug="old", is_active=False)
    assert [c["name"] for c in api.get("/api/v1/categories/").json()] == ["Praise"]


def test_schema_and_offline_docs(api: APIClient, responder: Any) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/incidents/", "/api/v1/mentions/", "/api/v1/hooks/mentions/"} <= set(paths)
    responses = paths["/api/v1/incidents/{id}/resolve/"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409"} <= set(responses)
    browser = APIClient()
    browser.force_login(responder)
    docs = browser.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    # Under the Content-Security-Policy: its start-up script is a file of ours, not inline.
    assert "<script>" not in html and 'src="/api/docs/?script="' in html
    script = browser.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert APIClient().get("/api/schema/").status_code in (401, 403)


def test_schema_validates_without_warnings() -> None:
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_browser_session_needs_csrf_for_writes(responder: Any) -> None:
    incident = IncidentFactory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(responder)
    assert browser.get(LIST).status_code == 200
    url = f"{LIST}{incident.pk}/prioritize/"
    refused = browser.post(url, {"priority": "high"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    token = get_random_string(32)  # as the CSRF cookie a page would have set
    browser.cookies["csrftoken"] = token
    accepted = browser.post(url, {"priority": "high"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and accepted.json()["priority"] == "high"


def test_other_endpoints_refuse_text_postgres_cannot_store(api: APIClient) -> None:
    for escape in ("\\u0000", "\\ud800"):
        body = '{"title": "broken ' + escape + ' title"}'
        response = api.generic("POST", LIST, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"
    assert not Incident.objects.exists()
