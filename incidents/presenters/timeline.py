"""The incident's timeline as a person reads it: each event with its changes as labelled before ->
after lines, the response-time events (warnings, breaches, escalation steps, recomputed deadlines,
responses, acknowledgements), checklist answers, the replies' steps (drafted, submitted, decided,
published), merges of duplicates and satisfaction surveys (sent, answered) included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.models import EventKind, IncidentStatus, ReplyState, SurveyLanguage, TimelineEvent
from incidents.presenters.checklist import answer_moment, answer_text
from incidents.presenters.clocks import clock_label, step_timing, step_title
from incidents.presenters.wording import moment_text
from protocols.models import ApprovalStage, Platform, Priority, Role

TARGET_RESULTS = {"met": "met", "missed": "missed (answered late)"}


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None when the event set the value rather than changed it
    after: str
    # Set when the value is a moment: the page shows it in the viewer's time zone, the text is the fallback.
    before_at: datetime | None = None
    after_at: datetime | None = None


@dataclass(frozen=True)
class TimelineEntry:
    event: TimelineEvent
    changes: list[Change]
    mention_id: int | None
    reply_id: int | None = None
    # Merges: the other incident (its timeline keeps its own events) and the merge, to undo it.
    other_incident_id: int | None = None
    merge_id: int | None = None


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


def timeline_entry(
    event: TimelineEvent, category_names: dict[int, str], user_names: dict[int, str] | None = None
) -> TimelineEntry:
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
    sla_changes = SLA_CHANGES.get(event.kind)
    if sla_changes is not None:
        changes.extend(sla_changes(before, after, user_names or {}))
    mention_id = after.get("mention_id")
    reply_id = after.get("reply_id") if event.kind in (*REPLY_EVENTS, EventKind.SURVEY_CREATED) else None
    is_merge = event.kind in MERGE_EVENTS
    other, merge_id = after.get("other_incident"), after.get("merge_id")
    return TimelineEntry(
        event,
        changes,
        mention_id if isinstance(mention_id, int) else None,
        reply_id if isinstance(reply_id, int) else None,
        other if is_merge and isinstance(other, int) else None,
        merge_id if is_merge and isinstance(merge_id, int) else None,
    )


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _moment_change(label: str, before: Any, after: Any) -> Change:
    old, new = _moment(before), _moment(after)
    return Change(
        label,
        moment_text(old) if old else "none",
        moment_text(new) if new else "none",
        before_at=old,
        after_at=new,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _target(after: dict[str, Any]) -> list[Change]:
    return [Change("Target", None, clock_label(str(after["clock"])))] if after.get("clock") else []


def _warned_or_breached(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    due = _moment(after.get("due_at"))
    deadline = [Change("Deadline", None, moment_text(due), after_at=due)] if due else []
    policy = [Change("Policy", None, str(after["policy"]))] if after.get("policy") else []
    return _target(after) + deadline + policy


def _escalated(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    step = _mapping(after.get("step"))
    lines = [*_target(after), Change("Step", None, f"{step_title(step, users)}, {step_timing(step)}")]
    if after.get("repeat"):
        lines.append(Change("Reminder", None, f"number {after['repeat']}"))
    return lines


def _deadlines_changed(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    lines = []
    for clock in after:
        old, new, label = _mapping(before.get(clock)), _mapping(after.get(clock)), clock_label(clock)
        if old.get("due_at") != new.get("due_at"):
            lines.append(_moment_change(f"{label} deadline", old.get("due_at"), new.get("due_at")))
        if old.get("policy") != new.get("policy"):
            lines.append(Change(f"{label} policy", old.get("policy") or "none", new.get("policy") or "none"))
    return lines


def _responded(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    results = _mapping(after.get("targets"))
    lines = [
        Change(f"{clock_label(clock)} target", None, TARGET_RESULTS.get(result, str(result)))
        for clock, result in results.items()
    ]
    if after.get("first_response") and not results:
        lines.append(Change("First response", None, "recorded"))
    return lines


def _acknowledged(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    if "escalations_stopped" not in after:
        return []
    stopped = after["escalations_stopped"]
    text = f"stopped on {stopped} target{'' if stopped == 1 else 's'}" if stopped else "none were pending"
    return [Change("Pending escalations", None, text)]


def _crisis_requested(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    return _target(after)


def _merged(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    """What moved between the two incidents, and the survivor's deadlines that moved earlier."""
    lines = [
        Change(label.capitalize(), None, str(after[key]))
        for key, label in (("mentions", "mentions moved"), ("replies", "replies moved"))
        if key in after
    ]
    for clock, moved in _mapping(after.get("deadlines")).items():
        moved = _mapping(moved)
        lines.append(
            _moment_change(f"{clock_label(clock)} deadline", moved.get("before"), moved.get("after"))
        )
    return lines


