"""Templates, FAQs and brand rules the templates app's tests start from, made through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from protocols.models import Category
from templates_app.models import ResponseTemplate, TemplateVersion
from templates_app.services import brand as brand_services
from templates_app.services import templates as template_services
from tests.factories import CategoryFactory

APOLOGY_BODY = "Hi {{ customer_name }}, we're so sorry about order {{ order_number }}. {{ agent_first_name }}"
APOLOGY_VARIABLES = [
    {"name": "customer_name", "label": "Customer", "default": "there"},
    {"name": "order_number", "label": "Order number", "default": ""},
    {"name": "agent_first_name", "label": "Your first name", "default": ""},
]

MakeTemplate = Callable[..., ResponseTemplate]


@pytest.fixture
def make_template(responder: Any, manager: Any) -> MakeTemplate:
    """A template written by the responder; approved by the manager unless approved=False."""

    def make(*, approved: bool = True, **fields: Any) -> ResponseTemplate:
        values: dict[str, Any] = {
            "name": "Late order apology",
            "kind": "apology",
            "body": APOLOGY_BODY,
            "variables": APOLOGY_VARIABLES,
            **fields,
        }
        template = template_services.template_create(actor=responder, **values)
        if approved:
            draft = TemplateVersion.objects.get(template=template, status="draft")
            template_services.template_version_approve(actor=manager, version_id=draft.pk)
            template.refresh_from_db()
        return template

    return make


@pytest.fixture
def returns(db: Any) -> Category:
    return cast(Category, CategoryFactory(name="Returns", slug="returns"))


@pytest.fixture
def brand_rules(admin_user: Any) -> None:
    """The demo's banned phrases and the apology's required element."""
    for phrase in ["calm down", "as per our policy", "unfortunately there is nothing we can do"]:
        brand_services.banned_phrase_save(actor=admin_user, phrase=phrase)
    brand_services.required_element_save(
        actor=admin_user, kind="apology", label="an apology", alternatives=["sorry", "apolog"]
    )
