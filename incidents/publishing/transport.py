"""One HTTP POST for the publishers: no redirects followed, a timeout from settings, a bounded answer,
and network trouble turned into a retryable PublishError worded like notification delivery errors."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from incidents.publishing.posts import PublishError

# The outbox's opener refuses redirects (a redirect would drop the POST body or send it elsewhere) and
# its wording of network errors is what admins already read in last_error; publishers share both.
from incidents.services.notifications import _OPENER, _network_error

# A publisher's answer is a small JSON object; anything beyond this is not read.
ANSWER_MAX_BYTES = 256 * 1024
# How much of a refusal's text is quoted back to the responder.
QUOTE_MAX_CHARS = 300


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def error_text(self, *keys: str) -> str:
        """What the answer says went wrong: the first of `keys` holding a string in a JSON body, else
        the body's text (shortened); "" when it says nothing."""
        data = self.json_object()
        if data is not None:
            for key in keys:
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    return _shorten(value)
            return ""
        return _shorten(self.body.decode("utf-8", errors="replace"))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_MAX_CHARS else text[: QUOTE_MAX_CHARS - 1] + "…"


def where(url: str) -> str:
    """Host and port only: a bridge's URL may carry a secret in its path, and messages are shown."""
    parts = urlsplit(url)
    try:
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        raise PublishError("The account's URL has an invalid port.", retryable=False) from None


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POSTs `body` and returns whatever HTTP status came back (a 3xx is returned, not followed).
    Network errors and timeouts raise a retryable PublishError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError("The account's URL is not an http(s) URL.", retryable=False)
    host = where(url)
    timeout = settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=body, method="POST", headers={"User-Agent": "Firebreak", **headers}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read(ANSWER_MAX_BYTES))
    except urllib.error.HTTPError as exc:
        try:
            return Answer(exc.code, exc.headers, exc.read(ANSWER_MAX_BYTES))
        except (OSError, http.client.HTTPException):
            return Answer(exc.code, exc.headers, b"")
        finally:
            exc.close()
    except urllib.error.URLError as exc:
        raise PublishError(_network_error(exc.reason, where=host, timeout=timeout), retryable=True) from None
    except (OSError, http.client.HTTPException) as exc:
        # A timeout while reading the answer lands here: the post may have been made, which is why every
        # retry carries the same idempotency key.
        raise PublishError(_network_error(exc, where=host, timeout=timeout), retryable=True) from None


def is_redirect(status: int) -> bool:
    return 300 <= status < 400


def is_retryable_status(status: int) -> bool:
    """Request timeout, rate limited, or the server's fault: the same post may go through later."""
    return status in (408, 429) or status >= 500
