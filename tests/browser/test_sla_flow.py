"""A missed response-time target in a real Chromium: the open queue turns the incident red without a
reload when the sweeper records the breach, the incident page explains the clock, the responder logs
a response by keyboard, and the manager signs in to a bell that shows the escalation."""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from incidents.models import Incident, SlaClock
from incidents.services.clocks import incident_sla_sync
from incidents.services.incidents import incident_create, incident_respond, incident_set_status
from incidents.services.sweeper import sla_sweep
from protocols.models import EscalationChain, EscalationStep, SlaPolicy
from tests.browser.test_triage_flow import chromium_page
from tests.factories import IncidentFactory

SHOTS = Path(tempfile.gettempdir()) / "shots"  # screenshots to look at; not kept in the repository
COUNTDOWN = re.compile(r"^(\d+m \d{2}s|\d+s) left$|^due now$")

pytestmark = pytest.mark.browser


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.05)


@pytest.fixture
def high_priority_policy(transactional_db: Any) -> SlaPolicy:
    chain = EscalationChain.objects.create(name="Urgent replies")
    EscalationStep.objects.create(chain=chain, position=1, trigger="breach", action="notify_management")
    return SlaPolicy.objects.create(
        name="High priority",
        priority="high",
        first_response_minutes=1,
        resolution_minutes=60,
        warn_at_percent=75,
        escalation_chain=chain,
    )


