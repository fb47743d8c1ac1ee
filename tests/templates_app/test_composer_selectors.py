"""What the reply composer is offered: approved templates that fit the incident (category and platform
first, then general ones), and FAQs and talking points, the category's first, found by full-text search."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from protocols.models import Category
from protocols.selectors import forget_user_roles
from templates_app.rendering import VariableSpec
from templates_app.selectors import faqs_for, templates_for_incident
from templates_app.services import faqs as faq_services
from tests.factories import CategoryFactory
from tests.templates_app.conftest import MakeTemplate


def test_category_and_platform_matches_come_first_then_general_ones(
    make_template: MakeTemplate, category: Category, returns: Category, responder: Any
) -> None:
    make_template(name="General")
    make_template(name="For X anywhere", platforms=["x"])
    make_template(name="Category, any platform", categories=[category])
    make_template(name="Category on X", categories=[category], platforms=["x"])
    make_template(name="Other category", categories=[returns])
    make_template(name="Instagram only", platforms=["instagram"])
    make_template(name="Not approved", categories=[category], approved=False)

    choices = templates_for_incident(user=responder, category_id=category.pk, platform="x")

    assert [c.name for c in choices] == [
        "Category on X",
        "Category, any platform",
        "For X anywhere",
        "General",
    ]
    first = choices[0]
    assert first.kind == "apology" and "{{ customer_name }}" in first.body
    assert first.variables[0] == VariableSpec(name="customer_name", label="Customer", default="there")
    assert first.version_number == 1


def test_without_a_category_every_category_is_offered(
    make_template: MakeTemplate, returns: Category, responder: Any
) -> None:
    make_template(name="General")
    make_template(name="Returns", categories=[returns])
    names = [c.name for c in templates_for_incident(user=responder, category_id=None, platform="facebook")]
    assert names == ["General", "Returns"]


def test_language_filters_out_other_languages(make_template: MakeTemplate, responder: Any) -> None:
    make_template(name="Any language")
    make_template(name="Swedish", language="sv")
    make_template(name="English", language="en")
    names = [
        c.name for c in templates_for_incident(user=responder, category_id=None, platform="x", language="sv")
    ]
    assert names == ["Swedish", "Any language"]


def test_offers_nothing_to_a_user_without_a_role(make_template: MakeTemplate, outsider: Any) -> None:
    make_template()
    assert templates_for_incident(user=outsider, category_id=None, platform="x") == []


def test_offering_templates_takes_one_query(
    make_template: MakeTemplate, category: Category, responder: Any
) -> None:
    for n in range(5):
        make_template(name=f"T{n}", categories=[category])
    forget_user_roles(user=responder)  # count reading the roles too
    with CaptureQueriesContext(connection) as queries:
        templates_for_incident(user=responder, category_id=category.pk, platform="x")
    assert len(queries) <= 2


def _faq(actor: Any, title: str, body: str, **fields: Any) -> Any:
    return faq_services.faq_create(actor=actor, title=title, body=body, **fields)


def test_faqs_for_puts_the_category_first_then_general_and_leaves_out_others(
    responder: Any, category: Category, returns: Category
) -> None:
    _faq(responder, "General delivery times", "Two to four days.")
    _faq(responder, "Refund timing", "Five working days.", categories=[returns])
    _faq(responder, "Complaint etiquette", "Listen first.", categories=[category], kind="talking_point")

    found = faqs_for(user=responder, category_id=category.pk)
    assert [f.title for f in found] == ["Complaint etiquette", "General delivery times"]
    assert found[0].kind == "talking_point"


def test_faqs_for_searches_the_text_with_stemming(
    responder: Any, category: Category, returns: Category
) -> None:
    _faq(
        responder,
        "Is the blender dishwasher safe?",
        "Yes, the jug goes in the top rack.",
        products=["Blender-X2"],
    )
    _faq(responder, "Refunds", "Refunds reach the card within five days.", categories=[returns])
    _faq(responder, "Delivery", "Deliveries take two days.", categories=[category])
    _faq(responder, "Inactive refund note", "Old refund rules.", is_active=False)

    assert [f.title for f in faqs_for(user=responder, category_id=None, query="dishwashers")] == [
        "Is the blender dishwasher safe?"
    ]
    # With a query, other categories' entries are found too, after the incident's own category.
    found = faqs_for(user=responder, category_id=category.pk, query="refund OR deliveries")
    assert [f.title for f in found] == ["Delivery", "Refunds"]
    assert faqs_for(user=responder, category_id=None, query="jug")[0].products == ["blender-x2"]


def test_faqs_for_is_empty_for_a_user_without_a_role(responder: Any, outsider: Any) -> None:
    _faq(responder, "Delivery", "Two days.")
    assert faqs_for(user=outsider, category_id=None) == []


def test_faqs_for_respects_the_limit(responder: Any) -> None:
    for n in range(4):
        _faq(responder, f"Question {n}", "Answer")
    assert len(faqs_for(user=responder, category_id=None, limit=2)) == 2


def test_faq_search_uses_the_gin_index(responder: Any) -> None:
    _faq(responder, "Delivery", "Two days.")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM templates_app_faqentry "
            "WHERE search_vector @@ websearch_to_tsquery('english'::regconfig, 'delivery')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "faq_entry_search" in plan


def test_a_category_other_than_the_incidents_is_never_first(responder: Any) -> None:
    mine, other = CategoryFactory(), CategoryFactory()
    _faq(responder, "A other", "delivery text", categories=[other])
    _faq(responder, "B mine", "delivery text", categories=[mine])
    assert [f.title for f in faqs_for(user=responder, category_id=mine.pk, query="delivery")] == [
        "B mine",
        "A other",
    ]
