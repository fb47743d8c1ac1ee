"""Crisis mode in a real Chromium: the manager switches it on from an incident, every page shows the red
banner, a responder's publish is refused (and the refusal is on the crisis timeline), and the
spokesperson publishes the holding statement, offered first in the composer."""

from __future__ import annotations

from typing import Any, cast

import pytest
from playwright.sync_api import expect

from incidents.models import EventKind, Incident, Reply, ReplyState, TimelineEvent
from incidents.services import replies as reply_services
from incidents.services.ingestion import mentions_ingest
from protocols.models import Category, SocialAccount, Tier
from templates_app.models import TemplateVersion
from templates_app.services import templates as template_services
from tests.approvals import sign_off_chain
from tests.browser.test_reply_flow import SHOTS, desk, shoot, sign_in, watch
from tests.browser.test_triage_flow import chromium_page
from tests.factories import CategoryFactory, mention_payload

pytestmark = pytest.mark.browser
HOLDING = "We are aware of the reports about the X2 blender and are looking into them urgently. More soon."


@pytest.fixture
def kettle_incident(transactional_db: Any, pr_user: Any, manager: Any, integration: Any) -> Incident:
    sign_off_chain(rules=[(Tier.CRISIS, "")])
    SocialAccount.objects.create(name="BlenderCo on X", platform="x", handle="blenderco", publisher="manual")
    cast(Category, CategoryFactory(name="Complaint", slug="complaint", tier=Tier.ROUTINE))
    holding = template_services.template_create(
        actor=pr_user, name="Holding statement", kind="holding_statement", body=HOLDING, platforms=["x"]
    )
    version = TemplateVersion.objects.get(template=holding, status="draft")
    template_services.template_version_approve(actor=manager, version_id=version.pk)
    (result,) = mentions_ingest(
        items=[mention_payload("viral", author_handle="tim", text="Blenders are exploding all over TikTok")],
        actor=integration,
        actor_label="listening tool",
    )
    assert result.incident_id is not None
    return Incident.objects.get(pk=result.incident_id)


def test_crisis_mode_limits_who_publishes(
    live_server: Any,
    kettle_incident: Incident,
    manager: Any,
    responder: Any,
    spokesperson: Any,
    legal: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    SHOTS.mkdir(exist_ok=True)
    incident, base = kettle_incident, live_server.url
    errors: list[str] = []
    with chromium_page(monkeypatch) as page:
        browser = page.context.browser
        assert browser is not None
        watch(page, errors)

        # The manager switches crisis mode on from the incident, naming the holding statement.
        sign_in(page, base, manager.username)
        page.goto(f"{base}/incidents/{incident.pk}/")
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
