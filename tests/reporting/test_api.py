"""The report over the REST API: the dashboard's figures as JSON for managers' tokens, the previous
period beside them, the same validation, and nothing for other roles."""

from __future__ import annotations

from typing import Any

import pytest

from reporting.metrics import ReportQuery, report_compute
from tests.reporting.world import END, NOW, START, build

pytestmark = pytest.mark.django_db
OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}


def test_a_manager_pulls_the_same_figures_as_the_dashboard(api_for: Any, manager: Any) -> None:
    world = build(31)
    answer = api_for(manager).get("/api/v1/reports/summary/", OCTOBER)
    assert answer.status_code == 200
    body = answer.json()
    expected = report_compute(query=ReportQuery(start=START, end=END), user=manager, now=NOW)
    current = body["current"]
    assert current["start"] == "2026-10-01T00:00:00Z" and current["end"] == "2026-11-01T00:00:00Z"
    assert current["incidents"] == expected.incidents
    assert current["first_response"]["clock"]["n"] == expected.first_response["clock"].n
    first = next(t for t in current["targets"] if t["kind"] == "first_response")
    target = next(t for t in expected.targets if t.kind == "first_response")
    assert (first["met"], first["breached"]) == (target.met, target.breached)
    assert first["breached_link"].startswith("/?") and "breached=first_response" in first["breached_link"]
    stages = {s["stage"]: s["clock"]["n"] for s in current["approval_stages"]}
    assert stages == {s.stage: s.clock.n for s in expected.stages}
    assert body["previous"]["start"] == "2026-08-31T00:00:00Z"
    assert {c["key"] for c in current["incidents_by"]["category"]} <= {
        str(c.pk) for c in world.categories
    } | {"none"}


def test_filters_narrow_the_figures(api_for: Any, manager: Any) -> None:
    world = build(32)
    delivery = world.categories[0]
    body = api_for(manager).get("/api/v1/reports/summary/", {**OCTOBER, "category": delivery.pk}).json()
    assert [c["key"] for c in body["current"]["incidents_by"]["category"]] == [str(delivery.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-10-31", "end": "2026-10-01"}, "non_field_errors"),
        ({"start": "soon"}, "start"),
        ({"tier": "x"}, "tier"),
    ],
)
def test_bad_parameters_answer_400_naming_them(
    api_for: Any, manager: Any, params: dict[str, str], field: str
) -> None:
    answer = api_for(manager).get("/api/v1/reports/summary/", params)
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


@pytest.mark.parametrize("who", ["responder", "integration", "legal"])
def test_other_roles_get_403(api_for: Any, who: str, request: pytest.FixtureRequest) -> None:
    answer = api_for(request.getfixturevalue(who)).get("/api/v1/reports/summary/")
    assert answer.status_code == 403


def test_without_credentials_401(client: Any) -> None:
    assert client.get("/api/v1/reports/summary/").status_code == 401
