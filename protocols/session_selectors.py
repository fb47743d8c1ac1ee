"""Reads for sign-in sessions: the moment a user's sessions were last ended all at once, cached in Redis
so the session middleware asks PostgreSQL once per user and day, not once per request."""

from __future__ import annotations

from django.core.cache import cache

from protocols.models import SessionFence

FENCE_CACHE_SECONDS = 24 * 3600
NO_FENCE = 0.0


def session_fence_key(*, user_id: int) -> str:
    return f"firebreak:sessions-ended-at:{user_id}"


def sessions_ended_at(*, user_id: int) -> float:
    """Epoch seconds of the user's last "sign out everywhere" (0.0: never). A miss is filled with add(),
    never set(), so a value read before a concurrent sign-out cannot overwrite the one it stores."""
    key = session_fence_key(user_id=user_id)
    cached = cache.get(key)
    if cached is not None:
        return float(cached)
    fence = SessionFence.objects.filter(user_id=user_id).values_list("sessions_ended_at", flat=True).first()
    ended_at = fence.timestamp() if fence is not None else NO_FENCE
    cache.add(key, ended_at, FENCE_CACHE_SECONDS)
    return ended_at
