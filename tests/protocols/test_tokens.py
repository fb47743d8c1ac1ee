"""API tokens: stored hashed, shown once, expiring and revocable."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from protocols.models import ApiToken
from protocols.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_command_prints_a_working_token_once_and_stores_only_its_hash(responder: Any) -> None:
    out = StringIO()
    call_command("create_api_token", "riley", "--name", "zapier", stdout=out)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(user=responder)
    assert token.name == "zapier" and secret.startswith("fb_") and len(secret) > 40
    assert secret not in (token.digest, token.prefix) and secret.startswith(token.prefix)
    response = client_with(secret).get("/api/v1/incidents/")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_command_refuses_unknown_users() -> None:
    with pytest.raises(CommandError, match="No active user"):
        call_command("create_api_token", "ghost", stdout=StringIO())


def test_expired_and_revoked_tokens_are_refused(responder: Any) -> None:
    expired = api_token_create(user=responder, name="old", expires_at=timezone.now() - timedelta(seconds=1))
    response = client_with(expired.secret).get("/api/v1/incidents/")
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    live = api_token_create(user=responder, name="live")
    assert client_with(live.secret).get("/api/v1/incidents/").status_code == 200
    assert api_token_revoke(token=live.token) is True
    assert api_token_revoke(token=live.token) is False
    assert client_with(live.secret).get("/api/v1/incidents/").status_code == 401


def test_token_of_a_deactivated_user_stops_working(responder: Any) -> None:
    issued = api_token_create(user=responder, name="t")
    responder.is_active = False
    responder.save()
    assert client_with(issued.secret).get("/api/v1/incidents/").status_code == 401
