"""A fake webhook bridge for tests: checks X-Firebreak-Signature with verify_signature (401 when it does
not verify), answers the same post for a repeated Idempotency-Key, and can be scripted to answer anything
else (a refusal, no URL, a redirect, a server error)."""

from __future__ import annotations

import json
import time
from typing import Any

from incidents.publishing import verify_signature
from tests.fakes.server import LocalServer, Received, Reply


class FakeBridge(LocalServer):
    """`posts` holds the payload of every post made (a repeat of a known Idempotency-Key makes none);
    `verified` says, per request received, whether its signature verified."""

    def __init__(self, *, secret: str, post_url: str = "https://social.example/brand/posts") -> None:
        super().__init__(self._handle)
        self.secret = secret
        self.post_url = post_url
        self.posts: list[dict[str, Any]] = []
        self.verified: list[bool] = []
        self.by_idempotency_key: dict[str, dict[str, Any]] = {}
        self.script: list[Reply] = []
        self.path = "/hooks/firebreak/s3cr3t-path"
        self.url = f"{self.base_url}{self.path}"

    def answer_next(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None) -> None:
        """The next request (after its signature is checked) gets this answer; `body` is sent as JSON
        unless it is bytes."""
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        with self.lock:
            self.script.append(Reply(status, raw, {"Content-Type": "application/json", **(headers or {})}))

    def _handle(self, request: Received) -> Reply:
        valid = verify_signature(
            secret=self.secret,
            header=request.headers.get("x-firebreak-signature", ""),
            body=request.body,
            now=int(time.time()),
        )
        self.verified.append(valid)
        if not valid:
            return Reply(401, json.dumps({"error": "signature does not verify"}).encode())
        if self.script:
            return self.script.pop(0)
        key = request.headers.get("idempotency-key", "")
        if key not in self.by_idempotency_key:
            payload = json.loads(request.body)
            self.posts.append(payload)
            number = len(self.posts)
            self.by_idempotency_key[key] = {"url": f"{self.post_url}/{number}", "id": f"post-{number}"}
        return Reply(
            200, json.dumps(self.by_idempotency_key[key]).encode(), {"Content-Type": "application/json"}
        )
