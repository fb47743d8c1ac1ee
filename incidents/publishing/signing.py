"""Signatures of outbound webhook bodies, Stripe style: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>." + body>`, so a receiver can check who sent the body and refuse an old one replayed later."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Firebreak-Signature"


def _digest(*, secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_payload(*, secret: str, timestamp: int, body: bytes) -> str:
    """The X-Firebreak-Signature header value for `body` sent at `timestamp` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(secret=secret, timestamp=timestamp, body=body)}"


def verify_signature(
    *, secret: str, header: str, body: bytes, now: int, tolerance_seconds: int = 300
) -> bool:
    """Whether `header` signs exactly `body` with `secret` and was made within `tolerance_seconds` of
    `now` (either way, for clock skew). Several v1 entries are allowed (one per secret while a secret is
    being rotated); one match is enough. A malformed header is simply not valid."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                return False
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret=secret, timestamp=timestamp, body=body)
    # Every candidate is compared, so the time taken does not tell which one (if any) matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)
