"""Publisher adapters against real local servers: a fake Mastodon instance and a fake webhook bridge.
Each adapter's success, every kind of failure (retryable or not, and what the responder reads), retries
that never post twice, signatures a bridge can verify, and redirects that are never followed."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from incidents.publishing import (
    Post,
    Published,
    PublishError,
    manual_published,
    publish_post,
    sign_payload,
    verify_signature,
)
from protocols.models import PublisherKind, SocialAccount
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.webhook import FakeBridge

TOKEN = "mastodon-access-token"
SECRET = "bridge-signing-secret"


@pytest.fixture(autouse=True)
def _short_timeout(settings: Any) -> None:
    settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS = 1


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=TOKEN) as server:
        yield server


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    with FakeBridge(secret=SECRET) as server:
        yield server


def mastodon_account(
    server: FakeMastodon, *, token: str = TOKEN, base_url: str | None = None
) -> SocialAccount:
    return SocialAccount(
        name="Brand on Mastodon",
        platform="mastodon",
        handle="@brand@fake.social",
        publisher=PublisherKind.MASTODON,
        mastodon_base_url=base_url or server.base_url,
        mastodon_access_token=token,
    )


def webhook_account(url: str, *, secret: str = SECRET) -> SocialAccount:
    return SocialAccount(
        name="Brand on X",
        platform="x",
        handle="@brand",
        publisher=PublisherKind.WEBHOOK,
        webhook_url=url,
        webhook_secret=secret,
    )


def a_post(*, text: str = "Sorry about the delay, a new parcel is on its way.", **changes: Any) -> Post:
    fields: dict[str, Any] = {
        "text": text,
        "in_reply_to": None,
        "reply_id": 7,
        "incident_id": 42,
        "idempotency_key": "reply-7-v1",
        **changes,
    }
    return Post(**fields)


def refused(account: SocialAccount, post: Post) -> PublishError:
    with pytest.raises(PublishError) as caught:
        publish_post(account=account, post=post)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- signatures ----------------------------------------------------------------------------------------


def test_a_signature_verifies_only_the_same_body_secret_and_recent_time() -> None:
    body = b'{"event":"reply.publish","text":"hello"}'
    now = 1_780_000_000
    header = sign_payload(secret=SECRET, timestamp=now, body=body)
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature(secret=SECRET, header=header, body=body, now=now + 299)
    assert not verify_signature(secret=SECRET, header=header, body=body + b" ", now=now)
    assert not verify_signature(secret=SECRET, header=header, body=body.replace(b"hello", b"HELLO"), now=now)
    assert not verify_signature(secret="another secret", header=header, body=body, now=now)
    # A replay of a genuine request later (or a timestamp far ahead) is refused.
    assert not verify_signature(secret=SECRET, header=header, body=body, now=now + 301)
    assert not verify_signature(secret=SECRET, header=header, body=body, now=now - 301)
    assert verify_signature(secret=SECRET, header=header, body=body, now=now + 3000, tolerance_seconds=3600)
    # Restamping an old signature with a fresh time does not make it valid.
    restamped = header.replace(f"t={now}", f"t={now + 1000}")
    assert not verify_signature(secret=SECRET, header=restamped, body=body, now=now + 1000)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=,v1=00", "v1=abc", "t=1780000000", "t=abc,v1=00", "t=1780000000,t=1780000000,v1=00"],
)
def test_a_malformed_signature_header_is_not_valid(header: str) -> None:
    assert not verify_signature(secret=SECRET, header=header, body=b"{}", now=1_780_000_000)


def test_one_matching_signature_among_several_is_enough_while_a_secret_is_rotated() -> None:
    body = b"{}"
    now = 1_780_000_000
    old = sign_payload(secret="old secret", timestamp=now, body=body).split(",")[1]
    header = f"{sign_payload(secret=SECRET, timestamp=now, body=body)},{old}"
    assert verify_signature(secret=SECRET, header=header, body=body, now=now)
    assert verify_signature(secret="old secret", header=header, body=body, now=now)


# --- by hand ---------------------------------------------------------------------------------------------


def test_a_manual_account_asks_for_the_pasted_url() -> None:
    account = SocialAccount(name="Brand on TikTok", platform="tiktok", publisher=PublisherKind.MANUAL)
    problem = refused(account, a_post())
    assert problem.message == "This account is posted to by hand: paste the URL of the post"
    assert problem.retryable is False


def test_a_pasted_url_is_recorded_trimmed() -> None:
    published = manual_published(url="  https://www.tiktok.com/@brand/video/7312345678901234567 \n")
    assert published == Published(
        url="https://www.tiktok.com/@brand/video/7312345678901234567", external_id=""
    )
    assert manual_published(url="http://example.com/p/1").url == "http://example.com/p/1"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "Paste the URL"),
        ("   ", "Paste the URL"),
        ("javascript:alert(1)", "http:// or https://"),
        ("ftp://files.example.com/post", "http:// or https://"),
        ("www.example.com/post/1", "http:// or https://"),
        ("https://", "not a valid URL"),
        ("https://exa mple.com/post", "not a valid URL"),
        ("https://example.com/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_a_bad_pasted_url_is_refused_for_good(url: str, says: str) -> None:
    with pytest.raises(PublishError) as caught:
        manual_published(url=url)
    assert says in caught.value.message and caught.value.retryable is False


def test_a_switched_off_account_publishes_nothing(mastodon: FakeMastodon) -> None:
    account = mastodon_account(mastodon)
    account.is_active = False
    problem = refused(account, a_post())
    assert "switched off" in problem.message and problem.retryable is False
    assert mastodon.received == []


# --- webhook ---------------------------------------------------------------------------------------------


def test_webhook_posts_a_signed_payload_and_answers_the_bridge_url(bridge: FakeBridge) -> None:
    post = a_post(in_reply_to="1790000000000000001")
    published = publish_post(account=webhook_account(bridge.url), post=post)
    assert published == Published(url="https://social.example/brand/posts/1", external_id="post-1")
    assert bridge.posts == [
        {
            "event": "reply.publish",
            "reply_id": 7,
            "incident_id": 42,
            "text": post.text,
            "in_reply_to": "1790000000000000001",
            "account": {"name": "Brand on X", "platform": "x", "handle": "@brand"},
            "idempotency_key": "reply-7-v1",
        }
    ]
    (request,) = bridge.received
    assert request.path == bridge.path and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "reply-7-v1"
    assert bridge.verified == [True]
    timestamp = int(request.headers["x-firebreak-signature"].split(",")[0].removeprefix("t="))
    assert abs(timestamp - time.time()) < 60


def test_a_tampered_or_replayed_webhook_is_rejected_by_the_receiver(bridge: FakeBridge) -> None:
    publish_post(account=webhook_account(bridge.url), post=a_post())
    (request,) = bridge.received
    header = request.headers["x-firebreak-signature"]
    now = int(time.time())
    assert verify_signature(secret=SECRET, header=header, body=request.body, now=now)
    tampered = request.body.replace(b"new parcel", b"refund")
    assert not verify_signature(secret=SECRET, header=header, body=tampered, now=now)
    assert not verify_signature(secret=SECRET, header=header, body=request.body, now=now + 600)


def test_webhook_retry_with_the_same_key_posts_once(bridge: FakeBridge) -> None:
    account = webhook_account(bridge.url)
    first = publish_post(account=account, post=a_post())
    again = publish_post(account=account, post=a_post())
    assert first == again and len(bridge.posts) == 1 and len(bridge.received) == 2
    publish_post(account=account, post=a_post(idempotency_key="reply-7-v2"))
    assert len(bridge.posts) == 2


def test_webhook_retry_after_a_server_error_posts_once(bridge: FakeBridge) -> None:
    account = webhook_account(bridge.url)
    bridge.answer_next(503, {"error": "upstream busy"})
    problem = refused(account, a_post())
    assert problem.retryable is True and "HTTP 503: upstream busy" in problem.message
    assert publish_post(account=account, post=a_post()).url == "https://social.example/brand/posts/1"
    assert len(bridge.posts) == 1


@pytest.mark.parametrize(
    ("status", "body", "retryable", "says"),
    [
        (200, {}, False, "accepted the post but returned no URL"),
        (201, b"OK", False, "accepted the post but returned no URL"),
        (200, {"url": ""}, False, "accepted the post but returned no URL"),
        (200, {"url": "javascript:alert(1)"}, False, "returned an unusable URL"),
        (400, {"error": "Text is longer than 280 characters"}, False, "HTTP 400: Text is longer than 280"),
        (403, {"message": "The account was suspended"}, False, "HTTP 403: The account was suspended"),
        (404, b"no such hook", False, "HTTP 404: no such hook"),
        (422, {"detail": "in_reply_to not found"}, False, "HTTP 422: in_reply_to not found"),
        (408, {}, True, "HTTP 408"),
        (429, {"error": "slow down"}, True, "HTTP 429: slow down"),
        (500, b"<html>Internal Server Error</html>", True, "HTTP 500"),
        (502, b"", True, "HTTP 502"),
    ],
)
def test_webhook_answers_map_to_retryable_or_final_errors(
    bridge: FakeBridge, status: int, body: Any, retryable: bool, says: str
) -> None:
    bridge.answer_next(status, body)
    problem = refused(webhook_account(bridge.url), a_post())
    assert problem.retryable is retryable
    assert says in problem.message, problem.message
    assert f"127.0.0.1:{bridge.port}" in problem.message
    # The bridge's path can carry a secret; messages are shown to responders.
    assert bridge.path not in problem.message


def test_a_long_refusal_is_quoted_short(bridge: FakeBridge) -> None:
    bridge.answer_next(400, {"error": "no " * 1000})
    problem = refused(webhook_account(bridge.url), a_post())
    assert len(problem.message) < 400 and problem.message.endswith("…")


def test_a_wrong_signing_secret_is_refused_by_the_bridge(bridge: FakeBridge) -> None:
    problem = refused(webhook_account(bridge.url, secret="not the bridge's secret"), a_post())
    assert problem.retryable is False and "HTTP 401: signature does not verify" in problem.message
    assert bridge.verified == [False] and bridge.posts == []


def test_webhook_redirects_are_not_followed(bridge: FakeBridge) -> None:
    with FakeBridge(secret=SECRET) as elsewhere:
        bridge.answer_next(307, {}, headers={"Location": elsewhere.url})
        problem = refused(webhook_account(bridge.url), a_post())
        assert problem.retryable is False and "redirect (HTTP 307)" in problem.message
        assert elsewhere.received == []


def test_webhook_network_trouble_is_retryable(bridge: FakeBridge) -> None:
    port = closed_port()
    problem = refused(webhook_account(f"http://127.0.0.1:{port}/hook"), a_post())
    assert problem.retryable is True and problem.message == f"connection refused by 127.0.0.1:{port}"
    bridge.delay = 1.5
    problem = refused(webhook_account(bridge.url), a_post())
    assert problem.retryable is True and problem.message == "timed out after 1s"


def test_an_incomplete_webhook_account_is_not_tried() -> None:
    account = webhook_account("https://bridge.example/hook", secret="")
    problem = refused(account, a_post())
    assert problem.retryable is False and "signing secret" in problem.message
    problem = refused(webhook_account("ftp://bridge.example/hook"), a_post())
    assert problem.retryable is False and "not an http(s) URL" in problem.message


# --- Mastodon --------------------------------------------------------------------------------------------


def test_mastodon_reply_is_posted_in_the_thread(mastodon: FakeMastodon) -> None:
    complaint = mastodon.seed_status(text="@brand my parcel never arrived")
    post = a_post(in_reply_to=complaint)
    published = publish_post(account=mastodon_account(mastodon), post=post)
    (status,) = mastodon.statuses
    assert published == Published(url=status["url"], external_id=status["id"])
    assert published.url == f"{mastodon.base_url}/@brand/{status['id']}"
    assert status["in_reply_to_id"] == complaint and status["visibility"] == "public"
    assert status["params"]["status"] == post.text
    (request,) = mastodon.received
    assert request.path == "/api/v1/statuses"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == "reply-7-v1"


def test_mastodon_post_without_a_mention_is_a_new_status(mastodon: FakeMastodon) -> None:
    account = mastodon_account(mastodon, base_url=mastodon.base_url + "/")
    publish_post(account=account, post=a_post())
    (status,) = mastodon.statuses
    assert status["in_reply_to_id"] is None and "in_reply_to_id" not in status["params"]


def test_mastodon_same_idempotency_key_makes_one_status(mastodon: FakeMastodon) -> None:
    account = mastodon_account(mastodon)
    first = publish_post(account=account, post=a_post())
    again = publish_post(account=account, post=a_post())
    assert first == again and len(mastodon.statuses) == 1
    other = publish_post(account=account, post=a_post(idempotency_key="reply-7-v2"))
    assert other != first and len(mastodon.statuses) == 2


def test_mastodon_outage_then_retry_posts_once(mastodon: FakeMastodon) -> None:
    account = mastodon_account(mastodon)
    mastodon.fail_next(2, status=503)
    for _ in range(2):
        problem = refused(account, a_post())
        assert problem.retryable is True and "HTTP 503" in problem.message
    publish_post(account=account, post=a_post())
    publish_post(account=account, post=a_post())
    assert len(mastodon.statuses) == 1


def test_mastodon_rate_limit_is_retryable_and_says_until_when(mastodon: FakeMastodon) -> None:
    mastodon.fail_next(1, status=429)
    problem = refused(mastodon_account(mastodon), a_post())
    assert problem.retryable is True and "rate limiting this account until 20" in problem.message
    assert mastodon.statuses == []


def test_mastodon_refusals_that_need_a_person(mastodon: FakeMastodon) -> None:
    account = mastodon_account(mastodon)
    bad_token = refused(mastodon_account(mastodon, token="revoked"), a_post())
    assert bad_token.retryable is False
    assert "refused the access token: The access token is invalid" in bad_token.message

    too_long = refused(account, a_post(text="x" * 501))
    assert too_long.retryable is False
    assert "refused the post: Validation failed: Text character limit of 500 exceeded" in too_long.message

    blank = refused(account, a_post(text="   "))
    assert blank.retryable is False and "Text can't be blank" in blank.message

    complaint = mastodon.seed_status(text="@brand this is awful")
    mastodon.delete_status(complaint)
    gone = refused(account, a_post(in_reply_to=complaint))
    assert gone.retryable is False and "cannot find the post being answered" in gone.message
    assert "does not appear to exist" in gone.message
    assert mastodon.statuses == []


def test_mastodon_token_without_the_write_scope_is_refused() -> None:
    with FakeMastodon(token=TOKEN, scopes=("read",)) as server:
        problem = refused(mastodon_account(server), a_post())
    assert problem.retryable is False
    assert (
        "does not allow this account to post: This action is outside the authorized scopes" in problem.message
    )


def test_exactly_500_characters_is_fine(mastodon: FakeMastodon) -> None:
    publish_post(account=mastodon_account(mastodon), post=a_post(text="é" * 500))
    assert mastodon.statuses[0]["params"]["status"] == "é" * 500


def test_mastodon_redirects_are_not_followed(mastodon: FakeMastodon) -> None:
    with FakeMastodon(token=TOKEN) as elsewhere:
        mastodon.redirect_next(location=f"{elsewhere.base_url}/api/v1/statuses", status=308)
        problem = refused(mastodon_account(mastodon), a_post())
        assert problem.retryable is False and "redirect (HTTP 308)" in problem.message
        assert elsewhere.received == [] and mastodon.statuses == []


def test_mastodon_network_trouble_is_retryable(mastodon: FakeMastodon) -> None:
    port = closed_port()
    account = mastodon_account(mastodon, base_url=f"http://127.0.0.1:{port}")
    problem = refused(account, a_post())
    assert problem.retryable is True and problem.message == f"connection refused by 127.0.0.1:{port}"
    mastodon.delay = 1.5
    problem = refused(mastodon_account(mastodon), a_post())
    assert problem.retryable is True and "timed out" in problem.message
    # The instance did make that post; the retry with the same key answers it instead of posting again.
    mastodon.delay = 0
    publish_post(account=mastodon_account(mastodon), post=a_post())
    assert len(mastodon.statuses) == 1


def test_the_access_token_never_appears_in_an_error(mastodon: FakeMastodon) -> None:
    mastodon.fail_next(1, status=502)
    problem = refused(mastodon_account(mastodon), a_post())
    assert TOKEN not in problem.message and json.dumps(TOKEN) not in repr(problem)
