"""The audit log in a real Chromium: an admin reads who changed what (old → new), narrows it to
configuration changes and finds a failed sign-in, all under the Content-Security-Policy."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from protocols.audit_actor import acting_as
from protocols.models import Category
from tests.browser.test_triage_flow import ARTIFACTS, chromium_page

pytestmark = pytest.mark.browser


def test_admin_reads_and_filters_the_audit_log(
    live_server: Any, transactional_db: Any, admin_user: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with acting_as(manager):
        category = Category.objects.create(name="Billing", slug="billing")
    with acting_as(admin_user):
        Category.objects.filter(pk=category.pk).update(name="Billing and refunds", tier="high_priority")

    with chromium_page(monkeypatch) as page:
        page.goto(f"{live_server.url}/login/?next=/audit/")
        page.get_by_label("Username").fill("morgan")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_label("Password").press("Enter")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("pw")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        expect(page.get_by_role("link", name="Audit")).to_have_attribute("aria-current", "page")

        changed = page.locator("tr", has_text="Billing and refunds").filter(has_text="Changed")
        expect(changed).to_contain_text("ada")
        expect(changed).to_contain_text("routine")
        expect(changed).to_contain_text("high_priority")
        expect(page.locator("tr", has_text="Sign-in failed")).to_contain_text("morgan")
        page.screenshot(path=ARTIFACTS / "audit.png", full_page=True)

        page.get_by_label("Kind").select_option("config")
        page.get_by_label("What").select_option("protocols_category")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"/audit/\?kind=config&.*table=protocols_category"))
        expect(page.locator("tbody tr")).to_have_count(2)
        expect(page.locator("tr", has_text="Sign-in failed")).to_have_count(0)