def test_missed_first_response_turns_red_live_and_reaches_the_managers_bell(
    live_server: Any,
    transactional_db: Any,
    responder: Any,
    manager: Any,
    high_priority_policy: SlaPolicy,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.FIREBREAK_QUEUE_REFRESH_SECONDS = 1
    SHOTS.mkdir(exist_ok=True)
    incident = incident_create(
        actor=responder, title="Influencer: blender exploded on stream", priority="high", assignee=responder
    )
    # The rest of the desk, for contrast: a target on track, one paused, and an incident without one.
    on_track = incident_create(actor=responder, title="Refund not received after 10 days", priority="high")
    waiting = incident_create(actor=responder, title="Asked for the order number", priority="high")
    incident_respond(actor=responder, incident_id=waiting.pk)
    incident_set_status(actor=responder, incident_id=waiting.pk, status="waiting_on_customer")
    untimed = incident_create(actor=responder, title="Compliment on the new packaging", priority="low")
    with chromium_page(monkeypatch) as page:
        sign_in(page, live_server.url, "riley")
        page.evaluate("window.firebreakNotReloaded = true")
        cell = page.locator(f"#row-{incident.pk} .sla-cell")
        expect(cell).to_have_class("sla-cell sla-ok")
        expect(page.locator(f"#row-{on_track.pk} .sla-cell")).to_have_class("sla-cell sla-ok")
        expect(page.locator(f"#row-{waiting.pk} .sla-cell")).to_have_text("Paused")
        expect(page.locator(f"#row-{untimed.pk} .sla-cell")).to_have_class("sla-cell sla-none")
        countdown = cell.locator(".sla-countdown")
        expect(countdown).to_have_text(COUNTDOWN)
        first = countdown.inner_text()
        expect(countdown).not_to_have_text(first)  # it ticks in the browser

        # The target is one minute; bring its warning and deadline to the next few seconds.
        now = timezone.now()
        warn_at, due_at = now + timedelta(seconds=2), now + timedelta(seconds=5)
        SlaClock.objects.filter(incident=incident, kind="first_response").update(
            warn_at=warn_at, due_at=due_at, next_fire_at=warn_at
        )
        incident_sla_sync(incident_ids=[incident.pk])

        sleep_until(warn_at)
        sla_sweep()
        expect(cell).to_have_class("sla-cell sla-warning")
        expect(countdown).to_have_text(COUNTDOWN)

        sleep_until(due_at)
        sla_sweep()
        expect(cell).to_have_class("sla-cell sla-breached")
        expect(cell).to_contain_text("breached just now")
        assert Incident.objects.get(pk=incident.pk).sla_state == "breached"
        assert page.evaluate("window.firebreakNotReloaded") is True
        expect(page.locator(f"#row-{on_track.pk} .sla-cell")).to_have_class("sla-cell sla-ok")
        page.screenshot(path=SHOTS / "sla-queue.png")

        page.locator(f"#link-{incident.pk}").click()
        clock = page.locator(".clock", has=page.get_by_role("heading", name="First response"))
        expect(clock.locator(".sla-badge")).to_have_text("Breached")
        expect(clock).to_contain_text("High priority")
        expect(clock).to_contain_text("Notify management")
        expect(page.locator("#timeline")).to_contain_text("Target missed")
        expect(page.locator("[data-tz-note]")).to_contain_text("Times in")
        page.screenshot(path=SHOTS / "sla-incident.png", full_page=True)
        page.locator("#incident-sla").screenshot(path=SHOTS / "sla-card.png")

        page.locator("#respond-note").fill("Apologised on stream chat")
        page.keyboard.press("Enter")
        expect(page.locator("#flash")).to_contain_text(f"Response logged on #{incident.pk}.")
        expect(clock.locator(".sla-badge")).to_have_text("Missed")
        expect(page.locator("#timeline .tl-responded")).to_contain_text("First response target: missed")
        page.locator("#incident-sla").screenshot(path=SHOTS / "sla-card-answered.png")

        # The manager reads times in New York: the page shows them there, whatever the server's zone.
        managers = page.context.browser.new_context(  # type: ignore[union-attr]
            viewport={"width": 1440, "height": 900}, timezone_id="America/New_York"
        )
        try:
            desk = managers.new_page()
            desk.set_default_timeout(5_000)
            sign_in(desk, live_server.url, manager.get_username())
            bell = desk.locator("#notification-bell-link")
            expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
            expect(bell.locator(".bell-badge")).to_have_text("1")
            desk.screenshot(path=SHOTS / "sla-manager-bell.png")
            bell.click()
            expect(desk.locator(".notification.is-unread")).to_contain_text(
                f"Escalated: first response on #{incident.pk}"
            )
            desk.screenshot(path=SHOTS / "sla-manager-notifications.png")

            desk.locator(".notification.is-unread a", has_text=f"#{incident.pk}").click()
            expect(desk.locator("[data-tz-note]")).to_have_text("Times in America/New York")
            deadline = SlaClock.objects.get(incident=incident, kind="first_response").due_at
            assert deadline is not None
            in_new_york = deadline.astimezone(ZoneInfo("America/New_York"))
            due = desk.locator(".clock", has=desk.get_by_role("heading", name="First response")).locator(
                ".clock-due time"
            )
            expect(due).to_have_text(f"{in_new_york.day} {in_new_york:%b %Y, %H:%M}")
            expect(due).to_have_attribute("title", re.compile(r"EST|GMT-5"))
            desk.locator("#incident-sla").screenshot(path=SHOTS / "sla-card-new-york.png")
        finally:
            managers.close()


def test_due_before_is_picked_in_the_viewers_time_zone(
    live_server: Any, transactional_db: Any, responder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now().replace(microsecond=0)
    soon, later = IncidentFactory(title="Due in half an hour"), IncidentFactory(title="Due in three hours")
    for incident, minutes in ((soon, 30), (later, 180)):
        Incident.objects.filter(pk=incident.pk).update(
            sla_state="ok", sla_due_at=now + timedelta(minutes=minutes)
        )
    with chromium_page(monkeypatch) as page:
        context = page.context.browser.new_context(  # type: ignore[union-attr]
            viewport={"width": 1440, "height": 900}, timezone_id="Asia/Tokyo"
        )
        try:
            tokyo = context.new_page()
            tokyo.set_default_timeout(5_000)
            sign_in(tokyo, live_server.url, "riley")
            in_an_hour = (now + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Tokyo"))
            tokyo.locator("#filter-due_before").fill(f"{in_an_hour:%Y-%m-%dT%H:%M}")
            expect(tokyo.locator("#queue-rows tr.queue-row")).to_have_count(1)
            expect(tokyo.locator(f"#row-{soon.pk}")).to_be_visible()
            # The address carries the exact moment; reloading it shows the same local time again.
            moment = in_an_hour.replace(second=0).astimezone(UTC)
            expect(tokyo).to_have_url(re.compile(rf"due_before={moment:%Y-%m-%dT%H}%3A{moment:%M}%3A00.000Z"))
            tokyo.reload()
            expect(tokyo.locator("#filter-due_before")).to_have_value(f"{in_an_hour:%Y-%m-%dT%H:%M}")
            expect(tokyo.locator("#queue-rows tr.queue-row")).to_have_count(1)
            # The queue names the deadline by its Tokyo time (with the weekday once it is not today there).
            due = (now + timedelta(minutes=30)).astimezone(ZoneInfo("Asia/Tokyo"))
            today = now.astimezone(ZoneInfo("Asia/Tokyo")).date()
            shown = f"{due:%H:%M}" if due.date() == today else f"{due:%a %H:%M}"
            expect(tokyo.locator(f"#row-{soon.pk} .sla-deadline")).to_have_text(shown)
        finally:
            context.close()
