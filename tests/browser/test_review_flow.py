"""Protocol reviews in a real Chromium: a manager finds what is overdue and due this week on /reviews/
and marks one reviewed with a note, by keyboard, the row swapped in by htmx; PR writes the post-incident
review of a resolved crisis incident, adds an action item and links a lesson to the plan; a manager
completes it from the incident page."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from protocols.models import (
    ApprovalChain,
    Category,
    EscalationChain,
    PostIncidentReview,
    ReviewEvent,
    ReviewKind,
    ReviewSchedule,
    SlaPolicy,
    Tier,
)
from protocols.services import seed_identify_problem_questions
from protocols.services.cadence import review_schedules_sync
from protocols.services.post_incident import pirs_open_due
from templates_app.models import FaqEntry
from templates_app.services.templates import template_create
from tests.browser.test_triage_flow import ARTIFACTS, chromium_page
from tests.factories import CategoryFactory
from tests.protocols.test_post_incident_reviews import build_incident

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")  # noqa: S108 - where the screenshots are looked at


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / name, full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(ARTIFACTS / name, SHOTS / name)


def sign_in(page: Page, base_url: str, username: str, next_url: str) -> None:
    page.goto(f"{base_url}/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_label("Password").press("Enter")


def test_manager_marks_an_overdue_review_by_keyboard(
    live_server: Any,
    transactional_db: Any,
    manager: Any,
    pr_user: Any,
    legal: Any,
    responder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = timezone.now()
    late = CategoryFactory(name="Late delivery", slug="late-delivery")
    CategoryFactory(name="Product safety", slug="product-safety")
    SlaPolicy.objects.create(name="High priority", priority="high", first_response_minutes=60)
    EscalationChain.objects.create(name="Page the manager")
    ApprovalChain.objects.create(name="Legal, then management")
    template_create(
        actor=pr_user,
        name="Apology for a late order",
        kind="apology",
        body="We are sorry.",
        owner=pr_user,
        review_due_on=(now + timedelta(days=3)).date(),
    )
    review_schedules_sync(now=now - timedelta(days=95))
    by_kind = {(s.kind, s.object_id): s for s in ReviewSchedule.objects.all()}
    overdue = by_kind[(ReviewKind.CATEGORY, late.pk)]
    ReviewSchedule.objects.filter(pk=overdue.pk).update(owner=responder)
    ReviewSchedule.objects.filter(kind=ReviewKind.SLA_POLICY).update(
        owner=legal, due_at=now + timedelta(days=5)
    )
    ReviewSchedule.objects.filter(kind=ReviewKind.APPROVAL_CHAIN).update(due_at=now + timedelta(days=40))
    ReviewSchedule.objects.filter(kind=ReviewKind.MODERATION_POLICY).update(
        owner=legal, due_at=now - timedelta(days=12)
    )

    with chromium_page(monkeypatch) as page:
        sign_in(page, live_server.url, "morgan", "/reviews/")
        expect(page.get_by_role("heading", name="Protocol reviews")).to_be_visible()
        overdue_card = page.locator(".review-card-overdue")
        expect(overdue_card.locator("tr.review-row")).to_have_count(4)
        expect(page.locator(".review-card-due-soon tr.review-row")).to_have_count(2)
        expect(page.locator(f"#review-{overdue.pk}")).to_contain_text(responder.get_full_name())
        expect(overdue_card).to_contain_text("No owner")
        shot(page, "reviews.png")

        note = page.get_by_label("Note on the review of Late delivery (optional)")
        note.focus()
        page.keyboard.type("Added the new courier's delays.")
        page.keyboard.press("Enter")
        row = page.locator(f"#review-{overdue.pk}")
        expect(row.get_by_role("status")).to_have_text("Reviewed")
        expect(row.get_by_role("status")).to_be_focused()
        expect(page.locator("#flash")).to_contain_text("Marked category “Late delivery” reviewed")
        shot(page, "reviews-marked.png")

    event = ReviewEvent.objects.get()
    assert event.actor == manager and event.note == "Added the new courier's delays."


def test_pr_writes_a_post_incident_review_by_keyboard(
    live_server: Any,
    transactional_db: Any,
    responder: Any,
    pr_user: Any,
    legal: Any,
    manager: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    category = Category.objects.create(name="Product safety", slug="product-safety", tier=Tier.CRISIS)
    seed_identify_problem_questions(category=category)
    incident = build_incident(
        responder=responder, pr_user=pr_user, legal=legal, manager=manager, category=category
    )
    FaqEntry.objects.create(title="Is the blender safe?", body="Yes, unless the seal is missing.")
    review_schedules_sync()
    assert incident.resolved_at is not None
    assert pirs_open_due(now=incident.resolved_at + timedelta(minutes=5)) == 1
    review = PostIncidentReview.objects.get(incident=incident)
    category_review = ReviewSchedule.objects.get(kind=ReviewKind.CATEGORY, object_id=category.pk)

    with chromium_page(monkeypatch) as page:
        sign_in(page, live_server.url, "parker", f"/incidents/{incident.pk}/")
        page.get_by_role("link", name="Open the review").click()
        expect(
            page.get_by_role("heading", name=f"Post-incident review #{incident.pk} Blender exploded")
        ).to_be_visible()
        metrics = page.get_by_role("region", name="How the response went")
        expect(metrics).to_contain_text("Time to first response")
        expect(metrics).to_contain_text("30 min")

        page.get_by_label("What went well").focus()
        page.keyboard.type("Legal signed off in 30 minutes; the recall went out the same morning.")
        page.keyboard.press("Tab")
        page.keyboard.type("Nobody posted a holding statement during the first hour.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # Save
        expect(page.locator("#flash")).to_contain_text("Review saved.")
        expect(page.locator('#pir-text input[name="version"]')).to_have_value("2")

        page.get_by_label("New action item").fill("Write a holding statement for product recalls")
        page.get_by_label("Owner").select_option(label=pr_user.get_full_name())
        page.get_by_label("Due on").fill((timezone.localdate() + timedelta(days=7)).isoformat())
        page.get_by_label("Due on").press("Enter")
        expect(page.locator("#pir-actions .pir-item")).to_have_count(1)

        page.get_by_label("Part of the plan it changes").select_option(value=str(category_review.pk))
        page.get_by_label("What should change").fill("Ask for the batch number in the first reply.")
        page.get_by_role("button", name="Link the lesson").press("Enter")
        expect(page.locator("#pir-lessons .pir-item")).to_have_count(1)
        expect(page.locator("#pir-lessons")).to_contain_text("Category “Product safety”")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "post-incident-review.png")

        # the manager finds it from the incident page and completes it
        page.context.clear_cookies()
        sign_in(page, live_server.url, "morgan", f"/incidents/{incident.pk}/")
        card = page.get_by_role("region", name="Post-incident review")
        expect(card).to_contain_text("Draft")
        card.screenshot(path=SHOTS / "incident-pir-card.png")
        card.get_by_role("link", name="Open the review").click()
        page.get_by_role("button", name="Save and complete").click()
        expect(page.locator(".page-head .pill")).to_have_text("Completed")
        expect(page.locator("#pir-text")).to_contain_text("Completed by")
        expect(page.locator("#pir-text textarea")).to_have_count(0)
        shot(page, "post-incident-review-completed.png")

    review.refresh_from_db()
    assert review.what_did_not == "Nobody posted a holding statement during the first hour."
    assert review.state == "completed" and review.completed_by == manager
    category_review.refresh_from_db()
    assert category_review.due_at is not None and category_review.due_at <= timezone.now()
