"""The queue's SQL is served by indexes on a realistically sized table (no sequential scan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from incidents.filters import IncidentFilter
from incidents.keyset import after_cursor, encode_cursor, sort_for
from incidents.models import Incident
from incidents.selectors import incident_base
from protocols.models import Role
from tests.factories import CategoryFactory, UserFactory

ROWS = 60_000


@pytest.fixture(scope="module")
def big_table(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Built once for the module and committed (a per-test copy would cost seconds each)."""
    with django_db_blocker.unblock():
        responder = UserFactory(username="explain-user", roles=[Role.RESPONDER])
        category = CategoryFactory(slug="explain-category")
        _fill(category.pk, responder.pk)
        yield {"category": category, "user": responder}
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE incidents_incident CASCADE")
        responder.delete()
        category.delete()


@pytest.fixture
def explained(big_table: dict[str, Any], db: Any) -> dict[str, Any]:
    return big_table


def _fill(category_id: int, user_id: int) -> None:
    with connection.cursor() as cursor:
        # A quarter open, like a live desk: most incidents are long closed. Open ones have response-time
        # deadlines spread over the next day (a few already missed or close), waiting ones are paused.
        cursor.execute(
            """
            INSERT INTO incidents_incident (title, description, category_id, priority, status, assignee_id,
                assigned_role, follow_up_required, tags, products, platform, thread_key, author_key,
                mention_count, last_mention_at, search_vector, created_at, updated_at, sla_state, sla_due_at)
            SELECT 'Incident ' || g, 'text ' || g,
                   CASE WHEN g %% 10 = 0 THEN %s END,
                   (ARRAY['low','normal','normal','high','critical'])[1 + g %% 5],
                   CASE WHEN g %% 4 = 0
                        THEN (ARRAY['new','triaged','in_progress','waiting_on_customer'])[1 + g %% 16 / 4]
                        ELSE 'closed' END,
                   CASE WHEN g %% 7 = 0 THEN %s END,
                   'responder', false,
                   ARRAY['tag' || (g %% 50)], ARRAY['product' || (g %% 200)],
                   (ARRAY['x','facebook','instagram','tiktok'])[1 + g %% 4],
                   'x:' || g, 'x:author' || g, 1, now() - g * interval '1 minute',
                   to_tsvector('english', 'Incident ' || g || ' word' || (g %% 1000)),
                   now() - g * interval '1 minute', now(),
                   CASE WHEN g %% 4 <> 0 THEN 'none'
                        WHEN g %% 16 = 12 THEN 'paused'
                        WHEN g %% 400 = 0 THEN 'breached'
                        WHEN g %% 240 = 0 THEN 'warning'
                        ELSE 'ok' END,
                   CASE WHEN g %% 4 <> 0 OR g %% 16 = 12 THEN NULL
                        WHEN g %% 400 = 0 THEN now() - (g %% 600) * interval '1 minute'
                        ELSE now() + (g %% 1440) * interval '1 minute' END
            FROM generate_series(1, %s) AS g
            """,
            [category_id, user_id, ROWS],
        )
        cursor.execute("ANALYZE incidents_incident")


def plan(user: Any, params: str, cursor: str | None = None) -> str:
    """EXPLAIN of exactly what the queue runs for these query parameters."""
    query = QueryDict(params)
    qs = IncidentFilter(query, queryset=incident_base(user=user)).qs
    return after_cursor(qs, sort_for(query.get("sort")), cursor)[:51].explain()


def assert_indexed(text: str) -> None:
    assert "Seq Scan on incidents_incident" not in text, text
    assert "Index" in text, text


def test_default_queue_view_uses_the_open_urgency_index(explained: dict[str, Any]) -> None:
    text = plan(explained["user"], "")
    assert_indexed(text)
    assert "inc_open_urgency" in text, text


def test_a_deep_page_starts_at_the_cursor_in_the_index(explained: dict[str, Any]) -> None:
    user = explained["user"]
    qs = IncidentFilter(QueryDict(""), queryset=incident_base(user=user)).qs
    row = after_cursor(qs, sort_for("urgency"), None)[10_000]
    text = plan(user, "", cursor=encode_cursor(sort_for("urgency"), row))
    assert_indexed(text)
    assert "Index Cond" in text, text  # the cursor is an index condition, not a filter over skipped rows


@pytest.mark.parametrize(
    "params",
    [
        "assignee=me",
        "assignee=none",
        "priority=critical",
        "platform=tiktok",
        "tag=tag7",
        "product=product9",
        "q=word7",
        "status=all",
        "status=all&sort=newest",
        "sort=oldest",
        "status=waiting_on_customer",
        "category={category}",
    ],
)
def test_queue_filters_use_indexes(explained: dict[str, Any], params: str) -> None:
    text = plan(explained["user"], params.format(category=explained["category"].pk))
    assert_indexed(text)


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ("sla_state=breached", "inc_sla_state_urgency"),
        ("sla_state=warning,breached", "inc_sla_state_urgency"),
        ("sla_state=breached&status=all&sort=urgency", "inc_sla_state_urgency"),
        ("due_before={soon}", "inc_open_sla_due"),
        ("due_before={soon}&status=all", "inc_open_sla_due"),
        ("due_before={soon}&status=in_progress", "inc_open_sla_due"),
    ],
)
def test_sla_filters_use_their_indexes(explained: dict[str, Any], params: str, index: str) -> None:
    soon = quote((timezone.now() + timedelta(minutes=30)).isoformat())
    text = plan(explained["user"], params.format(soon=soon))
    assert_indexed(text)
    assert index in text, text


def test_table_is_really_that_big(explained: dict[str, Any]) -> None:
    assert Incident.objects.count() >= 50_000
    assert Incident.objects.filter(sla_state="breached").count() >= 100
