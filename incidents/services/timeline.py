"""Appending to an incident's timeline. Always inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from incidents.models import TimelineEvent


def actor_label_of(actor: Any | None) -> str:
    if actor is None:
        return "system"
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return full_name or actor.get_username()


def timeline_append(
    *,
    incident_id: int,
    kind: str,
    actor: Any | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        incident_id=incident_id,
        kind=kind,
        actor=actor,
        actor_label=actor_label_of(actor),
        before=before or {},
        after=after or {},
        note=note,
        created_at=timezone.now(),
    )
