"""The templates, FAQ and brand API: who may read and write what, bad input named by field, rendering
and the draft check, FAQ search, bounded queries on every list, and everything in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from protocols.models import Category
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    PlatformLimit,
    RequiredElement,
    ResponseTemplate,
    ToneNote,
)
from templates_app.services import brand as brand_services
from templates_app.services import faqs as faq_services
from templates_app.services.templates import template_update
from tests.roles import ROLES, TEAM
from tests.templates_app.conftest import APOLOGY_BODY, APOLOGY_VARIABLES, MakeTemplate

Api = Callable[[Any], APIClient]
TEMPLATES = "/api/v1/templates/"
FAQS = "/api/v1/faqs/"
BRAND_LISTS = [
    "/api/v1/brand/banned-phrases/",
    "/api/v1/brand/required-elements/",
    "/api/v1/brand/platform-limits/",
    "/api/v1/brand/tone-notes/",
]
CHECK = "/api/v1/brand-check/"
READERS = TEAM | {"integration"}
TEMPLATE_WRITERS = {"responder", "pr_user", "manager", "admin_user"}
BRAND_WRITERS = {"pr_user", "manager", "admin_user"}


def template_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Apology",
        "kind": "apology",
        "body": APOLOGY_BODY,
        "variables": APOLOGY_VARIABLES,
        **overrides,
    }


@pytest.fixture
def everything(
    make_template: MakeTemplate, responder: Any, admin_user: Any, category: Category
) -> dict[str, int]:
    """One of each object, for the permission matrix."""
    template = make_template()
    draft = make_template(name="Draft", approved=False)
    faq = faq_services.faq_create(
        actor=responder, title="Delivery times", body="Two days.", categories=[category]
    )
    phrase = brand_services.banned_phrase_save(actor=admin_user, phrase="calm down")
    element = brand_services.required_element_save(
        actor=admin_user, kind="apology", label="an apology", alternatives=["sorry"]
    )
    note = brand_services.tone_note_save(actor=admin_user, title="Warm", body="Be warm.")
    return {
        "template": template.pk,
        "draft": draft.pk,
        "draft_version": draft.versions.get().pk,
        "faq": faq.pk,
        "phrase": phrase.pk,
        "element": element.pk,
        "limit": PlatformLimit.objects.get(platform="x").pk,
        "note": note.pk,
    }


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read(
    role: str, request: pytest.FixtureRequest, api_for: Api, everything: dict[str, int]
) -> None:
    client = api_for(request.getfixturevalue(role))
    reads = [
        client.get(TEMPLATES),
        client.get(f"{TEMPLATES}{everything['template']}/"),
        client.post(f"{TEMPLATES}{everything['template']}/render/", {"values": {}}, format="json"),
        client.get(FAQS),
        client.get(f"{FAQS}{everything['faq']}/"),
        client.get(f"{FAQS}suggested/"),
        *(client.get(url) for url in BRAND_LISTS),
        client.post(CHECK, {"text": "Hi", "platform": "x"}, format="json"),
    ]
    expected = 200 if role in READERS else 403
    assert [r.status_code for r in reads] == [expected] * len(reads)
    if expected == 403:
        assert all(r.json()["error"]["code"] == "permission_denied" for r in reads)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_templates(
    role: str, request: pytest.FixtureRequest, api_for: Api, everything: dict[str, int]
) -> None:
    client = api_for(request.getfixturevalue(role))
    created = client.post(TEMPLATES, template_body(name=f"By {role}"), format="json")
    edited = client.patch(f"{TEMPLATES}{everything['draft']}/", {"language": "en"}, format="json")
    if role in TEMPLATE_WRITERS:
        assert (created.status_code, edited.status_code) == (201, 200)
    else:
        assert (created.status_code, edited.status_code) == (403, 403)
        assert not ResponseTemplate.objects.filter(name=f"By {role}").exists()
        assert ResponseTemplate.objects.get(pk=everything["draft"]).language == ""


@pytest.mark.parametrize("role", ROLES)
def test_who_may_approve_and_retire(
    role: str, request: pytest.FixtureRequest, api_for: Api, everything: dict[str, int]
) -> None:
    client = api_for(request.getfixturevalue(role))
    approved = client.post(
        f"{TEMPLATES}{everything['draft']}/approve/", {"version": everything["draft_version"]}, format="json"
    )
    retired = client.post(f"{TEMPLATES}{everything['template']}/retire/")
    if role in {"manager", "admin_user"}:
        assert (approved.status_code, retired.status_code) == (200, 200)
    else:
        assert (approved.status_code, retired.status_code) == (403, 403)
        assert ResponseTemplate.objects.get(pk=everything["template"]).status == "approved"
        assert ResponseTemplate.objects.get(pk=everything["draft"]).status == "draft"


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_faqs_and_brand_rules(
    role: str, request: pytest.FixtureRequest, api_for: Api, everything: dict[str, int]
) -> None:
    client = api_for(request.getfixturevalue(role))
    faq_writes = [
        client.post(FAQS, {"title": f"Q {role}", "body": "A"}, format="json").status_code,
        client.patch(f"{FAQS}{everything['faq']}/", {"body": "Three days."}, format="json").status_code,
    ]
    brand_writes = [
        client.post(BRAND_LISTS[0], {"phrase": f"no {role}"}, format="json").status_code,
        client.patch(
            f"{BRAND_LISTS[1]}{everything['element']}/", {"label": "a sorry"}, format="json"
        ).status_code,
        client.patch(
            f"{BRAND_LISTS[2]}{everything['limit']}/", {"max_characters": 250}, format="json"
        ).status_code,
        client.delete(f"{BRAND_LISTS[3]}{everything['note']}/").status_code,
    ]
    faq_writers = {"responder", "pr_user", "manager", "admin_user"}
    assert faq_writes == ([201, 200] if role in faq_writers else [403, 403])
    assert brand_writes == ([201, 200, 200, 204] if role in BRAND_WRITERS else [403] * 4)
    if role not in BRAND_WRITERS:
        assert PlatformLimit.objects.get(platform="x").max_characters == 280
        assert not BannedPhrase.objects.filter(phrase=f"no {role}").exists()
        assert RequiredElement.objects.get(pk=everything["element"]).label == "an apology"
        assert ToneNote.objects.filter(pk=everything["note"]).exists()
    if role not in faq_writers:
        assert FaqEntry.objects.get(pk=everything["faq"]).body == "Two days."


def test_anonymous_requests_are_refused(everything: dict[str, int]) -> None:
    client = APIClient()
    for url in [TEMPLATES, FAQS, *BRAND_LISTS]:
        assert client.get(url).status_code in (401, 403)
    assert client.post(CHECK, {"text": "x"}, format="json").status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "apology", "body": "Sorry"}, "name"),
        (template_body(kind="grovel"), "kind"),
        (template_body(body="Hi {{ user.password }}"), "body"),
        (template_body(body="Hi {{ nickname }}"), "body"),
        (template_body(body="{% debug %} sorry"), "body"),
        (template_body(variables=[{"name": "bad name"}]), "variables"),
        (template_body(variables=[{"name": "a"}, {"name": "a"}], body="{{ a }}"), "variables"),
        (template_body(platforms=["myspace"]), "platforms"),
        (template_body(categories=[999_999]), "categories"),
        (template_body(body=""), "body"),
    ],
)
def test_bad_template_input_is_a_400_naming_the_field(
    api_for: Api, responder: Any, body: dict[str, Any], field: str
) -> None:
    response = api_for(responder).post(TEMPLATES, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert not ResponseTemplate.objects.exists()


def test_a_taken_name_is_a_400(api_for: Api, make_template: MakeTemplate, responder: Any) -> None:
    make_template(name="Apology")
    response = api_for(responder).post(TEMPLATES, template_body(name="APOLOGY"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"name": ["A template named 'APOLOGY' already exists."]}


def test_approve_needs_a_version(api_for: Api, make_template: MakeTemplate, manager: Any) -> None:
    template = make_template(approved=False)
    response = api_for(manager).post(f"{TEMPLATES}{template.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


def test_bad_faq_and_brand_input_is_a_400_naming_the_field(api_for: Api, admin_user: Any) -> None:
    client = api_for(admin_user)
    cases = [
        (FAQS, {"title": "", "body": "x"}, "title"),
        (FAQS, {"title": "Q", "body": "A", "kind": "rumour"}, "kind"),
        (BRAND_LISTS[0], {"phrase": ""}, "phrase"),
        (BRAND_LISTS[1], {"kind": "apology", "label": "x", "alternatives": []}, "alternatives"),
        (BRAND_LISTS[2], {"platform": "x", "max_characters": 0}, "max_characters"),
        (BRAND_LISTS[2], {"platform": "x", "max_characters": 300}, "platform"),  # x already has one
        (BRAND_LISTS[3], {"title": "T"}, "body"),
        (CHECK, {"text": "hi", "platform": "myspace"}, "platform"),
        (CHECK, {"platform": "x"}, "text"),
    ]
    for url, body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (url, body)
        assert field in response.json()["error"]["fields"], (url, response.json())


def test_render_fills_in_and_reports(
    api_for: Api, make_template: MakeTemplate, responder: Any, brand_rules: None
) -> None:
    template = make_template()
    client = api_for(responder)
    partial = client.post(
        f"{TEMPLATES}{template.pk}/render/",
        {"values": {"order_number": "A-1"}, "platform": "x"},
        format="json",
    ).json()
    assert partial["text"] == "Hi there, we're so sorry about order A-1. {{ agent_first_name }}"
    assert partial["missing"] == ["agent_first_name"]
    assert partial["issues"] == [
        {"code": "unfilled_variable", "message": "Fill in {{ agent_first_name }} before sending"}
    ]
    assert partial["is_approved"] is True and partial["can_send"] is False

    full = client.post(
        f"{TEMPLATES}{template.pk}/render/",
        {
            "values": {"order_number": "A-1", "agent_first_name": "Riley", "customer_name": "Ana"},
            "platform": "x",
        },
        format="json",
    ).json()
    assert full["text"] == "Hi Ana, we're so sorry about order A-1. Riley"
    assert full["missing"] == [] and full["issues"] == [] and full["can_send"] is True


def test_rendering_a_draft_is_a_preview_that_cannot_be_sent(
    api_for: Api, make_template: MakeTemplate, responder: Any
) -> None:
    template = make_template(approved=False, body="Sorry {{ customer_name }}")
    result = (
        api_for(responder).post(f"{TEMPLATES}{template.pk}/render/", {"values": {}}, format="json").json()
    )
    assert result["text"] == "Sorry there"
    assert result["is_approved"] is False and result["can_send"] is False


def test_brand_check_endpoint(api_for: Api, responder: Any, brand_rules: None) -> None:
    response = api_for(responder).post(
        CHECK,
        {"text": "Calm down, {{ customer_name }}. " + "a" * 280, "platform": "x", "kind": "apology"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert [i["code"] for i in body["issues"]] == [
        "banned_phrase",
        "too_long",
        "unfilled_variable",
        "missing_required",
    ]
    assert body["limit"] == 280 and body["length"] == len("Calm down, {{ customer_name }}. ") + 280


def test_faq_list_search_and_category_filter(
    api_for: Api, responder: Any, category: Category, returns: Category
) -> None:
    faq_services.faq_create(
        actor=responder, title="Refunds", body="Refunds take five days.", categories=[returns]
    )
    faq_services.faq_create(
        actor=responder, title="Delivery", body="Deliveries take two days.", categories=[category]
    )
    faq_services.faq_create(
        actor=responder,
        title="Blender care",
        body="Dishwasher safe.",
        kind="talking_point",
        products=["blender-x2"],
    )
    client = api_for(responder)

    def titles(query: str) -> list[str]:
        response = client.get(f"{FAQS}?{query}")
        assert response.status_code == 200, response.json()
        return [row["title"] for row in response.json()["results"]]

    assert titles("q=refunded") == ["Refunds"]
    assert titles("q=delivery") == ["Delivery"]
    assert titles(f"category={returns.pk}") == ["Refunds"]
    assert titles("kind=talking_point") == ["Blender care"]
    assert titles("product=Blender-X2") == ["Blender care"]
    assert titles("q=nothing-matches-this") == []
    assert client.get(f"{FAQS}?category=abc").status_code == 400

    suggested = client.get(f"{FAQS}suggested/?category={category.pk}&q=days").json()
    assert [row["title"] for row in suggested] == ["Delivery", "Refunds"]
    assert client.get(f"{FAQS}suggested/?limit=x").status_code == 400


def test_template_list_filters(
    api_for: Api, make_template: MakeTemplate, responder: Any, category: Category
) -> None:
    make_template(name="General")
    make_template(name="Complaint X", kind="complaint", body="We hear you.", variables=[], platforms=["x"])
    make_template(name="Draft one", approved=False, categories=[category])
    client = api_for(responder)

    def names(query: str) -> list[str]:
        response = client.get(f"{TEMPLATES}?{query}")
        assert response.status_code == 200, response.json()
        return [row["name"] for row in response.json()["results"]]

    assert names("") == ["Complaint X", "Draft one", "General"]
    assert names("status=draft") == ["Draft one"]
    assert names("kind=complaint") == ["Complaint X"]
    assert names("platform=x") == ["Complaint X"]
    assert names(f"category={category.pk}") == ["Draft one"]
    assert names("has_draft=true") == ["Draft one"]
    assert names("name=gener") == ["General"]
    assert client.get(f"{TEMPLATES}?status=lost").status_code == 400


def test_lists_page_with_a_cursor(api_for: Api, make_template: MakeTemplate, responder: Any) -> None:
    for n in range(5):
        make_template(name=f"T{n}")
    client = api_for(responder)
    first = client.get(f"{TEMPLATES}?page_size=3").json()
    second = client.get(first["next"]).json()
    assert [r["name"] for r in first["results"] + second["results"]] == [f"T{n}" for n in range(5)]
    assert second["next"] is None


def _fill(
    make_template: MakeTemplate, responder: Any, admin_user: Any, category: Category, start: int, n: int
) -> None:
    for i in range(start, start + n):
        template = make_template(name=f"T{i}", categories=[category], platforms=["x"])
        faq_services.faq_create(
            actor=responder, title=f"Q{i}", body="A", categories=[category], products=["p"]
        )
        brand_services.banned_phrase_save(actor=admin_user, phrase=f"phrase {i}")
        brand_services.required_element_save(
            actor=admin_user, kind="apology", label=f"e{i}", alternatives=["x"]
        )
        brand_services.tone_note_save(actor=admin_user, title=f"N{i}", body="b")
        # a second version, so the list has history to count
        template_update(actor=responder, template_id=template.pk, body=f"Sorry {i}", variables=[])


@pytest.mark.parametrize("url", [TEMPLATES, FAQS, *BRAND_LISTS])
def test_list_queries_do_not_grow_with_the_rows(
    url: str,
    api_for: Api,
    make_template: MakeTemplate,
    responder: Any,
    admin_user: Any,
    category: Category,
    django_assert_max_num_queries: Any,
) -> None:
    client = api_for(responder)
    _fill(make_template, responder, admin_user, category, 0, 2)
    with django_assert_max_num_queries(6):
        small = client.get(url)
    _fill(make_template, responder, admin_user, category, 2, 15)
    with django_assert_max_num_queries(6):
        large = client.get(url)
    if url != BRAND_LISTS[2]:  # the platform limits are the seeded rows either way
        assert len(large.json()["results"]) > len(small.json()["results"])


def test_everything_is_in_the_openapi_schema(api_for: Api, admin_user: Any) -> None:
    response = api_for(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/templates/",
        "/api/v1/templates/{id}/",
        "/api/v1/templates/{id}/approve/",
        "/api/v1/templates/{id}/retire/",
        "/api/v1/templates/{id}/render/",
        "/api/v1/faqs/",
        "/api/v1/faqs/suggested/",
        "/api/v1/brand/banned-phrases/",
        "/api/v1/brand/required-elements/{id}/",
        "/api/v1/brand/platform-limits/",
        "/api/v1/brand/tone-notes/",
        "/api/v1/brand-check/",
    ]:
        assert path in paths, path
    list_params = {p["name"] for p in paths["/api/v1/faqs/"]["get"]["parameters"]}
    assert {"q", "category", "cursor"} <= list_params
    assert "409" in paths["/api/v1/templates/{id}/approve/"]["post"]["responses"]
