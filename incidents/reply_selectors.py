"""Reads of replies: one reply with its versions and decisions, an incident's replies, the approval inbox
(what waits on the viewer's roles, oldest first), the difference between two versions, who is writing."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import (
    LIVE_CLOCK,
    REVIEW_STATES,
    ClockKind,
    Reply,
    ReplyDecision,
    ReplyVersion,
    SlaClock,
)
from incidents.services.replies import step_reference
from protocols.selectors import user_roles

User = get_user_model()
WRITING_TTL_SECONDS = 30  # the composer says "still writing" every 10 s


def _require_view(user: Any) -> None:
    if not policies.can(user=user, action="reply.view"):
        raise PermissionRefused("Your role does not allow this action.")


def reply_base(*, user: Any) -> QuerySet[Reply]:
    _require_view(user)
    return Reply.objects.select_related("incident", "author", "account", "edited_by", "published_by")


def reply_list(*, user: Any) -> QuerySet[Reply]:
    return reply_base(user=user).order_by("-created_at", "-id")


def _history() -> tuple[Prefetch, Prefetch]:
    """Every version's text and every decision, with their people: two queries for any number of replies."""
    return (
        Prefetch("versions", queryset=ReplyVersion.objects.select_related("edited_by").order_by("number")),
        Prefetch(
            "decisions",
            queryset=ReplyDecision.objects.select_related("decided_by").order_by("decided_at", "id"),
        ),
    )


def reply_get(*, user: Any, reply_id: int) -> Reply:
    reply = reply_base(user=user).prefetch_related(*_history()).filter(pk=reply_id).first()
    if reply is None:
        raise NotFound("Reply not found.")
    return reply


def replies_for_incident(*, user: Any, incident_id: int) -> list[Reply]:
    return list(
        reply_base(user=user)
        .prefetch_related(*_history())
        .filter(incident_id=incident_id)
        .order_by("created_at", "id")
    )


def approval_inbox(*, user: Any, limit: int = 100) -> list[Reply]:
    """Everything waiting on a decision the user may take: replies in a review stage whose deciding role
    the user holds and which the user did not write, oldest submission first."""
    _require_view(user)
    roles = sorted(user_roles(user=user))
    if not roles or not policies.can(user=user, action="reply.decide"):
        return []
    wrote = ReplyVersion.objects.filter(reply=OuterRef("pk"), edited_by=user)
    return list(
        Reply.objects.select_related("incident", "incident__category", "author", "mention")
        .filter(state__in=REVIEW_STATES, waiting_on_role__in=roles)
        .exclude(author=user)
        .exclude(Exists(wrote))
        .order_by("submitted_at", "id")[:limit]
    )


def approval_inbox_count(*, user: Any) -> int:
    if not policies.can(user=user, action="reply.decide"):
        return 0
    roles = sorted(user_roles(user=user))
    wrote = ReplyVersion.objects.filter(reply=OuterRef("pk"), edited_by=user)
    return (
        Reply.objects.filter(state__in=REVIEW_STATES, waiting_on_role__in=roles)
        .exclude(author=user)
        .exclude(Exists(wrote))
        .count()
    )


def replies_fingerprint(*, user: Any, incident_id: int) -> str:
    """Changes whenever a reply of the incident changes (text, state, publishing outcome, a new reply):
    the incident page's live refresh compares it with the one it shows."""
    _require_view(user)
    rows = Reply.objects.filter(incident_id=incident_id).order_by("id")
    parts = rows.values_list("id", "updated_at", "publish_status", "publish_attempts")
    return hashlib.sha1(repr(list(parts)).encode(), usedforsecurity=False).hexdigest()[:16]


def reply_step_clocks(*, replies: list[Reply]) -> dict[int, SlaClock]:
    """The live clock of the step each reply waits in (since when, and its deadline), by reply id: one
    query for any number of replies."""
    references = {step_reference(r): r.pk for r in replies if r.current_step is not None}
    if not references:
        return {}
    clocks = SlaClock.objects.filter(LIVE_CLOCK, kind=ClockKind.APPROVAL_STEP, reference__in=list(references))
    return {references[clock.reference]: clock for clock in clocks}


@dataclass(frozen=True)
class DiffLine:
    op: str  # " " same, "-" removed, "+" added
    text: str


def version_diff(*, old: str, new: str) -> list[DiffLine]:
    """Word-level difference between two versions, for reviewers who saw the earlier text."""
    a, b = old.split(" "), new.split(" ")
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines.append(DiffLine(" ", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            lines.append(DiffLine("-", " ".join(a[i1:i2])))
        if j2 > j1:
            lines.append(DiffLine("+", " ".join(b[j1:j2])))
    return lines


def reply_diff_from_reviewed(*, reply: Reply) -> list[DiffLine] | None:
    """The change since the last version someone decided on (None when there is no earlier version)."""
    versions = {v.number: v for v in reply.versions.all()}
    decided = sorted({d.version for d in reply.decisions.all() if d.version < reply.version})
    base = decided[-1] if decided else (reply.version - 1 if reply.version > 1 else None)
    if base is None or base not in versions or reply.version not in versions:
        return None
    return version_diff(old=versions[base].body, new=versions[reply.version].body)


# --- who is writing ------------------------------------------------------------------------------------


def _writing_key(incident_id: int) -> str:
    return f"firebreak:writing:{incident_id}"


def reply_writing_touch(*, user: Any, incident_id: int) -> None:
    """The composer's heartbeat: the user is writing on this incident (for the next 30 s)."""
    now = timezone.now().timestamp()
    key = _writing_key(incident_id)
    writers: dict[str, float] = cache.get(key) or {}
    writers = {uid: at for uid, at in writers.items() if now - at < WRITING_TTL_SECONDS}
    writers[str(user.pk)] = now
    cache.set(key, writers, WRITING_TTL_SECONDS)


def reply_writing_stop(*, user: Any, incident_id: int) -> None:
    key = _writing_key(incident_id)
    writers: dict[str, float] = cache.get(key) or {}
    if writers.pop(str(user.pk), None) is not None:
        cache.set(key, writers, WRITING_TTL_SECONDS)


def reply_writers(*, user: Any, incident_id: int) -> list[str]:
    """The names of the other people writing a reply on this incident right now."""
    now = timezone.now().timestamp()
    writers: dict[str, float] = cache.get(_writing_key(incident_id)) or {}
    ids = [int(uid) for uid, at in writers.items() if now - at < WRITING_TTL_SECONDS and uid != str(user.pk)]
    if not ids:
        return []
    people = User.objects.filter(pk__in=ids).order_by("first_name", "username")
    return [p.get_full_name() or p.get_username() for p in people]
