"""A satisfaction survey in a real Chromium: a responder sends the survey of a resolved incident from its
page and publishes the drafted invitation by hand; the customer opens the link on a phone (390x844, no
sign-in), answers in Swedish with the keyboard only, and sees the thank-you; the link then refuses a
second answer; the rating and comment show on the incident page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import ViewportSize, expect

from incidents.models import EventKind, IncidentStatus, Mention, Reply, ReplyState, SatisfactionSurvey
from incidents.services.incidents import incident_resolve
from incidents.survey_texts import SURVEY_TEXTS
from protocols.models import SocialAccount
from tests.browser.test_reply_flow import SHOTS, shoot, sign_in, watch
from tests.browser.test_triage_flow import chromium_page
from tests.factories import IncidentFactory

pytestmark = pytest.mark.browser
SV = SURVEY_TEXTS["sv"]
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def resolved(transactional_db: Any, responder: Any) -> Any:
    """Anna wrote in Swedish about her kettle; the responder sorted it out and resolved the incident."""
    SocialAccount.objects.create(name="Acme on X", platform="x", handle="acme", publisher="manual")
    incident = IncidentFactory(title="Kettle lid cracked after a week", platform="x", status="in_progress")
    now = timezone.now()
    Mention.objects.create(
        platform="x",
        external_id="kettle-1",
        url="https://x.com/anna_s/status/1",
        author_handle="anna_s",
        author_name="Anna Svensson",
        text="Locket på min vattenkokare sprack efter en vecka. Vad gör jag nu?",
        posted_at=now,
        received_at=now,
        language="sv",
        sentiment="negative",
        incident=incident,
    )
    incident_resolve(actor=responder, incident_id=incident.pk, note="Replacement lid sent")
    return incident


def test_the_customer_rates_on_a_phone_and_the_rating_shows_on_the_incident(
    live_server: Any,
    resolved: Any,
    responder: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    SHOTS.mkdir(exist_ok=True)
    base = live_server.url
    settings.FIREBREAK_BASE_URL = base
    settings.FIREBREAK_BRAND_NAME = "Acme Home"
    errors: list[str] = []
    with chromium_page(monkeypatch) as page:
        browser = page.context.browser
        assert browser is not None
        watch(page, errors)

        # The responder sends the survey from the resolved incident's page: a draft reply in Swedish.
        sign_in(page, base, responder.username)
        page.goto(f"{base}/incidents/{resolved.pk}/")
        card = page.locator("#surveys")
        expect(card).to_contain_text("No survey sent yet.")
        expect(card).to_contain_text("Drafts a reply in Swedish")
        page.locator("#survey-send").click()
        expect(page.locator("#flash")).to_contain_text("drafted as reply")
        survey = SatisfactionSurvey.objects.get(incident=resolved)
        draft = page.locator(f"#reply-{survey.reply_id}")
        expect(draft).to_be_focused()
        expect(draft).to_contain_text("Tack för ditt tålamod")
        expect(card).to_contain_text("Waiting for the customer")
        link = re.search(r"https?://\S+/survey/\S+/", draft.inner_text())
        assert link is not None and link.group(0).startswith(base)

        # It goes out like any reply: posted by hand, the link to the post pasted in.
        page.locator(f"#publish-url-{survey.reply_id}").fill("https://x.com/acme/status/900")
        page.locator(f"#publish-{survey.reply_id}").click()
        expect(page.locator(f"#reply-{survey.reply_id}")).to_contain_text("Published")
        assert Reply.objects.get(pk=survey.reply_id).state == ReplyState.PUBLISHED
        assert resolved.__class__.objects.get(pk=resolved.pk).status == IncidentStatus.RESOLVED

        # Anna opens the link on her phone: no sign-in, in Swedish, nothing of the team's app.
        phone_context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
        phone_context.set_default_timeout(5_000)
        try:
            phone = watch(phone_context.new_page(), errors)
            phone.goto(link.group(0))
            expect(phone.get_by_role("heading", name=SV.heading)).to_be_visible()
            expect(phone.locator("html")).to_have_attribute("lang", "sv")
            expect(phone.locator("body")).to_contain_text("Acme Home")
            assert phone.locator("a").count() == 0
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            for value in range(1, 6):
                box = phone.locator(f"label[for=rating-{value}]").bounding_box()
                assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
            shoot(phone, "survey-phone-form")

            # The keyboard alone: Tab into the scale, arrows to 4, Tab to the comment, Enter on the button.
            phone.keyboard.press("Tab")
            expect(phone.locator("#rating-1")).to_be_focused()
            for _ in range(3):
                phone.keyboard.press("ArrowRight")
            expect(phone.locator("#rating-4")).to_be_checked()
            shoot(phone, "survey-phone-chosen")
            phone.keyboard.press("Tab")
            expect(phone.get_by_label(SV.comment_label)).to_be_focused()
            phone.keyboard.type("Snabb hjälp, nytt lock kom på två dagar.")
            phone.keyboard.press("Tab")
            expect(phone.get_by_role("button", name=SV.submit)).to_be_focused()
            phone.keyboard.press("Enter")
            expect(phone.get_by_role("heading", name=SV.thanks_title)).to_be_visible()
            shoot(phone, "survey-phone-thanks")

            # The link has done its job: opening it again says so, and offers no form.
            phone.goto(link.group(0))
            expect(phone.get_by_role("heading", name=SV.answered_title)).to_be_visible()
            assert phone.locator("form").count() == 0
        finally:
            phone_context.close()

        row = SatisfactionSurvey.objects.get(pk=survey.pk)
        assert (row.rating, row.comment) == (4, "Snabb hjälp, nytt lock kom på två dagar.")

        # Back at the desk the rating and the comment are on the incident, and on its timeline.
        page.reload()
        expect(card).to_contain_text("4 of 5")
        expect(card).to_contain_text("Satisfied")
        expect(card).to_contain_text("Snabb hjälp, nytt lock kom på två dagar.")
        expect(card).to_contain_text("Answered")
        expect(page.locator("#timeline")).to_contain_text("Satisfaction survey answered")
        expect(page.locator("#timeline")).to_contain_text("by customer")
        shoot(page, "survey-incident-card", "#surveys")
    assert resolved.timeline.filter(kind=EventKind.SURVEY_ANSWERED).count() == 1
    assert errors == []
