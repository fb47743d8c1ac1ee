"""Each role against each API endpoint of the slice: allowed works, refused is 403 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from incidents.models import Incident, Mention, TimelineEvent
from tests.factories import CategoryFactory, IncidentFactory, mention_payload
from tests.roles import ROLES, TEAM, TRIAGERS, WORKERS

# endpoint -> roles allowed
MATRIX: dict[str, set[str]] = {
    "list": TEAM | {"integration"},
    "retrieve": TEAM | {"integration"},
    "categories": TEAM | {"integration"},
    "create": WORKERS,
    "assign_self": WORKERS,
    "assign_other": TRIAGERS,
    "categorize": TRIAGERS,
    "prioritize": TRIAGERS,
    "resolve": WORKERS,
    "reopen": WORKERS,
    "ingest": {"responder", "manager", "admin_user", "integration"},
    "bulk_assign_other": TRIAGERS,
}


def call(endpoint: str, client: APIClient, user: Any, other: Any) -> Any:
    incident = IncidentFactory(status="resolved" if endpoint == "reopen" else "new")
    url = f"/api/v1/incidents/{incident.pk}/"
    cat = CategoryFactory()
    requests = {
        "list": lambda: client.get("/api/v1/incidents/"),
        "retrieve": lambda: client.get(url),
        "categories": lambda: client.get("/api/v1/categories/"),
        "create": lambda: client.post("/api/v1/incidents/", {"title": "By hand"}, format="json"),
        "assign_self": lambda: client.post(url + "assign/", {"assignee": user.pk}, format="json"),
        "assign_other": lambda: client.post(url + "assign/", {"assignee": other.pk}, format="json"),
        "categorize": lambda: client.post(url + "categorize/", {"category": cat.pk}, format="json"),
        "prioritize": lambda: client.post(url + "prioritize/", {"priority": "high"}, format="json"),
        "resolve": lambda: client.post(url + "resolve/", {}, format="json"),
        "reopen": lambda: client.post(url + "reopen/", {}, format="json"),
        "ingest": lambda: client.post("/api/v1/mentions/", mention_payload(1), format="json"),
        "bulk_assign_other": lambda: client.post(
            "/api/v1/incidents/bulk-assign/",
            {"incidents": [incident.pk], "assignee": other.pk},
            format="json",
        ),
    }
    before = snapshot()
    response = requests[endpoint]()
    return response, before


def snapshot() -> tuple[int, int, int, list[tuple[Any, ...]]]:
    rows = list(
        Incident.objects.order_by("pk").values_list("status", "assignee_id", "category_id", "priority")
    )
    return Incident.objects.count(), Mention.objects.count(), TimelineEvent.objects.count(), rows


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_role_against_endpoint(request: Any, api_for: Any, role: str, endpoint: str) -> None:
    user = request.getfixturevalue(role)
    other = request.getfixturevalue("spokesperson" if role != "spokesperson" else "legal")
    client = api_for(user)
    allowed = role in MATRIX[endpoint]
    response, before = call(endpoint, client, user, other)
    if allowed:
        assert response.status_code in (200, 201), (role, endpoint, response.content)
    else:
        assert response.status_code == 403, (role, endpoint, response.status_code, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert snapshot() == before


def test_anonymous_and_bad_tokens_are_401(db: Any) -> None:
    anonymous = APIClient()
    assert anonymous.get("/api/v1/incidents/").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Token fb_not-a-real-token")
    response = anonymous.get("/api/v1/incidents/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"
