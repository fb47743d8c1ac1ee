"""The one entry point: publish a post through the adapter the account's publisher names."""

from __future__ import annotations

from collections.abc import Callable

from incidents.publishing import mastodon, webhook
from incidents.publishing.posts import Post, Published, PublishError
from protocols.models import PublisherKind, SocialAccount

MANUAL_MESSAGE = "This account is posted to by hand: paste the URL of the post"


def _manual(*, account: SocialAccount, post: Post) -> Published:
    # Nothing can post for a person; the caller records their pasted URL with manual_published.
    raise PublishError(MANUAL_MESSAGE, retryable=False)


ADAPTERS: dict[str, Callable[..., Published]] = {
    PublisherKind.MANUAL: _manual,
    PublisherKind.WEBHOOK: webhook.publish,
    PublisherKind.MASTODON: mastodon.publish,
}


def publish_post(*, account: SocialAccount, post: Post) -> Published:
    """Posts `post` to `account` and answers where it now lives; raises PublishError otherwise. Talks to
    the network (up to FIREBREAK_WEBHOOK_TIMEOUT_SECONDS), so call it outside a database transaction."""
    if not account.is_active:
        raise PublishError(
            f"The account {account.name} is switched off; an admin must switch it on first.", retryable=False
        )
    adapter = ADAPTERS.get(account.publisher)
    if adapter is None:
        raise PublishError(f"No publisher is called {account.publisher!r}.", retryable=False)
    return adapter(account=account, post=post)
