"""Session limits on every request: a session is refused after a spell without activity, a fixed time
after signing in, or once its user signed out everywhere; a refused session is signed out."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from config.api_errors import error_body
from protocols.services.sessions import SEEN_AT, SIGNED_IN_AT
from protocols.session_selectors import sessions_ended_at

# The last-seen stamp is rewritten at most this often, so reading pages writes the session about once a
# minute instead of on every request; the idle limit is that much less precise.
SEEN_AT_PRECISION_SECONDS = 60
# app.js marks requests nobody asked for (timed refreshes): they must not keep an idle session alive.
BACKGROUND_HEADER = "X-Firebreak-Background"


class SessionExpiryMiddleware:
    """Runs after the session, auth and messages middleware. A refused session is signed out (its row
    deleted) and the request carries on as an anonymous one: pages send it to the login page with
    `?next=` (htmx requests with HX-Redirect) as for anyone signed out; an API request gets 401 here
    unless it also carries a token, which then answers for itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user_id = request.session.get(SESSION_KEY)
        if user_id is None:
            return self.get_response(request)
        now = timezone.now().timestamp()
        refusal = _refusal(request, user_id=int(user_id), now=now)
        if refusal is None:
            seen_at = request.session[SEEN_AT]
            if now - seen_at >= SEEN_AT_PRECISION_SECONDS and not request.headers.get(BACKGROUND_HEADER):
                request.session[SEEN_AT] = now
            return self.get_response(request)
        logout(request)
        if request.path.startswith("/api/"):
            if "HTTP_AUTHORIZATION" not in request.META:
                response = JsonResponse(error_body("session_expired", refusal), status=401)
                response["WWW-Authenticate"] = "Token"
                return response
        else:
            messages.info(request, refusal)
        return self.get_response(request)


def _refusal(request: HttpRequest, *, user_id: int, now: float) -> str | None:
    """Why the session may not go on (the message the user sees), or None."""
    session = request.session
    signed_in_at = session.get(SIGNED_IN_AT)
    seen_at = session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        return "Your session has ended. Please sign in again."
    idle_minutes = settings.FIREBREAK_SESSION_IDLE_MINUTES
    if now - seen_at > idle_minutes * 60:
        return f"You were signed out after {_duration(idle_minutes)} without activity. Please sign in again."
    max_hours = settings.FIREBREAK_SESSION_MAX_HOURS
    if now - signed_in_at > max_hours * 3600:
        return f"Sessions last at most {_duration(max_hours * 60)}. Please sign in again."
    if signed_in_at <= sessions_ended_at(user_id=user_id):
        return "You were signed out everywhere. Please sign in again."
    return None


def _duration(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
