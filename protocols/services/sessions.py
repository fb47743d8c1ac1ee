"""Sign-in sessions: stamping a session when someone signs in, ending every session of a user at once
("sign out everywhere", offboarding) and lifting a sign-in lockout."""

from __future__ import annotations

from typing import Any

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config.errors import NotFound
from protocols.models import SessionFence
from protocols.services.common import require
from protocols.session_selectors import FENCE_CACHE_SECONDS, session_fence_key

REFUSAL = "Only admins end other people's sessions or unlock their sign-in."
# Keys this app keeps in every signed-in session (epoch seconds).
SIGNED_IN_AT = "firebreak_signed_in_at"
SEEN_AT = "firebreak_seen_at"


def session_start(*, request: HttpRequest) -> None:
    """Stamps a session as it is signed in (login() has just given it a new key): when, for the
    absolute limit and the fence, and the last request the user made, for the idle limit."""
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now


def _user(*, user_id: int) -> Any:
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    return user


@transaction.atomic
def user_sessions_end(*, actor: Any, user_id: int) -> SessionFence:
    """Ends every session the user has, in every browser, this one included: sessions signed in before
    now are refused on their next request (and their rows deleted then).

    A per-user fence rather than deleting session rows: deleting needs an index from user to sessions
    (Django keeps none; the old way decoded every session in the table), while the fence is one row
    written here and one cached read per request, and it works with any session engine, signed
    cookies included. Anyone may end their own sessions; only admins end someone else's."""
    if actor.pk != user_id:
        require(actor=actor, action="access.manage", refusal=REFUSAL)
    user = _user(user_id=user_id)
    now = timezone.now()
    fence, created = SessionFence.objects.select_for_update().get_or_create(
        user=user, defaults={"sessions_ended_at": now}
    )
    if not created and fence.sessions_ended_at < now:
        SessionFence.objects.filter(pk=fence.pk).update(sessions_ended_at=now)
        fence.sessions_ended_at = now
    key = session_fence_key(user_id=user.pk)
    ended_at = fence.sessions_ended_at.timestamp()
    # Forget the cached value now (this transaction's reads see the new row) and store the new one once
    # it is committed, so no reader keeps the old moment.
    cache.delete(key)
    transaction.on_commit(lambda: cache.set(key, ended_at, FENCE_CACHE_SECONDS))
    return fence


def user_sign_in_unlock(*, actor: Any, user_id: int) -> int:
    """Lifts every sign-in lockout of the user's username (from any address); returns how many
    lockout records were removed (0: nothing was locked)."""
    require(actor=actor, action="access.manage", refusal=REFUSAL)
    user = _user(user_id=user_id)
    return int(axes_reset(username=user.get_username()))
