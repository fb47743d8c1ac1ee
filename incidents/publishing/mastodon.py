"""The Mastodon publisher: POST /api/v1/statuses on the account's instance with its access token
(scope write:statuses), as documented at https://docs.joinmastodon.org/methods/statuses/#create."""

from __future__ import annotations

import json

from incidents.publishing import transport
from incidents.publishing.posts import Post, Published, PublishError, url_problem
from protocols.models import SocialAccount

STATUSES_PATH = "/api/v1/statuses"
# A reply answers someone in public, where the complaint was made, whatever the account's default
# visibility is ("unlisted" or "private" defaults would hide the brand's answer from everyone else).
REPLY_VISIBILITY = "public"


def statuses_url(account: SocialAccount) -> str:
    return account.mastodon_base_url.rstrip("/") + STATUSES_PATH


def publish(*, account: SocialAccount, post: Post) -> Published:
    """200 answers the new Status (its `id` and `url`). Mastodon keeps an Idempotency-Key for an hour
    and answers a repeat with the status it already made, so retries within that hour never post twice.
    401 (bad token), 403, 404 (e.g. the post being answered was deleted) and 422 (e.g. over the length
    limit) need a person; 408, 429 (rate limited until X-RateLimit-Reset), 5xx and network errors are
    retried."""
    if not account.mastodon_base_url or not account.mastodon_access_token:
        raise PublishError(
            f"The account {account.name} has no Mastodon instance URL or access token; an admin must set "
            "them.",
            retryable=False,
        )
    params: dict[str, str] = {"status": post.text, "visibility": REPLY_VISIBILITY}
    if post.in_reply_to:
        params["in_reply_to_id"] = post.in_reply_to
    url = statuses_url(account)
    answer = transport.post(
        url=url,
        body=json.dumps(params).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {account.mastodon_access_token}",
            "Idempotency-Key": post.idempotency_key,
        },
    )
    host = transport.where(url)
    if 200 <= answer.status < 300:
        return _published(answer, host=host)
    said = answer.error_text("error")
    raise PublishError(
        _refusal(answer, host=host, said=said, in_reply_to=post.in_reply_to),
        retryable=transport.is_retryable_status(answer.status),
    )


def _refusal(answer: transport.Answer, *, host: str, said: str, in_reply_to: str | None) -> str:
    status = answer.status
    quoted = f": {said}" if said else "."
    if transport.is_redirect(status):
        return (
            f"Mastodon at {host} answered with a redirect (HTTP {status}); posts are not sent on to another "
            "address. Check the account's instance URL."
        )
    if status == 401:
        return (
            f"Mastodon at {host} refused the access token{quoted} An admin must give the account a new one."
        )
    if status == 403:
        return f"Mastodon at {host} does not allow this account to post{quoted}"
    if status == 404 and in_reply_to:
        return f"Mastodon at {host} cannot find the post being answered (deleted or hidden?){quoted}"
    if status == 422:
        return f"Mastodon at {host} refused the post{quoted}"
    if status == 429:
        reset = answer.headers.get("X-RateLimit-Reset")
        return f"Mastodon at {host} is rate limiting this account" + (f" until {reset}." if reset else ".")
    return f"Mastodon at {host} answered HTTP {status}{quoted}"


def _published(answer: transport.Answer, *, host: str) -> Published:
    status = answer.json_object() or {}
    status_id = status.get("id")
    # `url` is the HTML page; `uri` the ActivityPub id, a fallback when an instance gives no url.
    url = status.get("url") or status.get("uri")
    if not isinstance(url, str) or url_problem(url) or status_id in (None, ""):
        raise PublishError(
            f"Mastodon at {host} answered 200 without the new post's id and URL.", retryable=False
        )
    return Published(url=url, external_id=str(status_id))
