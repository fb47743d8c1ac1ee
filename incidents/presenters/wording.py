"""How times, durations and people read on Firebreak's pages: ages, countdowns, "12 min ago",
"1 h 30 min", moments in the server's zone (the browser rewrites them in the viewer's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import dateformat, timezone


def user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def assignee_phrase(assignee: Any | None, *, viewer: Any) -> str:
    """Who an incident went to, as a flash message says it: "nobody", "you" or their name."""
    if assignee is None:
        return "nobody"
    return "you" if assignee.pk == viewer.pk else user_label(assignee)


def compact_age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h ago"
    days = hours // 24
    return f"{days}d ago" if days < 60 else f"{days // 30}mo ago"


def moment_text(moment: datetime) -> str:
    """A moment as the server writes it before the browser rewrites it in the viewer's time zone."""
    return dateformat.format(timezone.localtime(moment), "j M Y, H:i T")


def countdown_text(seconds: float) -> str:
    """Time left as a ticking countdown reads ("2d 4h", "3h 05m", "42m 05s", "8s"); sla.js mirrors it."""
    left = max(0, int(seconds))
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def since_text(seconds: float) -> str:
    """How long ago ("just now", "12 min ago", "3 h ago", "2 d ago"); sla.js mirrors it."""
    ago = max(0, int(seconds))
    if ago < 60:
        return "just now"
    if ago < 3_600:
        return f"{ago // 60} min ago"
    if ago < 48 * 3_600:
        return f"{ago // 3_600} h ago"
    return f"{ago // 86_400} d ago"


def duration_words(seconds: float) -> str:
    """A target or a paused time in words: "1 h", "1 h 30 min", "45 min", "20 s"."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3_600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
