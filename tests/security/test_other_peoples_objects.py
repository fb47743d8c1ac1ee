"""What belongs to one user (API tokens, notifications, saved views) cannot be read or changed by
another, whatever their role: it answers 404, exactly as an id that does not exist, so ids cannot be
probed; the object is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Notification, SavedView
from protocols.models import ApiToken
from protocols.services import api_token_create

pytestmark = pytest.mark.django_db

MISSING = 987654


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("intruder", ["responder", "manager", "admin_user"])
def test_anothers_token_notification_and_saved_view_read_as_missing(
    intruder: str, pr_user: Any, request: pytest.FixtureRequest
) -> None:
    owner = pr_user
    token = api_token_create(user=owner, name="PR's").token
    note = Notification.objects.create(
        recipient=owner,
        channel="in_app",
        kind="sla.warning",
        subject="Due soon",
        dedupe_key="k",
        created_at=timezone.now(),
    )
    view = SavedView.objects.create(user=owner, name="Mine", query="status=new")
    client = signed_in(request.getfixturevalue(intruder))
    for theirs, missing in (
        (f"/notifications/{note.pk}/read/", f"/notifications/{MISSING}/read/"),
        (f"/views/{view.pk}/delete/", f"/views/{MISSING}/delete/"),
    ):
        assert client.post(theirs).status_code == client.post(missing).status_code == 404, theirs
    revoke = client.post(f"/tokens/{token.pk}/revoke/")
    if intruder == "admin_user":
        assert revoke.status_code == 302  # admins may revoke anyone's token (and see them all)
    else:
        assert revoke.status_code == client.post(f"/tokens/{MISSING}/revoke/").status_code == 404
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    note.refresh_from_db()
    assert note.read_at is None and SavedView.objects.filter(pk=view.pk).exists()
    # The owner reaches all three (so the 404s above are about whose they are).
    mine = signed_in(owner)
    assert mine.post(f"/notifications/{note.pk}/read/").status_code == 302
    assert mine.post(f"/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()
