"""Reads of the audit log: the events newest first (filtered by the caller's FilterSet), one bounded page
at a time by keyset, and the same list as CSV rows read from a server-side cursor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from config.csv_export import CsvChunks, spreadsheet_safe
from protocols.audit_tables import table_label
from protocols.models import AuditEvent

PAGE_SIZE = 50
CSV_CHUNK_ROWS = 2_000
CSV_COLUMNS = (
    "id",
    "at",
    "kind",
    "action",
    "actor_id",
    "actor",
    "what",
    "object_id",
    "changes",
    "details",
    "ip",
    "request_id",
)


def audit_event_list() -> QuerySet[AuditEvent]:
    """Every event, newest first (the id orders them as they were written)."""
    return AuditEvent.objects.order_by("-id")


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    older_than: int | None  # the keyset of the next page, None on the last one


def audit_event_page(*, events: QuerySet[AuditEvent], older_than: int | None = None) -> AuditPage:
    """One page of `events` (newest first) below the id `older_than`: one indexed query, however deep."""
    if older_than is not None:
        events = events.filter(id__lt=older_than)
    rows = list(events.order_by("-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return AuditPage(events=rows, older_than=rows[-1].pk if more else None)


def audit_events_csv(*, events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header, then the events newest first as CSV chunks; what people typed (names, usernames
    tried, the changed values) is made safe for spreadsheets."""
    chunks = CsvChunks()
    chunks.row(CSV_COLUMNS)
    yield chunks.drain()
    # A named cursor inside a transaction streams the rows (outside one it would hold them all first).
    with transaction.atomic():
        for count, event in enumerate(events.order_by("-id").iterator(chunk_size=CSV_CHUNK_ROWS), 1):
            chunks.row(_csv_cells(event))
            if count % CSV_CHUNK_ROWS == 0:
                yield chunks.drain()
    yield chunks.drain()


def _csv_cells(event: AuditEvent) -> list[Any]:
    return [
        event.pk,
        event.at.isoformat(),
        event.kind,
        event.action,
        event.actor_id or "",
        spreadsheet_safe(event.actor_name),
        table_label(event.table_name) if event.table_name else "",
        event.object_id,
        spreadsheet_safe(_json(event.changes)),
        spreadsheet_safe(_json(event.details)),
        event.ip or "",
        event.request_id,
    ]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
