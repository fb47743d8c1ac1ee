"""The browser pages of incidents, role by role: who sees which page and control, which POSTs change
the database and which are refused with nothing changed, plus bounded queries and escaped text."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from incidents.models import EventKind, Incident, IncidentStatus, Mention, TimelineEvent
from incidents.services.incidents import incident_resolve
from incidents.services.ingestion import mentions_ingest
from incidents.services.timeline import timeline_append
from protocols.models import Priority
from tests.factories import CategoryFactory, IncidentFactory, UserFactory, mention_payload
from tests.roles import ROLES, TRIAGERS, WORKERS

VIEWERS = set(ROLES) - {"outsider"}


def htmx(target: str = "") -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target} if target else {"HX-Request": "true"}


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def incident(db: Any) -> Any:
    return IncidentFactory(title="Blender exploded on a customer")


@pytest.fixture
def colleague(db: Any) -> Any:
    return UserFactory(username="casey", first_name="Casey", last_name="Nguyen", roles=["responder"])


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def events(incident: Incident) -> list[str]:
    return list(TimelineEvent.objects.filter(incident_id=incident.pk).values_list("kind", flat=True))


# --- Sign-in -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/incidents/new/"),
        ("get", "/incidents/{id}/"),
        ("post", "/incidents/{id}/assign/"),
        ("post", "/incidents/{id}/categorize/"),
        ("post", "/incidents/{id}/resolve/"),
        ("post", "/incidents/bulk/"),
        ("post", "/views/"),
    ],
)
def test_anonymous_is_sent_to_login(incident: Incident, method: str, path: str) -> None:
    url = path.format(id=incident.pk)
    response = getattr(Client(), method)(url, {"assignee": "me"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert fresh(incident).assignee_id is None


def test_anonymous_htmx_request_redirects_the_whole_page(incident: Incident) -> None:
    headers = {**htmx("queue-rows"), "HX-Current-URL": "http://testserver/?q=x"}
    response = Client().get("/", headers=headers)
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/?next=%2F%3Fq%3Dx"  # back to the page, not the partial


def test_login_page_signs_in_and_lands_on_the_queue(responder: Any) -> None:
    client = Client()
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "riley", "password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and b"Triage queue" in page.content
    assert b"Responder" in page.content  # the signed-in user's role is shown


def test_logout_is_a_post(responder: Any) -> None:
    client = signed_in(responder)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


# --- Pages by role -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_queue_by_role(request: pytest.FixtureRequest, role: str, incident: Incident, category: Any) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).get("/")
    if role not in VIEWERS:
        assert response.status_code == 403
        assert incident.title.encode() not in response.content
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert incident.title in html
    assert (f'action="/incidents/{incident.pk}/assign/"' in html) == (role in WORKERS)
    assert (f'action="/incidents/{incident.pk}/categorize/"' in html) == (role in TRIAGERS)
    assert (f'action="/incidents/{incident.pk}/prioritize/"' in html) == (role in TRIAGERS)
    assert ('id="bulk-form"' in html) == (role in WORKERS)
    assert ('href="/incidents/new/"' in html) == (role in WORKERS)


@pytest.mark.parametrize("role", ROLES)
def test_incident_page_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).get(f"/incidents/{incident.pk}/")
    if role not in VIEWERS:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert incident.title in html and "Issue Description" in html
    assert (f'action="/incidents/{incident.pk}/resolve/"' in html) == (role in WORKERS)
    assert (f'action="/incidents/{incident.pk}/edit/"' in html) == (role in WORKERS)
    assert (f'action="/incidents/{incident.pk}/status/"' in html) == (role in WORKERS)
    assert (f'action="/incidents/{incident.pk}/categorize/"' in html) == (role in TRIAGERS)
    assert ('id="assignee-select"' in html) == (role in TRIAGERS)


def test_missing_incident_is_404(responder: Any) -> None:
    response = signed_in(responder).get("/incidents/999999/")
    assert response.status_code == 404
    assert b"Incident not found." in response.content


@pytest.mark.parametrize("role", ROLES)
def test_new_incident_by_role(request: pytest.FixtureRequest, role: str, category: Any) -> None:
    user = request.getfixturevalue(role)
    client = signed_in(user)
    page = client.get("/incidents/new/")
    response = client.post(
        "/incidents/new/",
        {
            "title": "Caller says the store refused a refund",
            "description": "Phoned in at 9:40.",
            "category": category.pk,
            "priority": "high",
            "tags": "refund, Store",
            "products": "blender-x2",
            "follow_up_required": "on",
            "assignee": "",
        },
    )
    if role not in WORKERS:
        assert page.status_code == 403 and response.status_code == 403
        assert not Incident.objects.exists()
        return
    assert page.status_code == 200
    created = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{created.pk}/"
    assert created.priority == "high" and created.category_id == category.pk and created.follow_up_required
    assert created.tags == ["refund", "store"] and created.created_by_id == user.pk
    assert events(created) == [EventKind.CREATED]


def test_new_incident_without_title_shows_the_form_again(responder: Any) -> None:
    response = signed_in(responder).post("/incidents/new/", {"title": "  ", "priority": "normal"})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert not Incident.objects.exists()


# --- POST actions by role ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_assign_to_me_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(f"/incidents/{incident.pk}/assign/", {"assignee": "me"})
    if role not in WORKERS:
        assert response.status_code == 403
        assert fresh(incident).assignee_id is None and events(incident) == []
        return
    assert response.status_code == 302
    after = fresh(incident)
    assert after.assignee_id == user.pk and after.status == IncidentStatus.TRIAGED
    assert events(incident) == [EventKind.ASSIGNED]


@pytest.mark.parametrize("role", ROLES)
def test_assign_to_someone_else_by_role(
    request: pytest.FixtureRequest, role: str, incident: Incident, colleague: Any
) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(f"/incidents/{incident.pk}/assign/", {"assignee": str(colleague.pk)})
    if role not in TRIAGERS:
        assert response.status_code == 403
        assert fresh(incident).assignee_id is None and events(incident) == []
        return
    assert response.status_code == 302
    assert fresh(incident).assignee_id == colleague.pk


@pytest.mark.parametrize("role", ROLES)
def test_categorize_by_role(
    request: pytest.FixtureRequest, role: str, incident: Incident, category: Any
) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(f"/incidents/{incident.pk}/categorize/", {"category": category.pk})
    if role not in TRIAGERS:
        assert response.status_code == 403
        assert fresh(incident).category_id is None and events(incident) == []
        return
    assert response.status_code == 302
    assert fresh(incident).category_id == category.pk


@pytest.mark.parametrize("role", ROLES)
def test_prioritize_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(f"/incidents/{incident.pk}/prioritize/", {"priority": "critical"})
    expected = Priority.CRITICAL if role in TRIAGERS else Priority.NORMAL
    assert response.status_code == (302 if role in TRIAGERS else 403)
    assert fresh(incident).priority == expected


@pytest.mark.parametrize("role", ROLES)
def test_set_status_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(f"/incidents/{incident.pk}/status/", {"status": "waiting_on_customer"})
    expected = IncidentStatus.WAITING_ON_CUSTOMER if role in WORKERS else IncidentStatus.NEW
    assert response.status_code == (302 if role in WORKERS else 403)
    assert fresh(incident).status == expected


@pytest.mark.parametrize("role", ROLES)
def test_edit_details_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(user).post(
        f"/incidents/{incident.pk}/edit/",
        {"title": "Blender exploded (video)", "description": "Now viral.", "tags": "safety", "products": ""},
    )
    after = fresh(incident)
    if role not in WORKERS:
        assert response.status_code == 403
        assert after.title == incident.title and events(incident) == []
        return
    assert response.status_code == 302
    assert after.title == "Blender exploded (video)" and after.tags == ["safety"]
    assert events(incident) == [EventKind.EDITED]


@pytest.mark.parametrize("role", ROLES)
def test_resolve_and_reopen_by_role(request: pytest.FixtureRequest, role: str, incident: Incident) -> None:
    user = request.getfixturevalue(role)
    client = signed_in(user)
    response = client.post(f"/incidents/{incident.pk}/resolve/", {"note": "Refund sent"})
    if role not in WORKERS:
        assert response.status_code == 403
        assert fresh(incident).status == IncidentStatus.NEW
        incident_resolve(actor=request.getfixturevalue("manager"), incident_id=incident.pk)
        assert client.post(f"/incidents/{incident.pk}/reopen/", {"note": "no"}).status_code == 403
        assert fresh(incident).status == IncidentStatus.RESOLVED
        return
    assert response.status_code == 302
    assert fresh(incident).status == IncidentStatus.RESOLVED
    assert TimelineEvent.objects.get(incident_id=incident.pk, kind=EventKind.RESOLVED).note == "Refund sent"
    assert client.post(f"/incidents/{incident.pk}/reopen/", {"note": "Came back"}).status_code == 302
    assert fresh(incident).status == IncidentStatus.TRIAGED


@pytest.mark.parametrize("role", ROLES)
def test_bulk_actions_by_role(request: pytest.FixtureRequest, role: str, category: Any) -> None:
    user = request.getfixturevalue(role)
    first, second = IncidentFactory(), IncidentFactory()
    client = signed_in(user)
    ids = [str(first.pk), str(second.pk)]
    assigned = client.post("/incidents/bulk/", {"op": "assign_me", "incidents": ids, "next": "/?status=all"})
    categorized = client.post(
        "/incidents/bulk/", {"op": "categorize", "bulk_category": category.pk, "incidents": ids}
    )
    mine = Incident.objects.filter(assignee_id=user.pk).count()
    in_category = Incident.objects.filter(category_id=category.pk).count()
    if role in WORKERS:
        assert assigned.status_code == 302 and assigned["Location"] == "/?status=all" and mine == 2
    else:
        assert assigned.status_code == 403 and mine == 0
    if role in TRIAGERS:
        assert categorized.status_code == 302 and in_category == 2
    else:
        assert categorized.status_code == 403 and in_category == 0


def test_bulk_assign_to_a_colleague_over_htmx(manager: Any, colleague: Any) -> None:
    first, second = IncidentFactory(), IncidentFactory()
    response = signed_in(manager).post(
        "/incidents/bulk/",
        {"op": "assign", "bulk_assignee": str(colleague.pk), "incidents": [first.pk, second.pk]},
        headers=htmx(),
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "queue-refresh"
    assert "Assigned 2 incidents to Casey Nguyen." in response.content.decode()
    assert Incident.objects.filter(assignee=colleague).count() == 2


def test_bulk_without_a_selection_is_refused(responder: Any) -> None:
    response = signed_in(responder).post("/incidents/bulk/", {"op": "assign_me"}, headers=htmx())
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#flash"
    assert b"Choose at least one incident." in response.content


# --- htmx partials and error mapping -------------------------------------------------------------


def test_assign_from_a_queue_row_answers_the_row(responder: Any, incident: Incident) -> None:
    response = signed_in(responder).post(
        f"/incidents/{incident.pk}/assign/", {"assignee": "me"}, headers=htmx(f"row-{incident.pk}")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="row-{incident.pk}"')
    assert "assigned to you" in html
    assert fresh(incident).assignee_id == responder.pk


def test_categorize_on_the_incident_page_answers_panel_and_timeline(
    responder: Any, incident: Incident, category: Any
) -> None:
    response = signed_in(responder).post(
        f"/incidents/{incident.pk}/categorize/",
        {"category": category.pk},
        headers=htmx("incident-panel"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<aside id="incident-panel"')
    assert 'id="timeline"' in html and 'hx-swap-oob="true"' in html
    assert "Category changed" in html
    assert '<span class="tl-field">Category:</span> <span class="tl-before">none</span>' in html
    assert '<span class="tl-after">Routine complaint</span>' in html


def changed(before: str, after: str) -> str:
    arrow = '<span class="tl-arrow">→</span>'
    return f'<span class="tl-before">{before}</span> {arrow} <span class="tl-after">{after}</span>'


def test_timeline_reads_as_before_and_after(responder: Any, incident: Incident, category: Any) -> None:
    client = signed_in(responder)
    client.post(f"/incidents/{incident.pk}/assign/", {"assignee": "me"})
    client.post(f"/incidents/{incident.pk}/categorize/", {"category": category.pk})
    client.post(f"/incidents/{incident.pk}/prioritize/", {"priority": "high"})
    html = " ".join(client.get(f"/incidents/{incident.pk}/").content.decode().split())
    assert changed("none", escape(responder.get_full_name())) in html  # Assignee, by name
    assert changed("New", "Triaged") in html  # Status, as the assignment triaged it
    assert changed("none", "Routine complaint") in html  # Category
    assert changed("Normal", "High") in html  # Priority
    assert html.index("Assigned") < html.index("Category changed") < html.index("Priority changed")


def test_timeline_names_assignees_and_older_events_by_username(
    responder: Any, colleague: Any, incident: Incident
) -> None:
    # Assignment events recorded before names were stored carry only {id, username}.
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.ASSIGNED,
        actor=responder,
        before={"assignee": None},
        after={"assignee": {"id": colleague.pk, "username": "casey"}},
    )
    client = signed_in(responder)
    client.post(f"/incidents/{incident.pk}/assign/", {"assignee": colleague.pk})
    html = " ".join(client.get(f"/incidents/{incident.pk}/").content.decode().split())
    assert changed("none", "casey") in html
    assert changed("none", "Casey Nguyen") in html


def test_conflict_is_409_with_a_message(responder: Any, incident: Incident) -> None:
    client = signed_in(responder)
    client.post(f"/incidents/{incident.pk}/resolve/", {"note": ""})
    again = client.post(f"/incidents/{incident.pk}/resolve/", {"note": ""})
    assert again.status_code == 409
    assert b"The incident is already resolved." in again.content
    over_htmx = client.post(f"/incidents/{incident.pk}/resolve/", {"note": ""}, headers=htmx())
    assert over_htmx.status_code == 409 and over_htmx["HX-Retarget"] == "#flash"
    assert b'role="alert"' in over_htmx.content


def test_refused_over_htmx_is_403_fragment(legal: Any, incident: Incident) -> None:
    response = signed_in(legal).post(f"/incidents/{incident.pk}/assign/", {"assignee": "me"}, headers=htmx())
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#flash"
    assert b"Not allowed" in response.content
    assert fresh(incident).assignee_id is None


def test_invalid_cursor_is_400(responder: Any) -> None:
    response = signed_in(responder).get("/?cursor=garbage")
    assert response.status_code == 400
    assert b"Invalid cursor" in response.content


# --- The queue: filters, pages, saved views, live refresh, query count --------------------------


def ingest(integration: Any, n: int, **overrides: Any) -> Incident:
    (result,) = mentions_ingest(
        items=[mention_payload(n, **overrides)], actor=integration, actor_label="test"
    )
    return Incident.objects.get(pk=result.incident_id)


def test_queue_filters_by_platform_search_and_assignee(responder: Any, integration: Any) -> None:
    blender = ingest(integration, 1, text="The blender exploded in my kitchen", author_handle="ana")
    shaker = ingest(integration, 2, platform="instagram", text="Shaker lid leaks", author_handle="tom")
    client = signed_in(responder)
    client.post(f"/incidents/{shaker.pk}/assign/", {"assignee": "me"})

    def titles(query: str) -> set[int]:
        html = client.get(f"/?{query}").content.decode()
        return {i.pk for i in (blender, shaker) if f'id="row-{i.pk}"' in html}

    assert titles("") == {blender.pk, shaker.pk}
    assert titles("platform=instagram") == {shaker.pk}
    assert titles("q=blender") == {blender.pk}
    assert titles("assignee=me") == {shaker.pk}
    assert titles("assignee=none") == {blender.pk}
    assert titles("status=all&sort=newest") == {blender.pk, shaker.pk}


def test_queue_partials_for_htmx(responder: Any, incident: Incident) -> None:
    client = signed_in(responder)
    rows = client.get("/?platform=x", headers=htmx("queue-rows"))
    assert rows.content.decode().lstrip().startswith('<tbody id="queue-rows"')
    assert 'hx-get="/?platform=x"' in rows.content.decode()  # the refresh keeps the filters
    assert "every 15s" in rows.content.decode()
    results = client.get("/?platform=x", headers=htmx("queue-results"))
    assert results.content.decode().lstrip().startswith('<div id="queue-results"')
    assert 'id="saved-views"' in results.content.decode()  # the sidebar follows the filters
    assert "HX-Request" in rows["Vary"]


def test_queue_pages_with_a_cursor(responder: Any) -> None:
    for _ in range(55):
        IncidentFactory()
    client = signed_in(responder)
    first = client.get("/?sort=oldest")
    html = first.content.decode()
    assert html.count('class="queue-row"') == 50
    assert "Next page →" in html and "First page" not in html
    next_url = html.split('class="btn btn-sm" href="')[-1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).content.decode()
    assert second.count('class="queue-row"') == 5
    assert "First page" in second and "Next page →" not in second


def test_builtin_views_are_offered(responder: Any) -> None:
    html = signed_in(responder).get("/?priority=high,critical").content.decode()
    for name in ("My open", "Unassigned", "High priority"):
        assert f">{name}</a>" in html
    assert 'aria-current="page">High priority</a>' in html


def test_queue_query_count_does_not_grow_with_rows(manager: Any, category: Any) -> None:
    CategoryFactory(name="Praise", slug="praise")
    people = [UserFactory(roles=["responder"]) for _ in range(3)]

    def count_queries() -> int:
        client = signed_in(manager)
        client.get("/")  # warm the session and the user's roles out of the measurement
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        assert response.status_code == 200
        return len(queries)

    for n in range(5):
        IncidentFactory(category=category, assignee=people[n % 3], tags=["a", "b"])
    few = count_queries()
    for n in range(55):
        IncidentFactory(category=category, assignee=people[n % 3], tags=["a", "b", "c", "d"])
    many = count_queries()
    assert many == few
    assert many <= 8  # session, user, roles, page of rows, categories, saved views, users


def test_mention_text_is_escaped(responder: Any, integration: Any) -> None:
    incident = ingest(
        integration,
        7,
        text='<script>alert("owned")</script> <img src=x onerror=alert(1)>',
        author_handle="mallory",
        author_name="<b>Mallory</b>",
    )
    client = signed_in(responder)
    for html in (client.get(f"/incidents/{incident.pk}/").content.decode(), client.get("/").content.decode()):
        assert '<script>alert("owned")' not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;" in html
    detail = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "<b>Mallory</b>" not in detail and "&lt;b&gt;Mallory&lt;/b&gt;" in detail


def test_only_web_links_to_original_posts(responder: Any, incident: Incident) -> None:
    now = timezone.now()
    for n, url in enumerate(["javascript:alert(1)", "https://x.com/ana/status/9"]):
        Mention.objects.create(
            incident=incident,
            platform="x",
            external_id=f"m{n}",
            url=url,
            author_handle="ana",
            text="hi",
            posted_at=now,
            sentiment="neutral",
            received_at=now,
        )
    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert 'href="javascript:' not in html
    assert 'href="https://x.com/ana/status/9"' in html


def test_mention_link_opens_safely(responder: Any, integration: Any) -> None:
    incident = ingest(integration, 8)
    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert 'href="https://x.com/someone/status/8" target="_blank" rel="noopener noreferrer"' in html
