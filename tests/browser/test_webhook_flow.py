"""Outbound webhooks in a real Chromium: an admin subscribes a receiver with the keyboard, copies the
secret shown once, reads the delivery log and replays a failed delivery."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from incidents.models import WebhookDelivery, WebhookSubscription
from incidents.services import incidents as incident_services
from incidents.tasks import webhooks_deliver_due
from tests.browser.test_triage_flow import ARTIFACTS, chromium_page
from tests.fakes.server import LocalServer, Received, Reply

pytestmark = pytest.mark.browser


def test_admin_subscribes_reads_the_delivery_log_and_replays_by_keyboard(
    live_server: Any, transactional_db: Any, admin_user: Any, responder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [200, 500, 404]

    def answer(request: Received) -> Reply:
        return Reply(answers.pop(0) if answers else 200, b"{}")

    with LocalServer(answer) as receiver, chromium_page(monkeypatch) as page:
        page.goto(f"{live_server.url}/login/?next=/webhooks/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("pw")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Outbound webhooks")).to_be_visible()
        page.get_by_label("Name").fill("Ticketing")
        page.get_by_label("Target URL").fill(f"{receiver.base_url}/hooks")
        for event in ("incident.created", "incident.updated"):
            page.get_by_label(event).focus()
            page.keyboard.press("Space")
        page.get_by_role("button", name="Subscribe").focus()
        page.keyboard.press("Enter")
        secret = page.locator("#new-secret")
        expect(secret).to_be_visible()
        subscription = WebhookSubscription.objects.get()
        assert subscription.event_types == ["incident.created", "incident.updated"]
        expect(secret).to_have_value(subscription.secret)

        incident = incident_services.incident_create(actor=responder, title="Kettle lid flew off")
        incident_services.incident_set_priority(actor=responder, incident_id=incident.pk, priority="high")
        incident_services.incident_create(actor=responder, title="Parcel never came")
        assert webhooks_deliver_due() == 3  # 200, then 500 (retried later), then 404 (failed)
        states = sorted(WebhookDelivery.objects.values_list("state", "last_status_code"))
        assert states == [("delivered", 200), ("failed", 404), ("pending", 500)], states

        page.goto(f"{live_server.url}/webhooks/")
        expect(page.locator("#new-secret")).to_have_count(0)  # shown once
        expect(page.get_by_text("Failing since")).to_be_visible()
        page.get_by_role("link", name="Ticketing").click()
        expect(page.get_by_role("heading", name="Ticketing")).to_be_visible()
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(3)
        failed = WebhookDelivery.objects.get(state="failed")
        row = page.locator(f"#delivery-{failed.pk}")
        expect(row).to_contain_text("HTTP 404")
        row.get_by_text("Show").click()
        expect(row.locator("pre")).to_contain_text(str(failed.pk))
        page.screenshot(path=ARTIFACTS / "webhooks.png", full_page=True)

        row.get_by_role("button", name=f"Replay delivery {failed.pk}").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("Sending delivery")).to_be_visible()
        webhooks_deliver_due()
        page.reload()
        expect(page.locator(f"#delivery-{failed.pk}")).to_contain_text("Delivered")
        assert [r.headers["x-firebreak-delivery"] for r in receiver.received].count(str(failed.pk)) == 2
