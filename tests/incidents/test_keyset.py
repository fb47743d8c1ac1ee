"""The deadline sort of the queue's keyset pagination: every incident once, soonest deadline first and
those without one last, and a deep page that starts at its cursor in the deadline index."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from config.errors import ValidationFailed
from incidents.filters import IncidentFilter
from incidents.keyset import after_cursor, encode_cursor, page_of, sort_for
from incidents.models import Incident
from incidents.selectors import incident_base
from tests.factories import IncidentFactory


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.django_db
def test_deadline_sort_pages_through_every_incident_once_soonest_first(responder: Any) -> None:
    now = timezone.now()
    deadlines = [now + timedelta(minutes=m) for m in (30, -5, 30, 90, 10)] + [None] * 4
    incidents = []
    for due in deadlines:
        incident = IncidentFactory()
        Incident.objects.filter(pk=incident.pk).update(sla_due_at=due, sla_state="ok" if due else "none")
        incidents.append((due, incident.pk))
    expected = [pk for _, pk in sorted(incidents, key=lambda d: (d[0] is None, d[0] or now, d[1]))]

    sort = sort_for("deadline")
    qs = incident_base(user=responder)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = page_of(qs, sort=sort, cursor=cursor, size=2)
        seen += [row.pk for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected  # ties on a deadline, and the undated ones, go by id; none twice or lost


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [["2026-11-16T10:00:00", 5], ["soon", 5], [7, 5], ["2026-11-16T10:00:00+00:00"], [None, "x"]],
)
def test_a_broken_deadline_cursor_is_refused(responder: Any, values: list[Any]) -> None:
    with pytest.raises(ValidationFailed):
        page_of(incident_base(user=responder), sort=sort_for("deadline"), cursor=_cursor(values), size=2)


@pytest.mark.django_db
def test_a_deep_deadline_page_starts_at_its_cursor_in_the_index(responder: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incidents_incident (title, description, priority, status, assigned_role,
                follow_up_required, tags, products, platform, thread_key, author_key, mention_count,
                created_at, updated_at, sla_state, sla_due_at)
            SELECT 'Incident ' || g, '', 'normal',
                   CASE WHEN g % 4 = 0 THEN 'new' ELSE 'closed' END, '', false, '{}', '{}', 'x', '', '', 0,
                   now(), now(), 'ok',
                   CASE WHEN g % 3 = 0 THEN NULL ELSE now() + (g % 1440) * interval '1 minute' END
            FROM generate_series(1, 40000) AS g
            """
        )
        cursor.execute("ANALYZE incidents_incident")
    sort = sort_for("deadline")
    qs = IncidentFilter(QueryDict(""), queryset=incident_base(user=responder)).qs
    deep = after_cursor(qs, sort, None)[8_000]
    assert deep.sla_due_at is None  # past every dated incident: the cursor holds 'infinity'
    for row in (after_cursor(qs, sort, None)[2_000], deep):
        plan = after_cursor(qs, sort, encode_cursor(sort, row))[:51].explain()
        assert "inc_open_deadline" in plan, plan
        assert "Index Cond" in plan, plan  # the cursor is where the scan starts, not a filter
