"""The team's template list page, the composer's htmx partials (brand check, FAQ panel), the admin
screens that save through the services, and the demo content."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from protocols.models import Category
from templates_app.brand import check_draft
from templates_app.demo import seed_demo_templates
from templates_app.models import BannedPhrase, FaqEntry, ResponseTemplate, TemplateKind, TemplateVersion
from templates_app.rendering import render_body
from templates_app.selectors import templates_for_incident
from templates_app.services import faqs as faq_services
from templates_app.services.templates import template_update
from tests.factories import CategoryFactory
from tests.templates_app.conftest import MakeTemplate


def signed_in(user: Any, *, staff: bool = False) -> Client:
    if staff:
        user.is_staff = user.is_superuser = True
        user.save()
    client = Client()
    client.force_login(user)
    return client


def test_template_list_page_shows_status_review_date_and_versions(
    make_template: MakeTemplate, responder: Any
) -> None:
    approved = make_template(name="Late order apology")
    make_template(name="Fresh draft", approved=False)
    template_update(actor=responder, template_id=approved.pk, body="So sorry, {{ customer_name }}!")
    page = signed_in(responder).get("/templates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Late order apology" in html and "Fresh draft" in html
    assert "v1 in use" in html and "draft awaiting approval" in html and "(2 in all)" in html
    assert "none approved" in html
    assert approved.review_due_on.strftime("%Y-%m-%d") in html

    only_drafts = signed_in(responder).get("/templates/?status=draft").content.decode()
    assert "Fresh draft" in only_drafts and "Late order apology" not in only_drafts


def test_template_list_page_refuses_a_user_without_a_role(outsider: Any) -> None:
    assert signed_in(outsider).get("/templates/").status_code == 403


def test_template_list_page_needs_sign_in() -> None:
    response = Client().get("/templates/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_brand_check_partial_lists_issues(responder: Any, brand_rules: None) -> None:
    response = signed_in(responder).post(
        "/templates/brand-check/", {"text": "Calm down " + "a" * 300, "platform": "x", "kind": "apology"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Banned phrase &quot;calm down&quot;" in html
    assert "Over the X limit: 310 of 280 characters" in html
    assert "Missing an apology" in html
    clean = signed_in(responder).post("/templates/brand-check/", {"text": "Sorry!", "platform": "x"})
    assert "Meets the brand guidelines." in clean.content.decode()


def test_faq_panel_partial(responder: Any, category: Category) -> None:
    faq_services.faq_create(actor=responder, title="Delivery times", body="Two days.", categories=[category])
    html = signed_in(responder).get(f"/templates/faq-panel/?category={category.pk}").content.decode()
    assert "Delivery times" in html and "Two days." in html
    assert "Nothing matches" in signed_in(responder).get("/templates/faq-panel/?q=zebra").content.decode()


# --- Admin --------------------------------------------------------------------------------------------


def test_admin_adds_a_template_as_a_draft_through_the_service(admin_user: Any, category: Category) -> None:
    client = signed_in(admin_user, staff=True)
    response = client.post(
        "/admin/templates_app/responsetemplate/add/",
        {
            "name": "Admin apology",
            "kind": "apology",
            "categories": [category.pk],
            "platforms": "x,instagram",
            "language": "en",
            "owner": "",
            "review_due_on": "",
            "body": "Sorry, {{ customer_name }}!",
            "variables": '[{"name": "customer_name", "label": "Customer", "default": "there"}]',
            **_empty_inlines(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    template = ResponseTemplate.objects.get(name="Admin apology")
    assert template.status == "draft" and template.owner == admin_user
    assert list(template.categories.all()) == [category]
    assert template.versions.get().body == "Sorry, {{ customer_name }}!"


def test_admin_edit_of_an_approved_template_starts_a_new_draft(
    make_template: MakeTemplate, admin_user: Any
) -> None:
    template = make_template()
    client = signed_in(admin_user, staff=True)
    response = client.post(
        f"/admin/templates_app/responsetemplate/{template.pk}/change/",
        {
            "name": template.name,
            "kind": template.kind,
            "platforms": "",
            "language": "",
            "owner": template.owner_id,
            "review_due_on": template.review_due_on.isoformat(),
            "body": "So sorry, {{ customer_name }}.",
            "variables": '[{"name": "customer_name", "label": "", "default": "there"}]',
            **_empty_inlines(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    versions = list(template.versions.order_by("number").values_list("number", "status", "body"))
    assert versions[1] == (2, "draft", "So sorry, {{ customer_name }}.")
    assert versions[0][1] == "approved"
    assert ResponseTemplate.objects.get(pk=template.pk).current_version_id == template.current_version_id


def test_admin_refuses_a_body_with_template_syntax(admin_user: Any) -> None:
    client = signed_in(admin_user, staff=True)
    response = client.post(
        "/admin/templates_app/responsetemplate/add/",
        {
            "name": "Bad",
            "kind": "praise",
            "body": "Thanks {{ user.password }}",
            "variables": "[]",
            **_empty_inlines(),
        },
    )
    assert response.status_code == 200
    assert "is not allowed" in response.content.decode()
    assert not ResponseTemplate.objects.exists()


def test_admin_actions_approve_and_retire_through_the_services(
    make_template: MakeTemplate, manager: Any, admin_user: Any
) -> None:
    mine = make_template(name="Manager's own", approved=False)
    TemplateVersion.objects.filter(template=mine).update(created_by=manager)
    mine.versions.get().authors.set([manager])
    theirs = make_template(name="Responder's", approved=False)
    client = signed_in(manager, staff=True)
    url = "/admin/templates_app/responsetemplate/"
    response = client.post(
        url, {"action": "approve_drafts", "_selected_action": [mine.pk, theirs.pk]}, follow=True
    )
    html = response.content.decode()
    assert "Approved Responder&#x27;s v1" in html
    assert "someone else" in html  # the manager wrote the other one
    assert ResponseTemplate.objects.get(pk=theirs.pk).status == "approved"
    assert ResponseTemplate.objects.get(pk=mine.pk).status == "draft"

    client.post(url, {"action": "retire_templates", "_selected_action": [theirs.pk]})
    assert ResponseTemplate.objects.get(pk=theirs.pk).status == "retired"


def test_admin_banned_phrase_save_is_seen_by_the_next_check(admin_user: Any) -> None:
    assert check_draft(text="No worries!", platform="x") == []
    client = signed_in(admin_user, staff=True)
    response = client.post(
        "/admin/templates_app/bannedphrase/add/",
        {"phrase": "no worries", "suggestion": "", "is_active": "on"},
    )
    assert response.status_code == 302
    assert [i.code for i in check_draft(text="No worries!", platform="x")] == ["banned_phrase"]
    phrase = BannedPhrase.objects.get()
    client.post(f"/admin/templates_app/bannedphrase/{phrase.pk}/delete/", {"post": "yes"})
    assert check_draft(text="No worries!", platform="x") == []


def test_admin_screens_are_read_only_without_the_role(legal: Any, make_template: MakeTemplate) -> None:
    template = make_template()
    client = signed_in(legal, staff=True)
    assert client.get("/admin/templates_app/responsetemplate/").status_code == 200
    assert client.get("/admin/templates_app/responsetemplate/add/").status_code == 403
    page = client.get(f"/admin/templates_app/responsetemplate/{template.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def _empty_inlines() -> dict[str, str]:
    data: dict[str, str] = {}
    for prefix in ("versions", "events"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "0",
            }
        )
    return data


# --- Demo content ---------------------------------------------------------------------------------------


@pytest.fixture
def demo_categories(db: Any) -> None:
    for slug in ["routine-complaint", "product-inquiry", "praise", "pr-crisis"]:
        CategoryFactory(name=slug.replace("-", " ").title(), slug=slug)


def test_demo_seeds_an_approved_template_of_every_kind_and_is_idempotent(
    demo_categories: None, pr_user: Any, manager: Any, responder: Any
) -> None:
    seed_demo_templates(owner=pr_user, approver=manager)
    seed_demo_templates(owner=pr_user, approver=manager)

    templates = ResponseTemplate.objects.all()
    assert templates.count() == 6
    assert {t.kind for t in templates} == set(TemplateKind.values)
    assert all(t.status == "approved" for t in templates)
    assert FaqEntry.objects.count() == 4 and FaqEntry.objects.filter(kind="talking_point").exists()
    assert set(BannedPhrase.objects.values_list("phrase", flat=True)) == {
        "calm down",
        "as per our policy",
        "unfortunately there is nothing we can do",
    }
    apology = ResponseTemplate.objects.get(kind="apology")
    assert apology.current_version is not None
    body = apology.current_version.body
    for name in ("customer_name", "order_number", "agent_first_name"):
        assert f"{{{{ {name} }}}}" in body
    # Filled in, every demo template meets the demo's own brand rules.
    for choice in templates_for_incident(user=responder, category_id=None, platform="x"):
        values = {spec.name: "Ana" for spec in choice.variables}
        text = render_body(body=choice.body, variables=choice.variables, values=values).text
        assert check_draft(text=text, platform="facebook", kind=choice.kind) == [], choice.name
