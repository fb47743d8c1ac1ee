"""A high-priority reply signed off in a real Chromium by three people: PR drafts it from a template,
legal asks for a change, PR edits and resubmits, legal approves, the manager approves from the approval
inbox, and PR publishes it by hand; the timeline shows every step with its time and the first-response
target is met."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Browser, Page, expect

from incidents.models import Incident, Reply, ReplyState, SlaClock
from incidents.reply_selectors import reply_writers
from incidents.services.incidents import incident_categorize, incident_set_priority
from incidents.services.ingestion import mentions_ingest
from incidents.views.replies import card as reply_card
from incidents.views.replies import inbox as approval_inbox
from protocols.models import (
    ApprovalChain,
    ApprovalRule,
    ApprovalStep,
    Category,
    Priority,
    Role,
    SlaPolicy,
    SocialAccount,
    Tier,
)
from templates_app.models import PlatformLimit, TemplateVersion
from templates_app.services import brand as brand_services
from templates_app.services import faqs as faq_services
from templates_app.services import templates as template_services
from tests.browser.test_triage_flow import chromium_page
from tests.factories import CategoryFactory, mention_payload

SHOTS = Path(tempfile.gettempdir()) / "shots"  # screenshots to look at; not kept in the repository
POST_URL = "https://x.com/blenderco/status/1861"

pytestmark = pytest.mark.browser


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()


def watch(page: Page, errors: list[str]) -> Page:
    """Collects the page's script errors and htmx's complaints (a 4xx answer the page expects is not one)."""
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    return page


@contextmanager
def desk(browser: Browser, base_url: str, username: str, errors: list[str]) -> Iterator[Page]:
    """Another person at their own browser (own cookies), signed in."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(5_000)
    try:
        page = watch(context.new_page(), errors)
        sign_in(page, base_url, username)
        yield page
    finally:
        context.close()


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def shoot(page: Page, name: str, part: str = "") -> None:
    """A screenshot under SHOTS: the whole page from its top, or one part of it (the sticky top bar
    let go of first, so it does not cover the part)."""
    if part:
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        page.locator(part).screenshot(path=SHOTS / f"{name}.png")
    else:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def open_reply(page: Page, base_url: str, incident: Incident) -> Any:
    page.goto(f"{base_url}/incidents/{incident.pk}/")
    reply = page.locator("#reply-list .reply").first
    expect(reply).to_be_visible()
    return reply


@pytest.fixture
def desk_setup(
    transactional_db: Any, pr_user: Any, manager: Any, admin_user: Any, integration: Any
) -> Incident:
    """The response plan for product-safety incidents, and Ana's mention that opened one."""
    chain = ApprovalChain.objects.create(name="Product safety sign-off")
    ApprovalStep.objects.create(chain=chain, stage="legal_review", role=Role.LEGAL, target_minutes=120)
    ApprovalStep.objects.create(
        chain=chain, stage="management_approval", role=Role.MANAGER, target_minutes=60
    )
    ApprovalRule.objects.create(priority=Priority.HIGH, chain=chain)
    SlaPolicy.objects.create(name="Every incident", first_response_minutes=60, resolution_minutes=24 * 60)
    SocialAccount.objects.create(name="BlenderCo on X", platform="x", handle="blenderco", publisher="manual")
    PlatformLimit.objects.get_or_create(platform="x", defaults={"max_characters": 280})
    brand_services.banned_phrase_save(actor=admin_user, phrase="calm down", suggestion="we understand")
    safety = cast(
        Category, CategoryFactory(name="Product safety", slug="product-safety", tier=Tier.HIGH_PRIORITY)
    )
    template = template_services.template_create(
        actor=pr_user,
        name="Product safety apology",
        kind="apology",
        body=(
            "Hi {{ customer_name }}, we are so sorry about your {{ product }}. Your safety comes first: "
            "please send us a DM with your order number so we can help right away.\n{{ agent_first_name }}"
        ),
        variables=[
            {"name": "customer_name", "label": "Customer", "default": "there"},
            {"name": "product", "label": "Product", "default": ""},
            {"name": "agent_first_name", "label": "Your first name", "default": ""},
        ],
        categories=[safety],
        platforms=["x"],
    )
    draft = TemplateVersion.objects.get(template=template, status="draft")
    template_services.template_version_approve(actor=manager, version_id=draft.pk)
    faq_services.faq_create(
        actor=admin_user,
        kind="talking_point",
        title="Never admit liability before the investigation",
        body="Say we are investigating with our safety team; do not say what caused it.",
        categories=[safety],
    )
    faq_services.faq_create(
        actor=admin_user,
        title="How do refunds work?",
        body="A full refund within 30 days, no questions asked.",
    )
    (result,) = mentions_ingest(
        items=[
            mention_payload(
                "blender",
                author_handle="ana_bakes",
                author_name="Ana Baker",
                text="My BlenderCo X2 blender EXPLODED this morning. Glass everywhere. @BlenderCo explain!",
            )
        ],
        actor=integration,
        actor_label="listening tool",
    )
    assert result.incident_id is not None
    incident_categorize(actor=manager, incident_id=result.incident_id, category=safety)
    incident_set_priority(actor=manager, incident_id=result.incident_id, priority=Priority.HIGH)
    return Incident.objects.get(pk=result.incident_id)


