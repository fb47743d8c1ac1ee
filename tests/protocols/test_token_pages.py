"""The API tokens page: a token created in the browser shows its secret once and works against the
API; revoking it turns the API away; nobody can see or revoke someone else's token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from protocols.models import ApiToken
from protocols.services import api_token_create


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_status(secret: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client.get("/api/v1/incidents/").status_code


def test_anonymous_is_sent_to_login() -> None:
    response = Client().get("/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/tokens/")


def test_outsider_without_a_role_is_refused(outsider: Any) -> None:
    client = signed_in(outsider)
    assert client.get("/tokens/").status_code == 403
    assert client.post("/tokens/", {"name": "mine"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_create_shows_the_secret_once_and_it_works(integration: Any) -> None:
    client = signed_in(integration)
    response = client.post("/tokens/", {"name": "Listening tool", "expires_in_days": "30", "scope": "write"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=integration)
    html = response.content.decode()
    secret = html.split('id="new-secret" class="mono" value="')[1].split('"')[0]
    assert secret.startswith(token.prefix) and "shown only this once" in html
    assert token.expires_at is not None and token.name == "Listening tool"

    listing = client.get("/tokens/").content.decode()
    assert "Listening tool" in listing and token.prefix in listing
    assert secret not in listing  # never again

    assert api_status(secret) == 200


def test_revoke_makes_the_token_fail(responder: Any) -> None:
    client = signed_in(responder)
    issued = api_token_create(user=responder, name="ci")
    assert api_status(issued.secret) == 200
    response = client.post(f"/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/tokens/"
    assert api_status(issued.secret) == 401
    page = client.get("/tokens/").content.decode()
    assert "Revoked" in page
    assert f'action="/tokens/{issued.token.pk}/revoke/"' not in page  # nothing left to revoke


def test_cannot_revoke_someone_elses_token(responder: Any, manager: Any) -> None:
    theirs = api_token_create(user=manager, name="manager's")
    client = signed_in(responder)
    assert client.post(f"/tokens/{theirs.token.pk}/revoke/").status_code == 404
    assert "manager&#x27;s" not in client.get("/tokens/").content.decode()
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None
    assert api_status(theirs.secret) == 200


def test_revoke_is_a_post(responder: Any) -> None:
    issued = api_token_create(user=responder, name="ci")
    assert signed_in(responder).get(f"/tokens/{issued.token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


@pytest.mark.parametrize("days", ["0", "abc", "4000"])
def test_bad_expiry_is_refused(responder: Any, days: str) -> None:
    response = signed_in(responder).post("/tokens/", {"name": "x", "expires_in_days": days, "scope": "read"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_read_only_token_reads_and_changes_nothing(integration: Any) -> None:
    from incidents.models import Mention
    from tests.factories import mention_payload

    client = signed_in(integration)
    page = client.post("/tokens/", {"name": "Dashboard feed", "scope": "read"}).content.decode()
    secret = page.split('id="new-secret" class="mono" value="')[1].split('"')[0]
    assert ApiToken.objects.get(user=integration).scope == "read"
    assert "Read only" in client.get("/tokens/").content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/v1/incidents/").status_code == 200
    refused = api.post("/api/v1/mentions/", mention_payload(1), format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "token_read_only"
    assert not Mention.objects.exists()
    # The same user's write token may do what the user may.
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=integration, name='w').secret}")
    assert writer.post("/api/v1/mentions/", mention_payload(1), format="json").status_code == 201


def test_a_scope_must_be_read_or_write(responder: Any) -> None:
    from config.errors import ValidationFailed

    response = signed_in(responder).post("/tokens/", {"name": "x", "scope": "admin"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    with pytest.raises(ValidationFailed):
        api_token_create(user=responder, name="x", scope="everything")


def test_an_admin_sees_and_revokes_anyones_token(admin_user: Any, responder: Any) -> None:
    theirs = api_token_create(user=responder, name="Responder's script")
    client = signed_in(admin_user)
    page = client.get("/tokens/").content.decode()
    everyone = page.split('id="all-tokens"', 1)[1]
    assert "Responder&#x27;s script" in everyone and responder.get_username() in everyone
    response = client.post(f"/tokens/{theirs.token.pk}/revoke/", follow=True)
    assert f"of {responder.get_username()}" in response.content.decode()
    assert api_status(theirs.secret) == 401
    # Nobody else gets the list.
    assert 'id="all-tokens"' not in signed_in(responder).get("/tokens/").content.decode()


def test_the_command_makes_a_read_only_token(responder: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", responder.username, "--read-only", stdout=out)
    assert ApiToken.objects.get(user=responder).scope == "read"
    assert api_status(out.getvalue().strip()) == 200
