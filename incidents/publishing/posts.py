"""What a publisher is given (Post), what it answers (Published) and how it fails (PublishError), plus
the check a URL must pass before it is recorded as the place a reply was posted."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# Reply.published_url holds this much; a longer URL could not be stored.
URL_MAX_LENGTH = 2000
_URL_VALIDATOR = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class Post:
    """One reply to post. `in_reply_to` is the platform's id of the mention being answered
    (Mention.external_id), or None for a post that answers nothing in particular. The idempotency key
    must stay the same across retries of the same reply version: the bridge or Mastodon uses it to
    answer a retry with the post it already made."""

    text: str
    in_reply_to: str | None
    reply_id: int
    incident_id: int
    idempotency_key: str


@dataclass(frozen=True)
class Published:
    """Where the reply now lives: its public URL and the platform's id for it ("" when unknown)."""

    url: str
    external_id: str


class PublishError(Exception):
    """A post that did not go out. `message` is shown to the responder as is; `retryable` says whether
    the same post may succeed later (network trouble, rate limits, a server error) or needs a person
    (a refused token, a post over the length limit, a deleted post being answered)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"PublishError({self.message!r}, retryable={self.retryable})"


def url_problem(url: str) -> str | None:
    """Why `url` cannot be recorded as a post's address, or None when it can."""
    if not url:
        return "Paste the URL of the post."
    if len(url) > URL_MAX_LENGTH:
        return f"The URL is longer than {URL_MAX_LENGTH} characters."
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        return "The URL of the post must start with http:// or https://."
    try:
        _URL_VALIDATOR(url)
    except ValidationError:
        return "That is not a valid URL."
    return None


def manual_published(*, url: str) -> Published:
    """The outcome of a post made by hand: the URL the responder pasted, checked. A bad URL raises a
    PublishError that is not retryable (the responder must paste another)."""
    url = url.strip()
    problem = url_problem(url)
    if problem:
        raise PublishError(problem, retryable=False)
    return Published(url=url, external_id="")
