"""How incidents read on a page: compact ages for queue rows, timeline events as labelled changes, and
people named the way the team knows them. Pure formatting; no queries, no writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from incidents.models import Incident, IncidentStatus, TimelineEvent
from protocols.models import Platform, Priority, Role


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


@dataclass(frozen=True)
class QueueRow:
    incident: Incident
    age: str
    is_mine: bool


def queue_rows(incidents: Iterable[Incident], *, user: Any) -> list[QueueRow]:
    now = timezone.now()
    return [QueueRow(i, compact_age(now, i.created_at), i.assignee_id == user.pk) for i in incidents]


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None when the event set the value rather than changed it
    after: str


@dataclass(frozen=True)
class TimelineEntry:
    event: TimelineEvent
    changes: list[Change]
    mention_id: int | None


CHANGE_FIELDS = (
    ("title", "Title"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("category_id", "Category"),
    ("assignee", "Assignee"),
    ("assigned_role", "Assigned role"),
    ("platform", "Platform"),
    ("follow_up_required", "Follow-up Required"),
    ("tags", "Tags"),
    ("products", "Products"),
    ("description", "Issue Description"),
    ("rules", "Rules"),
)
VALUE_LABELS = {
    "status": dict(IncidentStatus.choices),
    "priority": dict(Priority.choices),
    "assigned_role": dict(Role.choices),
    "platform": dict(Platform.choices),
}
_MISSING = object()


def _shown(key: str, value: Any, category_names: dict[int, str]) -> str:
    if value is None or value in ("", []):
        return "none"
    if key == "assignee":
        if not isinstance(value, dict):
            return str(value)
        # Events recorded before the name was stored carry only the username.
        return str(value.get("name") or value.get("username", "?"))
    if key == "category_id":
        return category_names.get(value, f"#{value}")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(VALUE_LABELS.get(key, {}).get(value, value))
    return text if len(text) <= 140 else text[:139] + "…"


def timeline_entry(event: TimelineEvent, category_names: dict[int, str]) -> TimelineEntry:
    before, after = event.before or {}, event.after or {}
    names = dict(category_names)
    if after.get("category_id") is not None and after.get("category"):
        names.setdefault(after["category_id"], str(after["category"]))
    changes = []
    for key, label in CHANGE_FIELDS:
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if new is _MISSING or old == new or (old is _MISSING and new in (None, "", [])):
            continue
        shown_old = None if old is _MISSING else _shown(key, old, names)
        changes.append(Change(label, shown_old, _shown(key, new, names)))
    mention_id = after.get("mention_id")
    return TimelineEntry(event, changes, mention_id if isinstance(mention_id, int) else None)
