"""Sessions in a real Chromium: repeated wrong passwords lock the sign-in with a clear message, and "Sign
out everywhere" is reached and pressed with the keyboard and ends the user's other session too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.browser.test_triage_flow import ARTIFACTS, chromium_page

pytestmark = pytest.mark.browser


def test_lockout_then_sign_out_everywhere_by_keyboard(
    live_server: Any, transactional_db: Any, responder: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_browser = Client()
    other_browser.force_login(responder)
    assert other_browser.get("/").status_code == 200

    with chromium_page(monkeypatch) as page:
        page.goto(f"{live_server.url}/login/")
        for _ in range(5):
            page.get_by_label("Username").fill("morgan")
            page.get_by_label("Password").fill("wrong")
            page.get_by_label("Password").press("Enter")
            page.wait_for_load_state()
        expect(page.get_by_role("alert")).to_have_text(
            "Too many failed sign-ins. Try again in 15 minutes or ask an admin to unlock your account."
        )
        page.screenshot(path=ARTIFACTS / "sign-in-locked.png")

        page.get_by_label("Username").fill("riley")
        page.get_by_label("Password").fill("pw")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()
        button = page.get_by_role("button", name="Sign out everywhere")
        page.get_by_role("button", name="Log out").focus()
        page.keyboard.press("Tab")
        expect(button).to_be_focused()
        page.screenshot(path=ARTIFACTS / "sign-out-everywhere.png")
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_text("Signed out everywhere")).to_be_visible()

    assert other_browser.get("/").status_code == 302
