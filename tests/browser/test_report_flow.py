"""The reports dashboard in a real Chromium: a manager opens it, narrows it to one category with the
filter bar, clicks a breach count and lands on the queue listing exactly those incidents. The figures
come from the rollups (refreshed once, as the beat task does), the list behind them from the queue."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from incidents.models import ClockKind, SlaClock
from reporting.rollups.refresh import rollup_refresh
from tests.browser.test_triage_flow import ARTIFACTS, chromium_page
from tests.reporting.world import build, cohort

pytestmark = pytest.mark.browser


def test_a_manager_narrows_to_a_category_and_follows_a_breach_count(
    live_server: Any, transactional_db: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build(41)
    delivery = world.categories[0]
    breached = {
        c.incident_id
        for c in SlaClock.objects.filter(breached_at__isnull=False).exclude(kind=ClockKind.APPROVAL_STEP)
    }
    expected = {i.pk for i in cohort(world, category_id=delivery.pk) if i.pk in breached}
    assert expected  # the generated month has breaches in this category
    rollup_refresh()

    with chromium_page(monkeypatch) as page:
        page.set_viewport_size({"width": 1360, "height": 900})
        page.goto(f"{live_server.url}/login/?next=/reports/%3Fstart%3D2026-10-01%26end%3D2026-10-31")
        page.get_by_label("Username").fill("morgan")
        page.get_by_label("Password").fill("pw")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
        expect(page.locator(".report-freshness")).to_contain_text("Figures include every change up to")
        # The plan's reviews card loads beside the figures (htmx): its heading gets the count.
        expect(page.locator("#reviews-due-card .card-title .count")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "reports.png", full_page=True)

        page.get_by_label("Category", exact=True).select_option(label="Delivery")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#volume-category tbody tr")).to_have_count(1)
        count = page.locator(f'[data-breach-count="category:{delivery.pk}"]')
        expect(count).to_have_text(str(len(expected)))
        page.screenshot(path=ARTIFACTS / "reports-delivery.png", full_page=True)

        count.click()
        page.wait_for_url("**breached=any**")
        rows = page.locator("[data-id]")
        expect(rows).to_have_count(len(expected))
        listed = {int(pk) for pk in rows.evaluate_all("els => els.map(e => e.dataset.id)")}
        assert listed == expected
        page.screenshot(path=ARTIFACTS / "reports-drilldown.png", full_page=True)
