"""Rate limits on intake (per API token and per client address) and on signing in (per address): the
request over the limit answers 429 with `Retry-After` and the usual error shape, and stores nothing;
the next minute starts afresh; the count is exact under concurrency."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from config.throttles import window_count
from incidents.models import Mention
from tests.factories import mention_payload
from tests.incidents.test_intake import post_raw, signed

pytestmark = pytest.mark.django_db

INTAKE = "/api/v1/mentions/"
HOOK = "/api/v1/hooks/mentions/"
# Early in a minute, so a slow machine does not cross into the next window half way through a test.
MINUTE_START = datetime(2026, 12, 8, 10, 0, 1, tzinfo=UTC)


def push(client: APIClient, n: int, **extra: Any) -> Any:
    return client.post(INTAKE, mention_payload(n), format="json", **extra)


def test_a_token_over_its_limit_gets_429_with_retry_after_and_nothing_is_stored(
    api_for: Any, integration: Any, settings: Any
) -> None:
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN = 3
    first, second = api_for(integration), api_for(integration)
    with time_machine.travel(MINUTE_START, tick=False):
        assert [push(first, n).status_code for n in range(3)] == [201, 201, 201]
        refused = push(first, 3)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "throttled"
        assert refused["Retry-After"] == "59"  # the rest of the minute
        assert not Mention.objects.filter(external_id="ext-3").exists()
        # The limit is the token's: another token of the same integration still gets in.
        assert push(second, 4).status_code == 201
    with time_machine.travel(MINUTE_START.replace(minute=1), tick=False):
        assert push(first, 3).status_code == 201  # a new minute, a new count


def test_one_address_is_limited_whatever_token_it_uses(api_for: Any, integration: Any, settings: Any) -> None:
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 2
    with time_machine.travel(MINUTE_START, tick=False):
        assert push(api_for(integration), 1).status_code == 201
        assert push(api_for(integration), 2).status_code == 201
        assert push(api_for(integration), 3).status_code == 429
        # Another address is counted apart; a forged X-Forwarded-For does not make one (no proxy trusted).
        assert push(api_for(integration), 4, REMOTE_ADDR="10.0.0.7").status_code == 201
        assert push(api_for(integration), 5, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    api_for: Any, integration: Any, settings: Any
) -> None:
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with time_machine.travel(MINUTE_START, tick=False):
        assert push(api_for(integration), 1, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
        assert push(api_for(integration), 2, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201
        assert push(api_for(integration), 3, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_the_signed_webhook_is_limited_per_address(settings: Any) -> None:
    from protocols.models import IntakeSource

    source = IntakeSource.objects.create(name="Listening", slug="listening", secret="s3cret-value")
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 1
    with time_machine.travel(MINUTE_START, tick=True):
        bodies = [json.dumps(mention_payload(n)).encode() for n in (1, 2)]
        answers = [post_raw(APIClient(), body, url=HOOK, headers=signed(source, body)) for body in bodies]
    assert [a.status_code for a in answers] == [201, 429]
    assert int(answers[1]["Retry-After"]) > 0
    assert Mention.objects.count() == 1


def test_a_limit_of_zero_is_no_limit(api_for: Any, integration: Any, settings: Any) -> None:
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN = 0
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 0
    client = api_for(integration)
    assert {push(client, n).status_code for n in range(5)} == {201}


def test_signing_in_too_often_from_one_address_gets_429_before_any_password_is_checked(
    responder: Any, settings: Any
) -> None:
    settings.FIREBREAK_LOGIN_PER_MINUTE_PER_IP = 2
    browser = Client()
    with time_machine.travel(MINUTE_START, tick=False):
        for _ in range(2):
            browser.post("/login/", {"username": responder.username, "password": "wrong"})
        refused = browser.post("/login/", {"username": responder.username, "password": "pw"})
        assert refused.status_code == 429
        assert refused["Retry-After"] == "59"
        assert (
            "Too many sign-in attempts from your address. Try again in 1 minute." in refused.content.decode()
        )
        assert "_auth_user_id" not in browser.session  # the right password did not get in
        # Reading the page is not an attempt; another address is counted apart.
        assert browser.get("/login/").status_code == 200
        elsewhere = Client(REMOTE_ADDR="10.0.0.8")
        assert (
            elsewhere.post("/login/", {"username": responder.username, "password": "pw"}).status_code == 302
        )


def test_the_count_is_exact_when_requests_arrive_at_once() -> None:
    counts: list[int] = []
    lock = threading.Lock()
    now = time.time()

    def hit() -> None:
        count, _ = window_count(scope="test", key="same", now=now)
        with lock:
            counts.append(count)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 21))


def test_the_schema_declares_the_429(api_for: Any, responder: Any) -> None:
    schema = api_for(responder).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (INTAKE, HOOK):
        assert "429" in schema["paths"][path]["post"]["responses"], path
