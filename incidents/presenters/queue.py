"""The queue's rows: each incident with its age, whether it is the viewer's, and its Target cell (the
next deadline as the incident's clocks summarise it). No queries: the row reads the incident only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import dateformat, timezone
from django.utils.dateparse import parse_datetime

from incidents.filters import TARGET_CHOICES
from incidents.models import Incident, SlaState
from incidents.presenters.wording import compact_age, countdown_text, since_text
from protocols.models import Role, Tier


@dataclass(frozen=True)
class SlaTarget:
    """The queue's Target cell: the incident's next deadline as its clocks summarise it."""

    state: str  # an SlaState value; also the cell's colour class
    label: str  # the state in words, for the tooltip and screen readers
    text: str  # what the cell shows on load ("42m 05s left", "breached 12 min ago", "Paused", "—")
    due_at: datetime | None
    counts: str  # how sla.js keeps `text` current: "left", "since" or "" (static)

    @property
    def spoken_state(self) -> str:
        """Said before the text to screen readers, unless the text already names the state."""
        return "" if self.state in (SlaState.BREACHED, SlaState.PAUSED) else f"{self.label}: "

    @property
    def due_text(self) -> str:
        """The deadline, short: its time today, weekday and time within a week, else its date. This is
        the server's fallback (in its own zone); sla.js rewrites it in the viewer's time zone."""
        if self.due_at is None:
            return ""
        local = timezone.localtime(self.due_at)
        days = (local.date() - timezone.localdate()).days
        return dateformat.format(local, "H:i T" if days == 0 else "D H:i T" if 0 < days < 7 else "j M")


def sla_target(incident: Incident, now: datetime) -> SlaTarget:
    state = incident.sla_state or SlaState.NONE
    label = SlaState(state).label
    due = incident.sla_due_at
    if state == SlaState.BREACHED:
        # The earliest deadline of the running clocks is the one that was missed.
        text = f"breached {since_text((now - due).total_seconds())}" if due else "breached"
        return SlaTarget(state, label, text, due, "since" if due else "")
    if state in (SlaState.OK, SlaState.WARNING) and due is not None:
        left = (due - now).total_seconds()
        return SlaTarget(state, label, f"{countdown_text(left)} left" if left > 0 else "due now", due, "left")
    if state == SlaState.PAUSED:
        return SlaTarget(state, label, "Paused", None, "")
    return SlaTarget(SlaState.NONE, SlaState.NONE.label, "—", None, "")


@dataclass(frozen=True)
class QueueRow:
    incident: Incident
    age: str
    is_mine: bool
    target: SlaTarget


def queue_rows(incidents: Iterable[Incident], *, user: Any) -> list[QueueRow]:
    now = timezone.now()
    return [
        QueueRow(i, compact_age(now, i.created_at), i.assignee_id == user.pk, sla_target(i, now))
        for i in incidents
    ]


@dataclass(frozen=True)
class Narrowing:
    """A queue parameter the filter bar has no control for (a report's link sets them): kept as a hidden
    field so changing a filter keeps it, and said in words so the viewer knows the list is narrowed."""

    name: str
    value: str
    phrase: str


def queue_narrowing(params: Any) -> list[Narrowing]:
    targets = dict(TARGET_CHOICES)

    def moment(value: str) -> str:
        parsed = parse_datetime(value)
        return dateformat.format(timezone.localtime(parsed), "j M Y, H:i") if parsed else value

    phrases = {
        "created_after": lambda v: f"created from {moment(v)}",
        "created_before": lambda v: f"created before {moment(v)}",
        "breached": lambda v: (
            "breached a response target"
            if v == "any"
            else f"breached the {str(targets.get(v, v)).lower()} target"
        ),
        "met": lambda v: f"met the {str(targets.get(v, v)).lower()} target",
        "tier": lambda v: f"tier {dict(Tier.choices).get(v, v)}",
        "merged": lambda v: "without merged duplicates" if v == "false" else "merged duplicates only",
        "unanswered": lambda v: "with unanswered mentions" if v == "true" else "with every mention answered",
        "assigned_role": lambda v: f"routed to {dict(Role.choices).get(v, v)}",
    }
    return [
        Narrowing(name, value, phrases[name](value))
        for name in phrases
        for value in params.getlist(name)
        if value.strip()
    ]
