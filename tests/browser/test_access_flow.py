"""The account access page in a real Chromium: an admin sees who holds which account's credentials and
works through an offboarding checklist with the keyboard, each tick swapped in by htmx."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from protocols.models import OffboardingChecklist, SocialAccount
from protocols.services import social_account_access_grant, user_offboard
from tests.browser.test_triage_flow import ARTIFACTS, chromium_page

pytestmark = pytest.mark.browser


def test_admin_ticks_an_offboarding_checklist_by_keyboard(
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    responder: Any,
    manager: Any,
    legal: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instagram = SocialAccount.objects.create(
        name="Instagram", platform="instagram", handle="@brand", owner=manager
    )
    tiktok = SocialAccount.objects.create(name="TikTok", platform="tiktok", handle="@brand", owner=responder)
    for account, user in [(instagram, responder), (instagram, legal), (tiktok, responder), (tiktok, manager)]:
        social_account_access_grant(actor=admin_user, account_id=account.pk, user_id=user.pk, note="")
    checklist = user_offboard(actor=admin_user, user_id=responder.pk, reason="Left the company")

    with chromium_page(monkeypatch) as page:
        page.goto(f"{live_server.url}/login/?next=/access/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("pw")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Who has access to the brand's accounts")).to_be_visible()
        expect(page.locator("#account-" + str(instagram.pk))).to_contain_text("lee")
        card = page.locator(f"#checklist-{checklist.pk}")
        expect(card.locator(".checklist-item")).to_have_count(3)

        first = card.get_by_role("button", name="Mark done: Rotate the credentials of Instagram")
        first.focus()
        page.keyboard.press("Enter")
        expect(card.locator(".checklist-item.is-done")).to_have_count(1)
        # focus lands on the next open item, so the list can be worked through with Enter alone
        expect(card.get_by_role("button", name="Mark done: Rotate the credentials of TikTok")).to_be_focused()
        page.screenshot(path=ARTIFACTS / "access.png", full_page=True)
        page.keyboard.press("Enter")
        expect(card.locator(".checklist-item.is-done")).to_have_count(2)
        page.keyboard.press("Enter")
        expect(card.get_by_role("status")).to_have_text("Complete")

    checklist.refresh_from_db()
    assert (
        checklist.is_complete and OffboardingChecklist.objects.filter(completed_at__isnull=True).count() == 0
    )
