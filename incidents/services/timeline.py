"""Appending to an incident's timeline. Always inside the transaction of the change it records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
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
    actor_label: str | None = None,
) -> TimelineEvent:
    """`actor_label` names a system actor (a bridge, a detector) where there is no person."""
    return TimelineEvent.objects.create(
        incident_id=incident_id,
        kind=kind,
        actor=actor,
        actor_label=actor_label or actor_label_of(actor),
        before=before or {},
        after=after or {},
        note=note,
        created_at=timezone.now(),
    )


@dataclass(frozen=True)
class SystemEvent:
    incident_id: int
    kind: str
    actor_label: str
    after: dict[str, Any]
    note: str


_APPEND_MANY_SQL = """
INSERT INTO incidents_timelineevent
    (incident_id, kind, actor_id, actor_label, before, after, note, created_at)
SELECT i, k, NULL, l, '{}'::jsonb, a, n, %s
FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::jsonb[], %s::text[]) AS t(i, k, l, a, n)
"""


def timeline_append_many(*, events: Sequence[SystemEvent], at: datetime) -> None:
    """Events recorded by the system (no person, nothing before) for many incidents in one statement:
    the sweeper may record hundreds per batch."""
    if not events:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_MANY_SQL,
            [
                at,
                [e.incident_id for e in events],
                [e.kind for e in events],
                [e.actor_label for e in events],
                [json.dumps(e.after, cls=DjangoJSONEncoder) for e in events],
                [e.note for e in events],
            ],
        )
