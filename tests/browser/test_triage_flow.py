"""The triage flow in a real Chromium: a mention arrives over the API, a responder signs in, finds its
incident in the queue, takes it with the keyboard, categorises it and reads both steps on the timeline."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from incidents.models import Incident
from protocols.services import api_token_create
from tests.factories import IncidentFactory, mention_payload

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


@contextmanager
def chromium_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    """A page in Debian's Chromium. Called inside the test, so a missing browser fails the test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's with `apt-get install chromium`.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(5_000)
        page = context.new_page()
        # Whatever a page does must run under the Content-Security-Policy: Chromium reports each refusal
        # ("Refused to execute inline script because it violates ...") on the console.
        refused: list[str] = []
        page.on(
            "console",
            lambda message: (
                refused.append(f"{message.text} ({message.location['url']})")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        try:
            yield page
            assert not refused, f"the page broke its Content-Security-Policy: {refused}"
        finally:
            context.close()
            browser.close()


def post_mention(base_url: str, secret: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        f"{base_url}/api/v1/mentions/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def sign_in(page: Page, base_url: str, *, screenshot: bool = False) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login/?next=/")
    if screenshot:
        page.screenshot(path=ARTIFACTS / "login.png")
    page.get_by_label("Username").fill("riley")
    page.get_by_label("Password").fill("pw")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()


def test_responder_triages_a_new_mention_by_keyboard(
    live_server: Any,
    transactional_db: Any,
    responder: Any,
    integration: Any,
    category: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with chromium_page(monkeypatch) as page:
        secret = api_token_create(user=integration, name="listening tool").secret
        for n, platform in enumerate(["instagram", "tiktok", "google_reviews"]):
            post_mention(
                live_server.url,
                secret,
                mention_payload(f"noise-{n}", platform=platform, author_handle=f"n{n}"),
            )
        created = post_mention(
            live_server.url,
            secret,
            mention_payload(
                "blender",
                text="The blender exploded in my kitchen and nobody answers",
                author_handle="ana_bakes",
                products=["blender-x2"],
            ),
        )
        incident_id = created["incident_id"]

        sign_in(page, live_server.url, screenshot=True)
        row = page.locator(f"#row-{incident_id}")
        expect(row).to_contain_text("blender exploded")
        expect(page.locator("#queue-rows tr.queue-row")).to_have_count(4)

        page.keyboard.press("/")
        expect(page.locator("#filter-q")).to_be_focused()
        page.keyboard.type("blender")
        expect(page.locator("#queue-rows tr.queue-row")).to_have_count(1)
        expect(page).to_have_url(f"{live_server.url}/?q=blender")
        page.keyboard.press("Escape")
        expect(page.locator("#filter-q")).to_have_value("blender")

        page.keyboard.press("j")
        expect(row).to_have_attribute("aria-selected", "true")
        page.keyboard.press("a")
        me = responder.get_full_name()
        expect(page.locator(f"#row-{incident_id} .assignee.is-me")).to_have_text(me)
        expect(page.locator(f"#row-{incident_id}")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#flash")).to_contain_text(f"#{incident_id} assigned to you.")
        page.screenshot(path=ARTIFACTS / "queue.png")

        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "shortcuts.png")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

        page.keyboard.press("o")
        expect(page).to_have_url(f"{live_server.url}/incidents/{incident_id}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("blender exploded")

        page.get_by_label("Category", exact=True).select_option(label="Routine complaint")
        page.locator("#category-save").click()
        timeline = page.locator("#timeline")
        expect(timeline).to_contain_text("Category changed")
        expect(timeline.locator(".tl-categorized .tl-changes li", has_text="Category:")).to_have_text(
            "Category: none → Routine complaint"
        )
        expect(timeline.locator(".tl-assigned")).to_contain_text(f"Assignee: none → {me}")
        expect(page.locator("#incident-summary")).to_contain_text("Routine complaint")
        page.screenshot(path=ARTIFACTS / "incident.png", full_page=True)

        stored = Incident.objects.get(pk=incident_id)
        assert stored.assignee_id == responder.pk and stored.category_id == category.pk


def test_live_refresh_brings_new_incidents_and_keeps_the_selection(
    live_server: Any,
    transactional_db: Any,
    responder: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with chromium_page(monkeypatch) as page:
        settings.FIREBREAK_QUEUE_REFRESH_SECONDS = 1
        IncidentFactory(title="Parcel arrived late")
        second = IncidentFactory(title="Shaker lid leaks")
        sign_in(page, live_server.url)
        page.evaluate("window.firebreakNotReloaded = true")

        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("x")
        expect(page.locator(f"#row-{second.pk}")).to_have_attribute("aria-selected", "true")
        urgent = IncidentFactory(title="Influencer says the blender exploded", priority="critical")

        expect(page.locator("#queue-rows tr.queue-row").first).to_have_id(f"row-{urgent.pk}")
        expect(page.locator(f"#row-{second.pk}")).to_have_attribute("aria-selected", "true")
        expect(page.locator(f"#check-{second.pk}")).to_be_checked()
        expect(page.locator("#bulk-count")).to_have_text("1 selected")
        assert page.evaluate("window.firebreakNotReloaded") is True
