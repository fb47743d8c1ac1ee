"""The brand check a responder sees while typing: banned phrases, platform length limits, unfilled
variables, template syntax and required elements; rule changes apply to the very next check."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.errors import PermissionRefused, ValidationFailed
from templates_app.brand import check_draft
from templates_app.models import PlatformLimit
from templates_app.services import brand as brand_services

pytestmark = pytest.mark.usefixtures("brand_rules")


def codes(text: str, platform: str = "facebook", kind: str = "") -> list[str]:
    return [issue.code for issue in check_draft(text=text, platform=platform, kind=kind)]


def test_a_clean_reply_has_no_issues() -> None:
    assert check_draft(text="Thanks so much, Ana! We're on it.", platform="x", kind="praise") == []


def test_a_banned_phrase_is_found_in_any_case_and_named() -> None:
    issues = check_draft(text="Please CALM  down, we are looking.", platform="x")
    assert [(i.code, i.message) for i in issues] == [("banned_phrase", 'Banned phrase "calm down"')]


def test_a_banned_phrase_matches_whole_words_only() -> None:
    assert codes("The calm downtown store is open.") == []
    assert codes("As per our policyholder terms") == []
    assert codes("as per our policy, refunds take 5 days") == ["banned_phrase"]


def test_the_suggestion_is_part_of_the_message(admin_user: Any) -> None:
    brand_services.banned_phrase_save(actor=admin_user, phrase="ASAP", suggestion='"by 5 pm today"')
    assert (
        check_draft(text="We'll fix it asap.", platform="x")[0].message
        == 'Banned phrase "ASAP"; try "by 5 pm today"'
    )


def test_over_the_platform_limit_names_the_platform_and_the_numbers() -> None:
    issues = check_draft(text="a" * 301, platform="x")
    assert [(i.code, i.message) for i in issues] == [("too_long", "Over the X limit: 301 of 280 characters")]
    assert check_draft(text="a" * 280, platform="x") == []
    assert codes("a" * 301, platform="mastodon") == []  # 500 there


def test_the_default_limits_are_seeded() -> None:
    assert dict(PlatformLimit.objects.values_list("platform", "max_characters")) == {
        "x": 280,
        "mastodon": 500,
        "instagram": 2200,
        "facebook": 8000,
        "linkedin": 3000,
        "tiktok": 2200,
        "youtube": 10000,
    }


def test_a_platform_without_a_limit_is_not_limited() -> None:
    assert codes("a" * 50_000, platform="trustpilot") == []


def test_an_unfilled_variable_is_an_issue() -> None:
    issues = check_draft(text="Hi {{ customer_name }}, sorry!", platform="x")
    assert [(i.code, i.message) for i in issues] == [
        ("unfilled_variable", "Fill in {{ customer_name }} before sending")
    ]


def test_template_syntax_is_an_issue() -> None:
    assert codes("Hi {% debug %} {{ user.password }}") == ["invalid_placeholder", "invalid_placeholder"]


def test_an_apology_must_apologise() -> None:
    issues = check_draft(text="Your order is on its way.", platform="x", kind="apology")
    assert [(i.code, i.message) for i in issues] == [
        ("missing_required", 'Missing an apology: include "sorry" or "apolog"')
    ]
    assert codes("We APOLOGISE for the wait.", kind="apology") == []
    assert codes("So sorry!", kind="apology") == []
    assert codes("Your order is on its way.", kind="praise") == []
    assert codes("Your order is on its way.") == []


def test_every_problem_is_reported_at_once() -> None:
    text = "Calm down {{ customer_name }}. " + "x" * 280
    assert codes(text, platform="x", kind="apology") == [
        "banned_phrase",
        "too_long",
        "unfilled_variable",
        "missing_required",
    ]


def test_a_rule_change_applies_to_the_next_check(admin_user: Any) -> None:
    assert codes("No worries at all") == []
    phrase = brand_services.banned_phrase_save(actor=admin_user, phrase="no worries")
    assert codes("No worries at all") == ["banned_phrase"]
    brand_services.banned_phrase_save(actor=admin_user, phrase_id=phrase.pk, is_active=False)
    assert codes("No worries at all") == []

    limit = PlatformLimit.objects.get(platform="x")
    brand_services.platform_limit_save(actor=admin_user, limit_id=limit.pk, max_characters=10)
    assert codes("eleven char", platform="x") == ["too_long"]


def test_checking_reads_the_database_only_when_the_rules_changed() -> None:
    check_draft(text="warm-up", platform="x")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            check_draft(text="Please calm down", platform="x", kind="apology")
    assert len(queries) == 0


def test_only_brand_editors_change_rules(responder: Any, pr_user: Any) -> None:
    with pytest.raises(PermissionRefused):
        brand_services.banned_phrase_save(actor=responder, phrase="whatever")
    brand_services.banned_phrase_save(actor=pr_user, phrase="whatever")


def test_a_phrase_is_banned_once_whatever_its_case(admin_user: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        brand_services.banned_phrase_save(actor=admin_user, phrase="Calm Down")
    assert refused.value.fields == {"phrase": ['"Calm Down" is already banned.']}
