"""Publisher adapters: how an approved reply reaches the brand's account (by hand with a pasted URL, a
signed webhook to a bridge, or the Mastodon REST API) behind one call that answers a URL or a PublishError.

Callers use `publish_post` outside any database transaction (it talks to the network) and retry a
`PublishError` whose `retryable` is true with the same `Post.idempotency_key`, so a retry after a lost
answer never posts twice."""

from incidents.publishing.adapters import publish_post
from incidents.publishing.posts import Post, Published, PublishError, manual_published
from incidents.publishing.signing import sign_payload, verify_signature

__all__ = [
    "Post",
    "PublishError",
    "Published",
    "manual_published",
    "publish_post",
    "sign_payload",
    "verify_signature",
]