def _answered(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    """The question, and its answer before -> after (only after, the first time it was answered)."""
    kind = str(after.get("kind", ""))
    old, new = before.get("answer"), after.get("answer")
    return [
        Change(
            str(after.get("question", "Answer")),
            answer_text(kind, old) if "answer" in before else None,
            answer_text(kind, new),
            before_at=answer_moment(kind, old),
            after_at=answer_moment(kind, new),
        )
    ]


REPLY_STATES = dict(ReplyState.choices)
STAGE_LABELS = dict(ApprovalStage.choices)


def _reply(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    """Which reply and version, its state before -> after, and what the step was about."""
    lines = []
    if after.get("reply_id") is not None:
        lines.append(Change("Reply", None, f"#{after['reply_id']}, version {after.get('version', 1)}"))
    old, new = before.get("state"), after.get("state")
    if new:
        shown_new = str(REPLY_STATES.get(new, new))
        lines.append(
            Change("State", str(REPLY_STATES.get(old, old)) if old and old != new else None, shown_new)
        )
    if after.get("stage"):
        stage = str(after["stage"])
        lines.append(Change("Step", None, STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())))
    if after.get("waiting_on"):
        role = str(after["waiting_on"])
        lines.append(Change("Waiting on", None, str(VALUE_LABELS["assigned_role"].get(role, role))))
    if after.get("chain"):
        lines.append(Change("Approval chain", None, str(after["chain"])))
    if after.get("template"):
        lines.append(Change("Template", None, str(after["template"])))
    if after.get("account"):
        lines.append(Change("Account", None, str(after["account"])))
    if after.get("attempts"):
        lines.append(Change("Attempts", None, str(after["attempts"])))
    return lines + (_responded(before, after, users) if after.get("targets") else [])


SURVEY_LANGUAGES = dict(SurveyLanguage.choices)


def _survey(before: dict[str, Any], after: dict[str, Any], users: dict[int, str]) -> list[Change]:
    """Which survey, in which language until when (sent), or the rating the customer gave (answered)."""
    lines = [Change("Survey", None, f"#{after['survey_id']}")] if after.get("survey_id") else []
    if after.get("language"):
        language = str(after["language"])
        lines.append(Change("Language", None, str(SURVEY_LANGUAGES.get(language, language))))
    expires = _moment(after.get("expires_at"))
    if expires:
        lines.append(Change("Link works until", None, moment_text(expires), after_at=expires))
    if after.get("rating"):
        lines.append(Change("Rating", None, f"{after['rating']} of 5"))
    return lines


REPLY_EVENTS = (
    EventKind.REPLY_DRAFTED,
    EventKind.REPLY_EDITED,
    EventKind.REPLY_SUBMITTED,
    EventKind.REPLY_APPROVED,
    EventKind.REPLY_CHANGES_REQUESTED,
    EventKind.REPLY_WITHDRAWN,
    EventKind.REPLY_PUBLISHED,
    EventKind.REPLY_PUBLISH_FAILED,
)

MERGE_EVENTS = (EventKind.MERGED_INTO, EventKind.MERGED_FROM, EventKind.MERGE_UNDONE)

# The lines under each response-time event: which target, its deadline, the step, old -> new.
SLA_CHANGES: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[int, str]], list[Change]]] = {
    EventKind.SLA_WARNING: _warned_or_breached,
    EventKind.SLA_BREACHED: _warned_or_breached,
    EventKind.ESCALATED: _escalated,
    EventKind.DEADLINES_CHANGED: _deadlines_changed,
    EventKind.RESPONDED: _responded,
    EventKind.ACKNOWLEDGED: _acknowledged,
    EventKind.CRISIS_REQUESTED: _crisis_requested,
    EventKind.ANSWERED: _answered,
    EventKind.SURVEY_CREATED: _survey,
    EventKind.SURVEY_ANSWERED: _survey,
    **dict.fromkeys(REPLY_EVENTS, _reply),
    **dict.fromkeys(MERGE_EVENTS, _merged),
}
