"""The timeline is append-only at the database level, whoever asks."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from incidents.models import TimelineEvent
from incidents.services.ingestion import mentions_ingest
from tests.factories import mention_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> TimelineEvent:
    mentions_ingest(items=[mention_payload(1)], actor=None, actor_label="test")
    return TimelineEvent.objects.get()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incidents_timelineevent SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM incidents_timelineevent WHERE id = %s",
    ],
)
def test_database_refuses_update_and_delete(event: TimelineEvent, statement: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    event.refresh_from_db()
    assert event.note.startswith("Opened from a mention")


def test_orm_paths_are_refused_too(event: TimelineEvent) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        TimelineEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert TimelineEvent.objects.filter(pk=event.pk, note__startswith="Opened").exists()


def test_appending_still_works(event: TimelineEvent) -> None:
    mentions_ingest(items=[mention_payload(2, thread_id="ext-1")], actor=None, actor_label="test")
    assert list(TimelineEvent.objects.values_list("kind", flat=True)) == ["created", "mention_added"]


def test_events_record_who_what_when_before_after(responder: Any, event: TimelineEvent) -> None:
    from incidents.services.incidents import incident_set_priority

    incident_set_priority(actor=responder, incident_id=event.incident_id, priority="high")
    change = TimelineEvent.objects.get(kind="priority_changed")
    assert (change.actor_id, change.actor_label) == (responder.pk, responder.get_full_name())
    assert (change.before, change.after) == ({"priority": "normal"}, {"priority": "high"})
    assert change.created_at >= event.created_at
