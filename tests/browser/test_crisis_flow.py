"""Crisis mode in a real Chromium: a burst of negative mentions about one product posted to the API raises
a surge incident; the manager switches crisis mode on from it; every page shows the red banner; a
responder's publish is refused (and the refusal is on the crisis timeline); the spokesperson publishes
the holding statement, offered first in the composer."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import EventKind, Incident, Reply, ReplyState, TimelineEvent
from incidents.services import replies as reply_services
from incidents.services.spikes import spikes_detect, surge_thread_key
from protocols.models import SocialAccount, Tier
from protocols.services import api_token_create
from templates_app.models import TemplateVersion
from templates_app.services import templates as template_services
from tests.approvals import sign_off_chain
from tests.browser.test_reply_flow import SHOTS, desk, shoot, sign_in, watch
from tests.browser.test_triage_flow import chromium_page
from tests.factories import mention_payload

pytestmark = pytest.mark.browser
PRODUCT = "x2-blender"
HOLDING = "We are aware of the reports about the X2 blender and are looking into them urgently. More soon."


@pytest.fixture
def crisis_plan(transactional_db: Any, pr_user: Any, manager: Any) -> None:
    """Full sign-off for crisis-tier replies, a hand-posted X account and an approved holding statement."""
    sign_off_chain(rules=[(Tier.CRISIS, "")])
    SocialAccount.objects.create(name="BlenderCo on X", platform="x", handle="blenderco", publisher="manual")
    holding = template_services.template_create(
        actor=pr_user, name="Holding statement", kind="holding_statement", body=HOLDING
    )
    version = TemplateVersion.objects.get(template=holding, status="draft")
    template_services.template_version_approve(actor=manager, version_id=version.pk)


def post_burst(base_url: str, integration: Any, count: int) -> None:
    """A listening tool pushes `count` angry posts about one product through the REST API."""
    secret = api_token_create(user=integration, name="listening").secret
    now = timezone.now()
    body = [
        mention_payload(
            f"burst-{n}",
            author_handle=f"angry{n}",
            text=f"My {PRODUCT} blender exploded, this is dangerous!",
            sentiment="negative",
            products=[PRODUCT],
            posted_at=now.isoformat(),
        )
        for n in range(count)
    ]
    request = urllib.request.Request(  # noqa: S310 - the live test server, http only
        f"{base_url}/api/v1/mentions/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {secret}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the live test server
        assert response.status == 200


def test_crisis_mode_limits_who_publishes(
    live_server: Any,
    crisis_plan: None,
    integration: Any,
    manager: Any,
    responder: Any,
    spokesperson: Any,
    legal: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    SHOTS.mkdir(exist_ok=True)
    base = live_server.url
    # A burst of negative mentions about one product arrives over the API; the detector (beat runs it
    # every 10 seconds) flags the surge and opens its incident.
    post_burst(base, integration, 15)
    assert spikes_detect(now=timezone.now()) == 1
    incident = Incident.objects.get(thread_key=surge_thread_key(PRODUCT))
    assert incident.priority == "high" and incident.title == f"Surge: {PRODUCT}"
    errors: list[str] = []
    with chromium_page(monkeypatch) as page:
        browser = page.context.browser
        assert browser is not None
        watch(page, errors)

        # The manager opens the surge incident and switches crisis mode on from it.
        sign_in(page, base, manager.username)
        page.goto(f"{base}/incidents/{incident.pk}/")
        expect(page.locator("#surge")).to_contain_text(f"Surge: {PRODUCT}")
        page.locator("#crisis-on-link").click()
        page.get_by_label("Reason").fill("Exploding blender videos going viral")
        page.get_by_label("Holding statement", exact=True).select_option(label="Holding statement")
        page.get_by_role("button", name="Switch crisis mode on").click()
        banner = page.locator(".crisis-banner")
        expect(banner).to_contain_text("Crisis mode is on")
        expect(banner).to_contain_text("Only PR, Spokesperson may publish")
        expect(page.locator("#timeline")).to_contain_text("Crisis mode on")
        shoot(page, "crisis-on")

        # A responder sees the banner everywhere. Their reply now needs the full sign-off; once signed
        # off, their publish is still refused (only spokesperson and PR may), and nothing goes out.
        with desk(browser, base, responder.username, errors) as riley:
            expect(riley.locator(".crisis-banner")).to_contain_text("Crisis mode is on")
            riley.goto(f"{base}/incidents/{incident.pk}/")
            riley.locator("#reply-body").fill("So sorry, we are on it!")
            riley.locator("#composer-submit").click()
            expect(riley.locator("#reply-list")).to_contain_text("In legal review")
            theirs = Reply.objects.get(incident=incident, author=responder)
            reply_services.reply_approve(actor=legal, reply_id=theirs.pk)
            reply_services.reply_approve(actor=manager, reply_id=theirs.pk)
            riley.reload()
            riley.locator(f"#publish-url-{theirs.pk}").fill("https://x.com/blenderco/status/1")
            riley.locator(f"#publish-{theirs.pk}").click()
            expect(riley.locator(f"#reply-{theirs.pk}")).to_contain_text(
                "Crisis mode is on: only PR, Spokesperson may publish."
            )
            shoot(riley, "crisis-refused", f"#reply-{theirs.pk}")
        assert not Reply.objects.filter(state=ReplyState.PUBLISHED).exists()
        assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.CRISIS_BLOCKED).count() == 1

        # The spokesperson's composer offers the holding statement first; after sign-off they publish it.
        with desk(browser, base, spokesperson.username, errors) as sky:
            sky.goto(f"{base}/incidents/{incident.pk}/")
            expect(sky.locator("#composer-template option").nth(1)).to_contain_text("Holding statement")
            sky.locator("#composer-template").select_option(index=1)
            sky.locator("#composer-fill-btn").click()
            expect(sky.locator("#reply-body")).to_have_value(HOLDING)
            sky.locator("#composer-submit").click()
            expect(sky.locator("#reply-list")).to_contain_text("In legal review")
            reply = Reply.objects.get(incident=incident, author=spokesperson)
            assert reply.template_name == "Holding statement"
            reply_services.reply_approve(actor=legal, reply_id=reply.pk)
            reply_services.reply_approve(actor=manager, reply_id=reply.pk)
            sky.reload()
            sky.locator(f"#publish-url-{reply.pk}").fill("https://x.com/blenderco/status/2")
            sky.locator(f"#publish-{reply.pk}").click()
            expect(sky.locator(f"#reply-{reply.pk}")).to_contain_text("Published")
            shoot(sky, "crisis-holding-published")
    assert Reply.objects.get(pk=reply.pk).state == ReplyState.PUBLISHED
    assert errors == []
