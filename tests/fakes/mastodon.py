"""A fake Mastodon instance for tests: POST /api/v1/statuses as docs.joinmastodon.org documents it (bearer
token, Idempotency-Key, in_reply_to_id, the 500-character limit and Mastodon's {"error": ...} bodies),
plus scripted failures (503, 429 with rate-limit headers, redirects) and a record of accepted posts."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.server import LocalServer, Received, Reply

STATUSES_PATH = "/api/v1/statuses"
VISIBILITIES = ("public", "unlisted", "private", "direct")
# Mastodon's own wording (config/locales/en.yml, app/controllers/api/v1/statuses_controller.rb).
INVALID_TOKEN = "The access token is invalid"
REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."
BLANK = "Validation failed: Text can't be blank"
TOO_MANY_REQUESTS = "Too many requests"
OUTSIDE_SCOPES = "This action is outside the authorized scopes"


@dataclass
class Scripted:
    status: int
    location: str = ""


class FakeMastodon(LocalServer):
    """`statuses` holds every status the brand's account posted (in order), each as the Status JSON it
    was answered with plus the raw `params`; `seed_status` adds someone else's post to reply to."""

    def __init__(
        self,
        *,
        token: str,
        username: str = "brand",
        max_chars: int = 500,
        scopes: tuple[str, ...] = ("read", "write:statuses"),
    ) -> None:
        super().__init__(self._handle)
        self.token = token
        self.username = username
        self.max_chars = max_chars
        self.scopes = scopes
        self.statuses: list[dict[str, Any]] = []
        self.known: dict[str, dict[str, Any]] = {}
        self.by_idempotency_key: dict[tuple[str, str], dict[str, Any]] = {}
        self.script: list[Scripted] = []
        self.account_ids: dict[str, str] = {}
        self._next_id = 110_000_000_000_000_001

    # --- what a test sets up ------------------------------------------------------------------

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """The next `count` requests answer `status` before anything else is looked at (as a proxy or
        Mastodon's rate limiter would): 429 with the X-RateLimit headers, 5xx with an HTML error page."""
        with self.lock:
            self.script.extend(Scripted(status) for _ in range(count))

    def redirect_next(self, *, location: str, status: int = 301) -> None:
        with self.lock:
            self.script.append(Scripted(status, location))

    def seed_status(self, *, text: str, username: str = "customer") -> str:
        """A post by someone else (the mention being answered); returns its id."""
        with self.lock:
            return str(
                self._store(text=text, username=username, in_reply_to_id=None, visibility="public")["id"]
            )

    def delete_status(self, status_id: str) -> None:
        with self.lock:
            self.known.pop(status_id, None)

    # --- the API --------------------------------------------------------------------------------

    def _store(
        self, *, text: str, username: str, in_reply_to_id: str | None, visibility: str
    ) -> dict[str, Any]:
        status_id = str(self._next_id)
        self._next_id += 1
        parent = self.known.get(in_reply_to_id or "")
        status = {
            "id": status_id,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": "en",
            "uri": f"{self.base_url}/users/{username}/statuses/{status_id}",
            "url": f"{self.base_url}/@{username}/{status_id}",
            "content": f"<p>{html.escape(text)}</p>",
            "account": {
                "id": self.account_ids.setdefault(username, str(len(self.account_ids) + 1)),
                "username": username,
                "acct": username,
            },
            "application": {"name": "Firebreak", "website": None},
        }
        self.known[status_id] = status
        return status

    def _handle(self, request: Received) -> Reply:
        if self.script:
            return self._scripted(self.script.pop(0))
        if request.method != "POST" or request.path.split("?", 1)[0] != STATUSES_PATH:
            return _error(404, "Record not found")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, INVALID_TOKEN)
        if "write:statuses" not in self.scopes and "write" not in self.scopes:
            return _error(403, OUTSIDE_SCOPES)
        params = _params(request)
        in_reply_to_id = params.get("in_reply_to_id") or None
        if in_reply_to_id is not None and in_reply_to_id not in self.known:
            return _error(404, REPLY_NOT_FOUND)
        key = request.headers.get("idempotency-key", "")
        if key and (self.token, key) in self.by_idempotency_key:
            return _ok(self.by_idempotency_key[(self.token, key)])
        text = params.get("status", "")
        if not text.strip():
            return _error(422, BLANK)
        if len(text) > self.max_chars:
            return _error(422, f"Validation failed: Text character limit of {self.max_chars} exceeded")
        visibility = params.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            return _error(422, "Validation failed: Visibility is not included in the list")
        status = self._store(
            text=text, username=self.username, in_reply_to_id=in_reply_to_id, visibility=visibility
        )
        self.statuses.append({**status, "params": params})
        if key:
            self.by_idempotency_key[(self.token, key)] = status
        return _ok(status)

    def _scripted(self, scripted: Scripted) -> Reply:
        if 300 <= scripted.status < 400:
            return Reply(scripted.status, b"", {"Location": scripted.location})
        if scripted.status == 429:
            reset = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="microseconds")
            reply = _error(429, TOO_MANY_REQUESTS)
            reply.headers.update(
                {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            )
            return reply
        page = f"<html><body><h1>{scripted.status} Service Unavailable</h1></body></html>".encode()
        return Reply(scripted.status, page, {"Content-Type": "text/html"})


def _params(request: Received) -> dict[str, str]:
    """Mastodon takes form data or JSON alike."""
    if request.headers.get("content-type", "").startswith("application/json"):
        data = json.loads(request.body or b"{}")
        return {key: "" if value is None else str(value) for key, value in data.items()}
    return {key: values[0] for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def _ok(status: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(status).encode(), {"Content-Type": "application/json; charset=utf-8"})


def _error(code: int, message: str) -> Reply:
    return Reply(code, json.dumps({"error": message}).encode(), {"Content-Type": "application/json"})