def test_a_high_priority_reply_goes_through_legal_and_management_and_is_published(
    live_server: Any,
    desk_setup: Incident,
    pr_user: Any,
    legal: Any,
    manager: Any,
    integration: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    SHOTS.mkdir(exist_ok=True)
    # Open pages look for others' changes every second instead of every ten.
    for module in (reply_card, approval_inbox):
        monkeypatch.setattr(module, "LIVE_SECONDS", 1)
    incident = desk_setup
    base = live_server.url
    with chromium_page(monkeypatch) as page:
        browser = page.context.browser
        assert browser is not None

        # PR drafts the reply from the suggested template; Firebreak fills in what it knows.
        errors: list[str] = []
        watch(page, errors)
        sign_in(page, base, pr_user.username)
        page.goto(f"{base}/incidents/{incident.pk}/")
        expect(page.locator("#replies")).to_contain_text("No replies yet.")
        expect(page.locator("#replies")).to_contain_text("Legal review")
        page.get_by_label("Template").select_option(label="Product safety apology · Apology")
        expect(page.locator("#var-customer_name")).to_have_value("Ana Baker")
        expect(page.locator("#var-agent_first_name")).to_have_value(pr_user.first_name)
        page.locator("#var-product").fill("X2 blender")
        page.locator("#var-product").press("Enter")  # Enter fills the template in
        body = page.locator("#reply-body")
        expect(body).to_have_value(
            "Hi Ana Baker, we are so sorry about your X2 blender. Your safety comes first: please send us "
            f"a DM with your order number so we can help right away.\n{pr_user.first_name}"
        )
        expect(body).to_be_focused()
        expect(page.locator("#composer-checks")).to_contain_text("Meets the brand guidelines")
        expect(page.locator("#reply-preview")).to_contain_text("@blenderco")
        expect(page.locator("#reply-preview")).to_contain_text("Replying to @ana_bakes")

        # Typing runs the brand check: a banned phrase is flagged, and goes again once removed.
        page.keyboard.press("Control+End")
        page.keyboard.type(" Please calm down.")
        expect(page.locator("#composer-checks")).to_contain_text(
            'Banned phrase "calm down"; try we understand'
        )
        expect(page.locator("#reply-preview .post-text")).to_contain_text("Please calm down.")
        # Typing says "still writing": the others' Replies card names PR (the 10 s heartbeat's first beat).
        wait_for(lambda: reply_writers(user=legal, incident_id=incident.pk) == [pr_user.get_full_name()])
        for _ in " Please calm down.":
            page.keyboard.press("Backspace")
        expect(page.locator("#composer-checks")).to_contain_text("Meets the brand guidelines")
        page.get_by_label("Search FAQs and talking points").fill("liability")
        expect(page.locator("#faq-results")).to_contain_text("Never admit liability")
        expect(page.locator("#faq-results")).not_to_contain_text("refunds")
        page.locator("#faq-results summary").first.click()
        insert = "Insert “Never admit liability before the investigation” into the reply"
        expect(page.get_by_role("button", name=insert)).to_be_visible()
        shoot(page, "reply-composer")
        shoot(page, "reply-composer-card", "#composer")

        page.get_by_role("button", name="Submit for approval").click()
        expect(page.locator("#flash")).to_contain_text("submitted: waiting on Legal for legal review")
        reply = Reply.objects.get(incident=incident)
        card = page.locator(f"#reply-{reply.pk}")
        expect(card.locator(".reply-state").first).to_have_text("In legal review")
        expect(card).to_contain_text("from “Product safety apology”")
        expect(page.locator("#reply-body")).to_have_value("")  # a fresh composer

        # Legal asks for a change, with a note; the step is decided and timestamped.
        with desk(browser, base, legal.username, errors) as lee:
            expect(lee.locator("#approvals-link")).to_have_attribute("aria-label", "Approvals, 1 waiting")
            row = open_reply(lee, base, incident)
            shoot(lee, "reply-legal-review", "#replies")
            row.get_by_role("form", name="Your decision on the legal review").get_by_label(
                "Note for the author"
            ).fill("Do not promise to help right away: say our safety team will contact Ana today.")
            row.get_by_role("button", name="Request changes").click()
            expect(lee.locator(f"#reply-{reply.pk} .reply-state").first).to_have_text("Changes requested")
            expect(lee.locator(f"#reply-{reply.pk} .rstep-changes")).to_contain_text(
                f"Changes requested by {legal.get_full_name()}"
            )
            lee.locator("#approvals-link").click()
            expect(lee.locator("#approval-rows")).to_contain_text("Nothing waits on you.")

            # PR's open page shows the decision by itself; PR reads the note, edits (a new version)
            # and submits again.
            card = page.locator(f"#reply-{reply.pk}")
            expect(card.locator(".reply-note")).to_contain_text("our safety team will contact Ana today")
            shoot(page, "reply-changes-requested", "#replies")
            card.get_by_text("Edit", exact=True).click()
            edit = card.get_by_label(f"Text of reply #{reply.pk}")
            expect(edit).to_be_visible()
            shoot(page, "reply-edit", f"#reply-{reply.pk}")
            edit.fill(
                "Hi Ana Baker, we are so sorry about your X2 blender. Your safety comes first: our safety "
                "team will contact you today. Please send us a DM with your order number.\n"
                f"{pr_user.first_name}"
            )
            card.get_by_role("button", name="Save changes").click()
            expect(page.locator("#flash")).to_contain_text(f"Reply #{reply.pk} saved as version 2")
            card = page.locator(f"#reply-{reply.pk}")
            expect(card.locator(".chip", has_text="v2")).to_be_visible()
            card.get_by_role("button", name="Submit for approval").click()
            expect(page.locator(f"#reply-{reply.pk} .reply-state").first).to_have_text("In legal review")

            # It reaches legal's open inbox by itself; legal approves the new version there, seeing
            # what changed since their review.
            row = lee.locator(f"#approval-{reply.pk}")
            expect(row.locator(".diff-text ins").first).to_contain_text("our safety team will")
            expect(row.locator(".diff-text del").first).to_be_visible()
            expect(lee.locator("#approvals-count")).to_have_text("1")
            row.get_by_role("button", name="Approve").click()
            expect(lee.locator(f"#approval-{reply.pk}")).to_contain_text(
                f"Legal review approved: reply #{reply.pk} now waits on Manager."
            )
            expect(lee.locator(f"#approval-{reply.pk}")).to_be_focused()

        # The manager finds it in the approval inbox, with the incident's context, and approves it.
        with desk(browser, base, manager.username, errors) as morgan:
            expect(morgan.locator("#approvals-link")).to_have_attribute("aria-label", "Approvals, 1 waiting")
            morgan.locator("#approvals-link").click()
            row = morgan.locator(f"#approval-{reply.pk}")
            expect(row).to_contain_text(f"#{incident.pk} {incident.title}")
            expect(row.locator(".badge")).to_have_text("High")
            expect(row).to_contain_text("Product safety")
            expect(row).to_contain_text("Glass everywhere")  # the mention being answered
            expect(row).to_contain_text("Management approval")
            expect(row.locator(".deadline-left")).to_have_text(
                re.compile(r"^(\d+m \d{2}s|\d+h \d{2}m) left$")
            )
            shoot(morgan, "approval-inbox")
            row.get_by_role("button", name="Approve").click()
            expect(morgan.locator(f"#approval-{reply.pk}")).to_contain_text("is ready to publish")
            expect(morgan.locator("#approvals-link")).to_have_text("Approvals")

        # Ana writes again before it goes out: publishing first asks PR to read what is new.
        mentions_ingest(
            items=[mention_payload("blender-2", author_handle="ana_bakes", text="Hello?? Still waiting.")],
            actor=integration,
            actor_label="listening tool",
        )
        # A link to the reply (as a notification gives it) opens the page with the reply in focus.
        page.goto(f"{base}/notifications/")
        page.goto(f"{base}/incidents/{incident.pk}/#reply-{reply.pk}")
        expect(page.locator(f"#reply-{reply.pk}")).to_be_focused()
        card = open_reply(page, base, incident)
        expect(card.locator(".reply-state").first).to_have_text("Approved")
        card.get_by_label("Link to the post").fill(POST_URL)
        card.get_by_label("Link to the post").press("Enter")
        stale = page.locator(f"#reply-{reply.pk} .stale-box")
        expect(stale).to_contain_text("1 new mention arrived since this was written")
        expect(stale.get_by_role("link")).to_contain_text("Still waiting.")
        assert Reply.objects.get(pk=reply.pk).state == ReplyState.APPROVED
        shoot(page, "reply-stale", f"#reply-{reply.pk}")

        # PR read it and publishes anyway, pasting the link: published, and the first response is met.
        card = page.locator(f"#reply-{reply.pk}")
        expect(card.get_by_label("Link to the post")).to_have_value(POST_URL)
        card.get_by_role("button", name="Publish anyway").click()
        expect(page.locator("#flash")).to_contain_text(f"Reply #{reply.pk} published.")
        card = page.locator(f"#reply-{reply.pk}")
        expect(card.locator(".reply-state").first).to_have_text("Published")
        expect(card.get_by_role("link", name="View the post")).to_have_attribute("href", POST_URL)

        steps = card.locator(".rstep")
        expect(steps).to_have_count(5)  # written, submitted, legal, management, published
        for n in range(5):
            expect(steps.nth(n).locator(".rstep-time time")).to_have_count(1)
        expect(steps.nth(2)).to_contain_text(f"Approved by {legal.get_full_name()}")
        expect(steps.nth(3)).to_contain_text(f"Approved by {manager.get_full_name()}")
        expect(card.locator(".reply-history")).to_contain_text("Every decision (3)")

        timeline = page.locator("#timeline")
        for kind in [
            "reply_drafted",
            "reply_submitted",
            "reply_changes_requested",
            "reply_edited",
            "reply_approved",
            "reply_published",
        ]:
            item = timeline.locator(f".tl-{kind}").first
            expect(item).to_be_visible()
            expect(item.locator("time.tl-time")).to_have_attribute("datetime", re.compile(r"\d"))
        expect(timeline.locator(".tl-reply_submitted")).to_have_count(2)
        expect(timeline.locator(".tl-reply_approved")).to_have_count(2)
        expect(timeline.locator(".tl-reply_published")).to_contain_text("First response target: met")

        first = page.locator(".clock", has=page.get_by_role("heading", name="First response"))
        expect(first.locator(".sla-badge")).to_have_text("Met")
        expect(first).to_contain_text("Stopped")
        shoot(page, "reply-published")
        shoot(page, "reply-published-card", "#replies")
        shoot(page, "reply-published-sla", "#incident-sla")
        shoot(page, "reply-published-timeline", "#timeline")
        assert errors == []

    reply.refresh_from_db()
    assert (reply.state, reply.version, reply.published_url) == (ReplyState.PUBLISHED, 2, POST_URL)
    clock = SlaClock.objects.get(incident=incident, kind="first_response")
    assert clock.stopped_at is not None and clock.due_at is not None and clock.stopped_at <= clock.due_at
