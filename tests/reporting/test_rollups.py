"""The rollups give the raw computation's figures exactly, for every filter they answer; every kind of
change reaches them through the triggers and one refresh; when they are behind, the raw tables answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import ClockKind, Incident, Mention, Reply, SatisfactionSurvey, SlaClock
from protocols.models import Tier
from reporting.figures import report_pair
from reporting.metrics import Report, ReportQuery, report_compute
from reporting.models import DaySlice, IncidentFact, RollupDirty
from reporting.rollups.read import rollup_reports
from reporting.rollups.refresh import rollup_refresh
from reporting.tasks import rollups_refresh
from tests.reporting.world import END, NOW, PRODUCTS, START, World, build

pytestmark = pytest.mark.django_db

QUERY = ReportQuery(start=START, end=END)


def raw_pair(query: ReportQuery, user: Any) -> tuple[Report, Report]:
    return (
        report_compute(query=query, user=user, now=NOW),
        report_compute(query=query.previous(), user=user, now=NOW),
    )


def rolled(query: ReportQuery, user: Any) -> tuple[Report, Report]:
    pair = rollup_reports(query=query, user=user, now=NOW)
    assert pair is not None, "the rollups did not answer"
    return pair


def every_single_filter(world: World) -> list[dict[str, str]]:
    filters: list[dict[str, str]] = [{}]
    filters += [{"category": str(c.pk)} for c in world.categories] + [{"category": "none"}]
    filters += [{"tier": t} for t in Tier.values]
    filters += [{"priority": p} for p in ("low", "normal", "high", "critical")]
    filters += [{"platform": p} for p in ("x", "facebook", "instagram")]
    filters += [{"product": p} for p in PRODUCTS]
    filters += [{"assignee": str(u.pk)} for u in world.users] + [{"assignee": "none"}]
    filters += [{"assigned_role": r} for r in ("responder", "pr")]
    return filters


@pytest.mark.parametrize("seed", [11, 12])
def test_the_rollups_give_the_raw_figures_for_every_filter_they_answer(seed: int, manager: Any) -> None:
    world = build(seed)
    rollup_refresh()
    assert not RollupDirty.objects.exists()
    for filters in every_single_filter(world):
        query = ReportQuery(start=START, end=END, filters=filters)
        current, previous = rolled(query, manager)
        expected_current, expected_previous = raw_pair(query, manager)
        assert current == expected_current, filters
        assert previous == expected_previous, filters
    # The world has every kind of figure, so the comparison above compared something.
    current, _ = rolled(QUERY, manager)
    assert current.incidents > 20 and current.replies_sent_back and current.csat_answered and current.recurred
    assert current.stages[0].clock.n and current.unanswered and current.crises
    assert current.as_of is not None


def test_the_previous_period_and_a_shorter_range_come_from_the_same_days(manager: Any) -> None:
    build(21)
    rollup_refresh()
    for days in (1, 7, 10):
        query = ReportQuery(start=START + timedelta(days=days), end=START + timedelta(days=days + 9))
        assert rolled(query, manager) == raw_pair(query, manager)


def test_what_the_rollups_cannot_answer_the_raw_tables_do(manager: Any) -> None:
    world = build(22)
    rollup_refresh()
    two_filters = ReportQuery(start=START, end=END, filters={"priority": "high", "platform": "x"})
    assert rollup_reports(query=two_filters, user=manager, now=NOW) is None
    assert report_pair(query=two_filters, user=manager, now=NOW) == raw_pair(two_filters, manager)
    part_day = ReportQuery(start=START + timedelta(hours=6), end=END)
    assert rollup_reports(query=part_day, user=manager, now=NOW) is None
    tag = ReportQuery(start=START, end=END, filters={"tag": "vip"})
    assert rollup_reports(query=tag, user=manager, now=NOW) is None
    # Behind by more than a minute (no refresh ran): the raw tables answer, with the newest data.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reporting_rollupstate SET complete_as_of = complete_as_of - interval '61 s'")
    assert rollup_reports(query=QUERY, user=manager, now=NOW) is None
    Incident.objects.filter(pk=world.incidents[10].pk).update(priority="critical")
    assert report_pair(query=QUERY, user=manager, now=NOW) == raw_pair(QUERY, manager)


def test_the_dashboard_figures_from_the_rollups_take_a_fixed_number_of_statements(manager: Any) -> None:
    build(23)
    rollup_refresh()
    report_pair(query=QUERY, user=manager, now=NOW)  # the user's roles are cached after this
    with CaptureQueriesContext(connection) as queries:
        report_pair(query=QUERY, user=manager, now=NOW)
    assert len(queries) <= 6, [q["sql"][:80] for q in queries]
    assert not any("incidents_incident" in q["sql"] for q in queries)


def _stale_then_fresh(manager: Any, query: ReportQuery = QUERY) -> None:
    """The change is queued, not yet in the rollups; one refresh brings it in."""
    assert RollupDirty.objects.exists()
    before, _ = rolled(query, manager)
    rollup_refresh()
    after, _ = rolled(query, manager)
    assert after == report_compute(query=query, user=manager, now=NOW)
    assert after != before


def test_every_kind_of_change_reaches_the_rollups_in_one_refresh(manager: Any) -> None:
    world = build(24)
    rollup_refresh()
    inside = [i for i in world.incidents if START <= i.created_at < END and i.merged_into_id is None]
    first, second, third = inside[0], inside[1], inside[2]

    Mention.objects.create(
        platform="x",
        external_id="late-1",
        author_handle="someone",
        text="Still waiting",
        posted_at=NOW - timedelta(hours=1),
        sentiment="negative",
        incident=first,
        received_at=NOW - timedelta(hours=1),
    )
    Incident.objects.filter(pk=first.pk).update(mention_count=first.mention_count + 1, status="in_progress")
    _stale_then_fresh(manager)

    SlaClock.objects.filter(incident=second, kind=ClockKind.FIRST_RESPONSE).update(
        breached_at=NOW, stopped_at=None
    )
    _stale_then_fresh(manager)

    Reply.objects.filter(incident=first).delete()
    Reply.objects.create(
        incident=first,
        author=world.users[0],
        body="Sorted",
        edited_at=NOW,
        created_at=NOW,
        updated_at=NOW,
        state="published",
        published_at=NOW,
    )
    _stale_then_fresh(manager)

    SatisfactionSurvey.objects.create(
        incident=third,
        created_at=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=13),
        answered_at=NOW - timedelta(hours=2),
        rating=1,
    )
    _stale_then_fresh(manager)

    # A merge: the duplicate's figures leave with it, the survivor keeps its own.
    Incident.objects.filter(pk=second.pk).update(merged_into=third, status="closed")
    _stale_then_fresh(manager)
    assert not IncidentFact.objects.filter(incident_id=second.pk).exists()

    # A category's tier is part of its incidents' figures.
    category = world.categories[0]
    category.tier = Tier.CRISIS
    category.save(update_fields=["tier"])
    _stale_then_fresh(manager, ReportQuery(start=START, end=END, filters={"tier": Tier.CRISIS}))


def test_a_new_incident_makes_an_earlier_one_come_back(manager: Any) -> None:
    """Recurrence looks forward: an incident created today changes an older incident's figure."""
    world = build(25)
    rollup_refresh()
    late = [i for i in world.incidents if END - timedelta(days=5) <= i.created_at < END and i.category_id]
    assert late, "the world has incidents near the end of the range"
    older = late[0]
    product = "recurring-widget"
    Incident.objects.filter(pk=older.pk).update(products=[product])
    rollup_refresh()
    before, _ = rolled(QUERY, manager)
    Incident.objects.create(
        title="Again",
        category_id=older.category_id,
        priority="normal",
        products=[product],
        created_at=older.created_at + timedelta(days=3),
        updated_at=older.created_at + timedelta(days=3),
    )
    rollup_refresh()
    after, _ = rolled(QUERY, manager)
    assert after.recurred == before.recurred + 1
    assert after == report_compute(query=QUERY, user=manager, now=NOW)


def test_the_refresh_task_drains_the_queue_and_a_rebuild_changes_nothing(manager: Any) -> None:
    build(26)
    assert rollups_refresh() > 0
    assert rollups_refresh() == 0
    slices = {(s.day, s.slice): (s.figures, bytes(s.durations)) for s in DaySlice.objects.all()}
    RollupDirty.objects.bulk_create(
        [RollupDirty(incident_id=pk) for pk in Incident.objects.values_list("pk", flat=True)]
    )
    rollup_refresh()
    assert {(s.day, s.slice): (s.figures, bytes(s.durations)) for s in DaySlice.objects.all()} == slices
