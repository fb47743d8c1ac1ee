"""Rate limits: requests per minute per API token or per client address, counted in a fixed window in
Redis (the Django cache) with atomic increments, refused with 429 and `Retry-After`.

DRF's own throttles keep a list of timestamps per client that each request reads and writes back, so
two requests at once can both pass; an `INCR` cannot. The client address is DRF's: `REMOTE_ADDR`, or
the `X-Forwarded-For` entry `FIREBREAK_TRUSTED_PROXIES` hops back when a proxy sets it."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

from config.pages import error_response

WINDOW_SECONDS = 60


def window_count(*, scope: str, key: str, now: float) -> tuple[int, float]:
    """Counts one request against `key` in the current minute: (requests so far, seconds to its end)."""
    window = int(now // WINDOW_SECONDS)
    cache_key = f"fb:rate:{scope}:{key}:{window}"
    # add() is SET NX with the expiry, incr() is INCR: the count is exact under any concurrency.
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
    count = cache.incr(cache_key)
    return count, WINDOW_SECONDS - (now % WINDOW_SECONDS)


class PerMinuteThrottle(BaseThrottle):
    """A limit per minute read from a setting (0 switches it off) for the key a subclass names."""

    scope = ""
    setting = ""

    def __init__(self) -> None:
        self.wait_for: float | None = None

    def key(self, request: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        limit = int(getattr(settings, self.setting))
        key = self.key(request)
        if limit <= 0 or key is None:
            return True
        count, remaining = window_count(scope=self.scope, key=key, now=time.time())
        if count <= limit:
            return True
        self.wait_for = remaining
        return False

    def wait(self) -> float | None:
        return self.wait_for


class IntakePerTokenThrottle(PerMinuteThrottle):
    """Mentions pushed with one API token (a listening tool's integration)."""

    scope = "intake-token"
    setting = "FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN"

    def key(self, request: Any) -> str | None:
        token_id = getattr(getattr(request, "auth", None), "pk", None)
        return str(token_id) if token_id is not None else None


class IntakePerAddressThrottle(PerMinuteThrottle):
    """Mentions pushed from one client address, by token or signed webhook."""

    scope = "intake-ip"
    setting = "FIREBREAK_INTAKE_PER_MINUTE_PER_IP"

    def key(self, request: Any) -> str | None:
        return self.get_ident(request)


def login_wait(request: Any) -> float | None:
    """Seconds until this address may try to sign in again, or None while it is within the limit."""
    limit = int(settings.FIREBREAK_LOGIN_PER_MINUTE_PER_IP)
    if limit <= 0:
        return None
    address = BaseThrottle().get_ident(request)
    count, remaining = window_count(scope="login-ip", key=address, now=time.time())
    return remaining if count > limit else None


class LoginRateLimitMiddleware:
    """Sign-in attempts (POSTs to the login page) from one address beyond the limit per minute get 429
    and `Retry-After`, before any password is checked; the lockout per username and address (axes)
    is the second line, for someone trying one account slowly."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.method == "POST" and request.path == reverse("login"):
            wait = login_wait(request)
            if wait is not None:
                minutes = max(1, math.ceil(wait / 60))
                response = error_response(
                    request,
                    f"Too many sign-in attempts from your address. Try again in {minutes} minute"
                    f"{'s' if minutes > 1 else ''}.",
                    status=429,
                )
                response["Retry-After"] = str(math.ceil(wait))
                return response
        return self.get_response(request)
