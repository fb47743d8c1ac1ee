"""A template's life through the API: drafted, approved by someone else, edited into a new draft version
that needs approval again, retired; conflicts answer 409 and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from templates_app.models import ResponseTemplate, TemplateEvent
from templates_app.selectors import approved_version, templates_for_incident
from templates_app.services import templates as template_services
from tests.templates_app.conftest import APOLOGY_BODY, APOLOGY_VARIABLES, MakeTemplate

TEMPLATES = "/api/v1/templates/"
Api = Callable[[Any], APIClient]


def create_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Late order apology",
        "kind": "apology",
        "body": APOLOGY_BODY,
        "variables": APOLOGY_VARIABLES,
        "platforms": ["x"],
        **overrides,
    }


def offered_names(user: Any) -> list[str]:
    return [c.name for c in templates_for_incident(user=user, category_id=None, platform="x")]


def test_full_lifecycle_draft_approve_edit_reapprove(api_for: Api, responder: Any, manager: Any) -> None:
    author, approver = api_for(responder), api_for(manager)

    created = author.post(TEMPLATES, create_body(), format="json")
    assert created.status_code == 201, created.json()
    template = created.json()
    assert template["status"] == "draft" and template["current_version"] is None
    assert [v["status"] for v in template["versions"]] == ["draft"]
    assert offered_names(responder) == []  # a draft is never offered

    v1 = template["versions"][0]
    approved = approver.post(f"{TEMPLATES}{template['id']}/approve/", {"version": v1["id"]}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["current_version"]["number"] == 1
    assert approved.json()["versions"][0]["approved_by"]["username"] == "morgan"
    assert offered_names(responder) == ["Late order apology"]

    new_body = APOLOGY_BODY.replace("so sorry", "truly sorry")
    edited = author.patch(f"{TEMPLATES}{template['id']}/", {"body": new_body}, format="json")
    assert edited.status_code == 200, edited.json()
    after_edit = edited.json()
    assert [(v["number"], v["status"]) for v in after_edit["versions"]] == [(2, "draft"), (1, "approved")]
    # Until the new wording is approved, replies keep using version 1.
    assert (
        after_edit["current_version"]["number"] == 1 and "so sorry" in after_edit["current_version"]["body"]
    )
    assert after_edit["draft_version_id"] == after_edit["versions"][0]["id"]
    choice = templates_for_incident(user=responder, category_id=None, platform="x")[0]
    assert choice.version_id == v1["id"] and "so sorry" in choice.body

    v2 = after_edit["versions"][0]
    reapproved = approver.post(f"{TEMPLATES}{template['id']}/approve/", {"version": v2["id"]}, format="json")
    assert reapproved.status_code == 200
    assert reapproved.json()["current_version"]["number"] == 2
    choice = templates_for_incident(user=responder, category_id=None, platform="x")[0]
    assert choice.version_id == v2["id"] and "truly sorry" in choice.body
    kinds = list(TemplateEvent.objects.filter(template_id=template["id"]).values_list("kind", flat=True))
    assert kinds == ["created", "approved", "new_version", "approved"]


def test_editing_a_draft_changes_it_in_place(api_for: Api, make_template: MakeTemplate) -> None:
    template = make_template(approved=False)
    response = api_for(template.owner).patch(
        f"{TEMPLATES}{template.pk}/", {"body": "Sorry {{ customer_name }}!"}, format="json"
    )
    assert response.status_code == 200
    versions = response.json()["versions"]
    assert len(versions) == 1 and versions[0]["body"] == "Sorry {{ customer_name }}!"
    assert versions[0]["revision"] == 2


def test_changing_only_details_of_an_approved_template_needs_no_new_approval(
    api_for: Api, make_template: MakeTemplate
) -> None:
    template = make_template()
    response = api_for(template.owner).patch(
        f"{TEMPLATES}{template.pk}/",
        {"name": "Apology for a late order", "review_due_on": "2030-01-31"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Apology for a late order" and body["review_due_on"] == "2030-01-31"
    assert body["status"] == "approved" and body["version_count"] == 1 and body["draft_version_id"] is None


def test_the_author_cannot_approve_their_own_version(api_for: Api, manager: Any) -> None:
    client = api_for(manager)
    template = client.post(TEMPLATES, create_body(), format="json").json()
    response = client.post(
        f"{TEMPLATES}{template['id']}/approve/", {"version": template["versions"][0]["id"]}, format="json"
    )
    assert response.status_code == 403
    assert "someone else" in response.json()["error"]["message"]
    assert ResponseTemplate.objects.get(pk=template["id"]).status == "draft"
    assert offered_names(manager) == []


def test_a_manager_who_edited_a_draft_cannot_approve_it(
    api_for: Api, make_template: MakeTemplate, manager: Any, admin_user: Any
) -> None:
    template = make_template(approved=False)
    api_for(manager).patch(
        f"{TEMPLATES}{template.pk}/", {"body": "Sorry, {{ customer_name }}."}, format="json"
    )
    draft = template.versions.get()
    refused = api_for(manager).post(
        f"{TEMPLATES}{template.pk}/approve/", {"version": draft.pk}, format="json"
    )
    assert refused.status_code == 403
    accepted = api_for(admin_user).post(
        f"{TEMPLATES}{template.pk}/approve/", {"version": draft.pk}, format="json"
    )
    assert accepted.status_code == 200


def test_a_second_approval_of_the_same_version_is_a_conflict_and_changes_nothing(
    api_for: Api, make_template: MakeTemplate, admin_user: Any
) -> None:
    template = make_template()  # approved by the manager
    version = template.versions.get()
    before = (version.approved_by_id, version.approved_at)
    response = api_for(admin_user).post(
        f"{TEMPLATES}{template.pk}/approve/", {"version": version.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    version.refresh_from_db()
    assert (version.approved_by_id, version.approved_at) == before
    assert TemplateEvent.objects.filter(template=template, kind="approved").count() == 1


def test_approving_a_draft_edited_since_it_was_read_is_a_conflict(
    api_for: Api, make_template: MakeTemplate, responder: Any, manager: Any
) -> None:
    template = make_template(approved=False)
    draft = template.versions.get()
    read_revision = draft.revision
    template_services.template_update(
        actor=responder, template_id=template.pk, body="Sorry! {{ customer_name }}"
    )
    response = api_for(manager).post(
        f"{TEMPLATES}{template.pk}/approve/", {"version": draft.pk, "revision": read_revision}, format="json"
    )
    assert response.status_code == 409
    assert "edited since you read it" in response.json()["error"]["message"]
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.approved_by_id is None
    assert ResponseTemplate.objects.get(pk=template.pk).current_version_id is None


def test_retired_templates_are_not_offered_and_cannot_be_used(
    api_for: Api, make_template: MakeTemplate, manager: Any, responder: Any
) -> None:
    template = make_template()
    version_id = template.current_version_id
    assert version_id is not None and approved_version(version_id=version_id) is not None

    response = api_for(manager).post(f"{TEMPLATES}{template.pk}/retire/", format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "retired"
    assert offered_names(responder) == []
    assert approved_version(version_id=version_id) is None

    again = api_for(manager).post(f"{TEMPLATES}{template.pk}/retire/", format="json")
    assert again.status_code == 409
    edit = api_for(responder).patch(f"{TEMPLATES}{template.pk}/", {"body": "Sorry"}, format="json")
    assert edit.status_code == 409


def test_approved_version_refuses_drafts(make_template: MakeTemplate) -> None:
    draft = make_template(approved=False).versions.get()
    assert approved_version(version_id=draft.pk) is None
    assert approved_version(version_id=999_999) is None


def test_approving_a_version_of_another_template_is_not_found(
    api_for: Api, make_template: MakeTemplate, manager: Any
) -> None:
    first = make_template(approved=False)
    second = make_template(approved=False, name="Other")
    response = api_for(manager).post(
        f"{TEMPLATES}{first.pk}/approve/", {"version": second.versions.get().pk}, format="json"
    )
    assert response.status_code == 404
