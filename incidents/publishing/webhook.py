"""The webhook publisher: a signed JSON POST to the account's bridge (Zapier, Make, n8n, an in-house
service), which posts the reply on the platform and answers the post's URL."""

from __future__ import annotations

import json
import time

from incidents.publishing import transport
from incidents.publishing.posts import Post, Published, PublishError, url_problem
from incidents.publishing.signing import SIGNATURE_HEADER, sign_payload
from protocols.models import SocialAccount

EVENT = "reply.publish"


def webhook_body(*, account: SocialAccount, post: Post) -> bytes:
    """The exact bytes that are signed and sent."""
    payload = {
        "event": EVENT,
        "reply_id": post.reply_id,
        "incident_id": post.incident_id,
        "text": post.text,
        "in_reply_to": post.in_reply_to,
        "account": {"name": account.name, "platform": account.platform, "handle": account.handle},
        "idempotency_key": post.idempotency_key,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def publish(*, account: SocialAccount, post: Post) -> Published:
    """2xx with {"url", optional "id"} is the post; a 4xx other than 408/429 is the bridge refusing it
    (not retried, its message shown); 408, 429, 5xx, timeouts and network errors are retried. The bridge
    is expected to honour Idempotency-Key, and to verify the signature and its timestamp."""
    if not account.webhook_url or not account.webhook_secret:
        raise PublishError(
            f"The account {account.name} has no webhook URL or signing secret; an admin must set them.",
            retryable=False,
        )
    body = webhook_body(account=account, post=post)
    signature = sign_payload(secret=account.webhook_secret, timestamp=int(time.time()), body=body)
    answer = transport.post(
        url=account.webhook_url,
        body=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature,
            "Idempotency-Key": post.idempotency_key,
        },
    )
    host = transport.where(account.webhook_url)
    if transport.is_redirect(answer.status):
        raise PublishError(
            f"The bridge at {host} answered with a redirect (HTTP {answer.status}); posts are not sent on "
            "to another address. Check the account's webhook URL.",
            retryable=False,
        )
    if 200 <= answer.status < 300:
        return _published(answer, host=host)
    said = answer.error_text("error", "message", "detail")
    message = f"The bridge at {host} answered HTTP {answer.status}" + (f": {said}" if said else ".")
    raise PublishError(message, retryable=transport.is_retryable_status(answer.status))


def _published(answer: transport.Answer, *, host: str) -> Published:
    data = answer.json_object() or {}
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise PublishError(f"The bridge at {host} accepted the post but returned no URL.", retryable=False)
    problem = url_problem(url.strip())
    if problem:
        raise PublishError(
            f"The bridge at {host} accepted the post but returned an unusable URL: {problem}", retryable=False
        )
    external_id = data.get("id")
    return Published(url=url.strip(), external_id="" if external_id is None else str(external_id)[:200])
