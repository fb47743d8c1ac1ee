"""Who has access to the brand's accounts: grants and revocations recorded with who and when;
offboarding ends a user's sessions, tokens and grants at once and leaves a checklist that is ticked
until done; only admins act, managers look; the audit trail cannot be rewritten."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from protocols.admin import FirebreakUserAdmin
from protocols.models import (
    AccessAuditEvent,
    ApiToken,
    OffboardingChecklist,
    OffboardingItem,
    SocialAccount,
    SocialAccountAccess,
)
from protocols.services import (
    api_token_create,
    offboarding_item_tick,
    social_account_access_grant,
    user_offboard,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def admin_api(api_for: Callable[[Any], APIClient], admin_user: Any) -> APIClient:
    return api_for(admin_user)


def account(name: str, *, owner: Any = None) -> SocialAccount:
    return SocialAccount.objects.create(
        name=name, platform="instagram", handle=f"@{name.lower()}", owner=owner
    )


def grant(admin: Any, acc: SocialAccount, user: Any) -> SocialAccountAccess:
    return social_account_access_grant(actor=admin, account_id=acc.pk, user_id=user.pk)


def signed_in(user: Any) -> Client:
    client = Client()
    # axes checks the lockout of every sign-in, so it needs the request one comes from
    assert client.login(request=RequestFactory().post("/login/"), username=user.get_username(), password="pw")
    return client


def snapshot() -> list[Any]:
    return [
        list(SocialAccountAccess.objects.order_by("id").values_list("id", "revoked_at")),
        list(OffboardingItem.objects.order_by("id").values_list("id", "ticked_at")),
        list(User.objects.order_by("id").values_list("id", "is_active")),
        list(ApiToken.objects.order_by("id").values_list("id", "revoked_at")),
        OffboardingChecklist.objects.count(),
        AccessAuditEvent.objects.count(),
    ]


def test_grant_and_revoke_are_recorded_with_who_and_when(
    admin_api: APIClient, admin_user: Any, responder: Any
) -> None:
    acc = account("Brand")
    response = admin_api.post(
        f"/api/v1/social-accounts/{acc.pk}/access/",
        {"user": responder.pk, "note": "community manager"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    granted = response.json()
    assert granted["user"]["username"] == "riley" and granted["granted_by"]["username"] == "ada"
    assert granted["granted_at"] and granted["is_live"] and granted["note"] == "community manager"

    again = admin_api.post(f"/api/v1/social-accounts/{acc.pk}/access/", {"user": responder.pk}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    revoked = admin_api.post(f"/api/v1/account-access/{granted['id']}/revoke/", {}, format="json")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_by"]["username"] == "ada" and revoked.json()["revoked_at"]
    assert (
        admin_api.post(f"/api/v1/account-access/{granted['id']}/revoke/", {}, format="json").status_code
        == 409
    )

    listed = admin_api.get(f"/api/v1/social-accounts/{acc.pk}/access/").json()["results"]
    assert [(row["user"]["username"], row["is_live"]) for row in listed] == [("riley", False)]
    audit = admin_api.get("/api/v1/access-audit/", {"subject": responder.pk}).json()["results"]
    assert [(row["action"], row["actor"]["username"], row["account"]) for row in audit] == [
        ("revoke", "ada", acc.pk),
        ("grant", "ada", acc.pk),
    ]


def test_a_new_grant_after_a_revocation_is_allowed(
    admin_user: Any, responder: Any, admin_api: APIClient
) -> None:
    acc = account("Brand")
    first = grant(admin_user, acc, responder)
    admin_api.post(f"/api/v1/account-access/{first.pk}/revoke/", {}, format="json")
    assert grant(admin_user, acc, responder).revoked_at is None
    assert SocialAccountAccess.objects.filter(account=acc, user=responder).count() == 2


def test_offboarding_ends_sessions_tokens_and_grants_at_once(
    admin_api: APIClient, admin_user: Any, responder: Any, manager: Any
) -> None:
    instagram, tiktok, x = account("Instagram"), account("TikTok"), account("X", owner=responder)
    grant(admin_user, instagram, responder)
    grant(admin_user, tiktok, responder)
    grant(admin_user, tiktok, manager)
    browser = signed_in(responder)
    assert browser.get("/tokens/").status_code == 200
    secret = api_token_create(user=responder, name="listening tool").secret
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert token_client.get("/api/v1/incidents/").status_code == 200
    other_browser = signed_in(manager)

    response = admin_api.post(
        f"/api/v1/users/{responder.pk}/offboard/", {"reason": "Left the company"}, format="json"
    )

    assert response.status_code == 201, response.json()
    page = browser.get("/tokens/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(responder.pk)]
    assert other_browser.get("/tokens/").status_code == 200  # nobody else is signed out
    assert token_client.get("/api/v1/incidents/").status_code == 401
    assert not SocialAccountAccess.objects.filter(user=responder, revoked_at__isnull=True).exists()
    assert SocialAccountAccess.objects.filter(user=manager, revoked_at__isnull=True).count() == 1
    checklist = response.json()
    assert checklist["user"]["username"] == "riley" and checklist["reason"] == "Left the company"
    assert not checklist["is_complete"]
    assert [(item["account"], item["text"]) for item in checklist["items"]] == [
        (instagram.pk, "Rotate the credentials of Instagram"),
        (tiktok.pk, "Rotate the credentials of TikTok"),
        (x.pk, "Give X a new owner and rotate its recovery details"),
    ]
    responder.refresh_from_db()
    assert not responder.is_active
    again = admin_api.post(f"/api/v1/users/{responder.pk}/offboard/", {"reason": "again"}, format="json")
    assert again.status_code == 409 and OffboardingChecklist.objects.count() == 1
    actions = list(AccessAuditEvent.objects.filter(subject=responder).values_list("action", flat=True))
    assert sorted(actions) == ["grant", "grant", "offboard", "revoke", "revoke"]


def test_ticking_every_item_completes_the_checklist_and_a_second_tick_is_409(
    admin_api: APIClient, admin_user: Any, responder: Any
) -> None:
    grant(admin_user, account("Instagram"), responder)
    account("X", owner=responder)
    checklist = user_offboard(actor=admin_user, user_id=responder.pk, reason="Left")
    first, second = checklist.items.order_by("id")

    ticked = admin_api.post(f"/api/v1/offboarding-items/{first.pk}/tick/")
    assert ticked.status_code == 200
    assert ticked.json()["ticked_by"]["username"] == "ada" and ticked.json()["ticked_at"]
    assert admin_api.get(f"/api/v1/offboarding-checklists/{checklist.pk}/").json()["is_complete"] is False
    again = admin_api.post(f"/api/v1/offboarding-items/{first.pk}/tick/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert admin_api.post(f"/api/v1/offboarding-items/{second.pk}/tick/").status_code == 200

    done = admin_api.get(f"/api/v1/offboarding-checklists/{checklist.pk}/").json()
    assert done["is_complete"] is True and done["completed_at"]
    assert [
        row["id"]
        for row in admin_api.get("/api/v1/offboarding-checklists/", {"is_complete": "false"}).json()[
            "results"
        ]
    ] == []
    assert AccessAuditEvent.objects.filter(action="tick").count() == 2


def test_a_user_without_access_gets_a_complete_checklist_and_admins_cannot_offboard_themselves(
    admin_api: APIClient, admin_user: Any, pr_user: Any
) -> None:
    response = admin_api.post(
        f"/api/v1/users/{pr_user.pk}/offboard/", {"reason": "Contract ended"}, format="json"
    )
    assert response.status_code == 201 and response.json()["is_complete"] and response.json()["items"] == []
    own = admin_api.post(f"/api/v1/users/{admin_user.pk}/offboard/", {"reason": "Bye"}, format="json")
    assert own.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert admin_api.post("/api/v1/users/999999/offboard/", {"reason": "x"}, format="json").status_code == 404
    assert admin_api.post(f"/api/v1/users/{pr_user.pk}/offboard/", {}, format="json").status_code == 400


@pytest.mark.parametrize("who", ["manager", "responder", "integration", "outsider"])
def test_non_admins_are_refused_everywhere_and_nothing_changes(
    request: pytest.FixtureRequest, who: str, api_for: Callable[[Any], APIClient], admin_user: Any, legal: Any
) -> None:
    acc = account("Brand", owner=legal)
    live = grant(admin_user, acc, legal)
    spokesperson = UserFactory(username="sky2")
    grant(admin_user, acc, spokesperson)
    item = user_offboard(actor=admin_user, user_id=spokesperson.pk, reason="Left").items.get()
    client = api_for(request.getfixturevalue(who))
    before = snapshot()
    calls = [
        client.get(f"/api/v1/social-accounts/{acc.pk}/access/"),
        client.post(f"/api/v1/social-accounts/{acc.pk}/access/", {"user": legal.pk}, format="json"),
        client.post(f"/api/v1/account-access/{live.pk}/revoke/", {}, format="json"),
        client.post(f"/api/v1/users/{legal.pk}/offboard/", {"reason": "x"}, format="json"),
        client.get("/api/v1/offboarding-checklists/"),
        client.get(f"/api/v1/offboarding-checklists/{item.checklist_id}/"),
        client.post(f"/api/v1/offboarding-items/{item.pk}/tick/"),
        client.get("/api/v1/access-audit/"),
    ]
    assert [response.status_code for response in calls] == [403] * len(calls)
    browser = Client()
    browser.force_login(request.getfixturevalue(who))
    assert browser.post(f"/access/items/{item.pk}/tick/").status_code == 403
    assert browser.post(f"/access/grants/{live.pk}/revoke/").status_code == 403
    assert snapshot() == before


def test_services_refuse_non_admins_too(manager: Any, responder: Any) -> None:
    from config.errors import PermissionRefused

    acc = account("Brand")
    with pytest.raises(PermissionRefused):
        social_account_access_grant(actor=manager, account_id=acc.pk, user_id=responder.pk)
    with pytest.raises(PermissionRefused):
        user_offboard(actor=manager, user_id=responder.pk, reason="x")
    responder.refresh_from_db()
    assert responder.is_active and not SocialAccountAccess.objects.exists()


def test_audit_rows_cannot_be_updated_or_deleted(admin_user: Any, responder: Any) -> None:
    grant(admin_user, account("Brand"), responder)
    event = AccessAuditEvent.objects.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AccessAuditEvent.objects.filter(pk=event.pk).update(action="revoke")
    with pytest.raises(PermissionError):
        AccessAuditEvent.objects.all().delete()
    # and the database refuses code that goes around the model
    for sql in (
        "UPDATE protocols_accessauditevent SET action = 'revoke'",
        "DELETE FROM protocols_accessauditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AccessAuditEvent.objects.get().action == "grant"


def test_list_endpoints_use_a_bounded_number_of_queries(
    admin_api: APIClient, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    acc = account("Brand")
    for n in range(8):
        user = UserFactory(username=f"member{n}")
        grant(admin_user, acc, user)
        owned = account(f"Owned {n}", owner=user)
        grant(admin_user, owned, user)
        user_offboard(actor=admin_user, user_id=user.pk, reason="Left")
        grant(admin_user, acc, UserFactory(username=f"keeper{n}"))
    # auth (1) + savepoints and the page; the same for 8 rows as for 1
    for url in (
        f"/api/v1/social-accounts/{acc.pk}/access/",
        "/api/v1/offboarding-checklists/",
        "/api/v1/access-audit/",
    ):
        with django_assert_max_num_queries(6):
            response = admin_api.get(url)
        assert response.status_code == 200 and len(response.json()["results"]) >= 8
    page = Client()
    page.force_login(admin_user)
    with django_assert_max_num_queries(14):
        assert page.get("/access/").status_code == 200


def test_the_access_page_shows_who_has_access_and_admins_tick_with_htmx(
    admin_user: Any, manager: Any, responder: Any, legal: Any
) -> None:
    acc = account("Instagram", owner=manager)
    grant(admin_user, acc, legal)
    grant(admin_user, acc, responder)
    item = user_offboard(actor=admin_user, user_id=responder.pk, reason="Left the company").items.get()

    looking = Client()
    looking.force_login(manager)
    page = looking.get("/access/").content.decode()
    assert "Instagram" in page and "lee" in page and "morgan" in page
    assert "Rotate the credentials of Instagram" in page and "Mark done" not in page and "Revoke" not in page
    assert 'href="/access/"' in page  # the nav link

    acting = Client()
    acting.force_login(admin_user)
    assert "Mark done" in acting.get("/access/").content.decode()
    response = acting.post(f"/access/items/{item.pk}/tick/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Complete" in response.content.decode()
    again = acting.post(f"/access/items/{item.pk}/tick/", HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    assert "Rotate the credentials of Instagram" not in acting.get("/access/").content.decode()  # none open

    responder_page = Client()
    responder_page.force_login(legal)
    assert responder_page.get("/access/").status_code == 403


def test_unticking_active_in_the_admin_offboards_and_so_does_the_action(
    admin_user: Any, responder: Any, pr_user: Any
) -> None:
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    grant(admin_user, account("Instagram"), responder)
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)

    class ChangedActive:
        changed_data = ["is_active"]

    responder.is_active = False
    FirebreakUserAdmin(User, None).save_model(request, responder, ChangedActive(), change=True)  # type: ignore[arg-type]
    checklist = OffboardingChecklist.objects.get(user=responder)
    assert checklist.items.get().text == "Rotate the credentials of Instagram"
    assert not SocialAccountAccess.objects.filter(revoked_at__isnull=True).exists()

    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/auth/user/", {"action": "offboard_users", "_selected_action": [pr_user.pk]}, follow=True
    )
    assert response.status_code == 200 and "Offboarded parker" in response.content.decode()
    pr_user.refresh_from_db()
    assert not pr_user.is_active and OffboardingChecklist.objects.filter(user=pr_user).exists()

    item = checklist.items.get()
    ticked = client.post(
        "/admin/protocols/offboardingitem/",
        {"action": "tick_items", "_selected_action": [item.pk]},
        follow=True,
    )
    assert ticked.status_code == 200 and "Ticked 1 item" in ticked.content.decode()
    checklist.refresh_from_db()
    assert checklist.is_complete
    assert client.get("/admin/protocols/accessauditevent/").status_code == 200


def test_the_admin_account_page_shows_who_has_access(admin_user: Any, legal: Any) -> None:
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    acc = account("Instagram")
    grant(admin_user, acc, legal)
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/protocols/socialaccount/{acc.pk}/change/").content.decode()
    assert "Who has access" in page and "lee" in page and "by ada" in page


def test_the_last_tick_completes_even_through_the_service(admin_user: Any, responder: Any) -> None:
    grant(admin_user, account("Instagram"), responder)
    checklist = user_offboard(actor=admin_user, user_id=responder.pk, reason="Left")
    offboarding_item_tick(actor=admin_user, item_id=checklist.items.get().pk)
    checklist.refresh_from_db()
    assert checklist.is_complete
