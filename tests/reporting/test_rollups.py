"""The rollups give the raw computation's figures exactly, for every filter they answer; every kind of
change reaches them through the triggers and one refresh; when they are behind, the raw tables answer."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from incidents.models import ClockKind, Incident, Mention, Reply, SatisfactionSurvey, SlaClock
from protocols.models import Tier
from reporting.figures import report_pair
from reporting.metrics import Report, ReportQuery, report_compute
from reporting.models import DaySlice, IncidentFact, RollupDirty
from reporting.rollups.read import rollup_reports
from reporting.rollups.refresh import rollup_refresh
from reporting.tasks import rollups_refresh
from tests.factories import IncidentFactory
from tests.reporting.world import END, NOW, PRODUCTS, START, World, build

pytestmark = pytest.mark.django_db

QUERY = ReportQuery(start=START, end=END)


@pytest.fixture(autouse=True)
def _no_refresh_running_elsewhere(db: Any) -> None:
    """A refresh still running on another connection (a worker thread of an earlier test) would hold
    the lock, and this test's refresh would rightly do nothing: wait for it first."""
    from reporting.rollups.refresh import LOCK_KEY

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            (free,) = cursor.fetchone()
            if free:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
                return
        time.sleep(0.2)
    pytest.fail(f"a refresh elsewhere held the rollups' lock for 30 s: {_lock_holders()}")


def _lock_holders() -> list[tuple[Any, ...]]:
    """Who holds the refresh's lock (pid, application, state, since, query), for a failure to name."""
    from reporting.rollups.refresh import LOCK_KEY

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid, a.application_name, a.state, a.xact_start, left(a.query, 200) FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = %s "
            "AND l.granted AND a.pid <> pg_backend_pid()",
            [LOCK_KEY],
        )
        return cursor.fetchall()


def refreshed() -> None:
    """One refresh that must take everything: it may not find the lock taken elsewhere."""
    result = rollup_refresh()
    assert result.complete_as_of is not None, f"another refresh held the lock: {_lock_holders()}"


def raw_pair(query: ReportQuery, user: Any) -> tuple[Report, Report]:
    return (
        report_compute(query=query, user=user, now=NOW),
        report_compute(query=query.previous(), user=user, now=NOW),
    )


def rolled(query: ReportQuery, user: Any) -> tuple[Report, Report]:
    pair = rollup_reports(query=query, user=user, now=NOW)
    if pair is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT complete_as_of, statement_timestamp() FROM reporting_rollupstate")
            state = cursor.fetchall()
        pytest.fail(f"the rollups did not answer: (complete as of, now) {state}, lock {_lock_holders()}")
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


@pytest.mark.parametrize(("seed", "fence_step"), [(11, 32), (12, 2)])
def test_the_rollups_give_the_raw_figures_for_every_filter_they_answer(
    seed: int, fence_step: int, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reporting.rollups import slices

    world = build(seed)
    monkeypatch.setattr(slices, "FENCE_STEP", fence_step)  # 2: percentiles read between fences
    refreshed()
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
    refreshed()
    for days in (1, 7, 10):
        query = ReportQuery(start=START + timedelta(days=days), end=START + timedelta(days=days + 9))
        assert rolled(query, manager) == raw_pair(query, manager)


def test_what_the_rollups_cannot_answer_the_raw_tables_do(manager: Any) -> None:
    world = build(22)
    refreshed()
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
    refreshed()
    report_pair(query=QUERY, user=manager, now=NOW)  # the user's roles are cached after this
    with CaptureQueriesContext(connection) as queries:
        report_pair(query=QUERY, user=manager, now=NOW)
    assert len(queries) <= 7, [q["sql"][:80] for q in queries]  # state, slices, windows, names x2, crises x2
    assert not any("incidents_incident" in q["sql"] for q in queries)


def _stale_then_fresh(manager: Any, query: ReportQuery = QUERY) -> None:
    """The change is queued, not yet in the rollups; one refresh brings it in."""
    assert RollupDirty.objects.exists()
    before, _ = rolled(query, manager)
    refreshed()
    after, _ = rolled(query, manager)
    assert after == report_compute(query=query, user=manager, now=NOW)
    assert after != before


def test_every_kind_of_change_reaches_the_rollups_in_one_refresh(manager: Any) -> None:
    world = build(24)
    refreshed()
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
    refreshed()
    late = [i for i in world.incidents if END - timedelta(days=5) <= i.created_at < END and i.category_id]
    assert late, "the world has incidents near the end of the range"
    older = late[0]
    product = "recurring-widget"
    Incident.objects.filter(pk=older.pk).update(products=[product])
    refreshed()
    before, _ = rolled(QUERY, manager)
    again = Incident.objects.create(
        title="Again",
        category_id=older.category_id,
        priority="normal",
        products=[product],
        created_at=older.created_at + timedelta(days=3),
        updated_at=older.created_at + timedelta(days=3),
    )
    refreshed()
    after, _ = rolled(QUERY, manager)
    assert after.recurred == before.recurred + 1
    assert after == report_compute(query=QUERY, user=manager, now=NOW)
    # And back: the later incident turns out to be about something else.
    Incident.objects.filter(pk=again.pk).update(products=["something-else"])
    refreshed()
    undone, _ = rolled(QUERY, manager)
    assert undone.recurred == before.recurred
    assert undone == report_compute(query=QUERY, user=manager, now=NOW)


def test_the_refresh_task_drains_the_queue_and_a_rebuild_changes_nothing(manager: Any) -> None:
    build(26)
    assert rollups_refresh() > 0
    assert rollups_refresh() == 0
    slices = {(s.day, s.span, s.slice): (s.figures, bytes(s.durations)) for s in DaySlice.objects.all()}
    RollupDirty.objects.bulk_create(
        [RollupDirty(incident_id=pk) for pk in Incident.objects.values_list("pk", flat=True)]
    )
    refreshed()
    rebuilt = {(s.day, s.span, s.slice): (s.figures, bytes(s.durations)) for s in DaySlice.objects.all()}
    assert rebuilt == slices
    assert DaySlice.objects.filter(span="week").exists()


def test_beat_refreshes_the_rollups_well_within_the_minute_they_may_lag() -> None:
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == rollups_refresh.name]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= 15


def _refresh_done() -> bool:
    from reporting.rollups.refresh import LOCK_KEY

    with connection.cursor() as cursor:
        cursor.execute("SELECT complete_as_of IS NOT NULL FROM reporting_rollupstate WHERE id = 1")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        (free,) = cursor.fetchone()
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        return bool(free)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_brings_a_new_incident_into_the_rollups(manager: Any) -> None:
    incident = IncidentFactory(priority="critical")
    assert RollupDirty.objects.filter(incident_id=incident.pk).exists()
    # A message an earlier run's worker took but never acknowledged (stopped mid-task) would come back
    # and run a second refresh, holding the lock, after this test.
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        rollups_refresh.delay()
        deadline = time.monotonic() + 15
        # Until the whole refresh is done and its lock released (a refresh still running in the worker's
        # thread would hold the lock into the next test).
        while time.monotonic() < deadline and not _refresh_done():
            time.sleep(0.1)
    assert _refresh_done()
    fact = IncidentFact.objects.get(incident_id=incident.pk)
    assert fact.priority == "critical"
    assert DaySlice.objects.filter(day=fact.day, slice="priority:critical").exists()
    assert not RollupDirty.objects.exists()


def test_a_build_works_out_recurrence_once_at_the_end_with_the_same_figures(
    manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large queue (an install, an upgrade) takes facts in batches without recurrence, then all at once."""
    from reporting.rollups import refresh

    build(27)
    monkeypatch.setattr(refresh, "BUILD_FROM", 1)
    monkeypatch.setattr(refresh, "BATCH", 25)  # several batches: later incidents arrive after earlier ones
    refreshed()
    current, previous = rolled(QUERY, manager)
    assert current.recurred and (current, previous) == raw_pair(QUERY, manager)


@pytest.mark.parametrize("seed", range(40))
def test_a_rank_is_found_between_fences_exactly_whatever_the_runs(seed: int) -> None:
    """The selection reads each run's fences, brackets the ranks, and needs only the values between:
    against sorting everything, on random runs (ties, empty runs, one value, long runs, any step)."""
    import random
    from array import array

    from reporting.rollups.read import _Run, _Selection

    rng = random.Random(seed)
    step = rng.choice([1, 2, 3, 5, 32])
    runs_data = [
        sorted(rng.choice([rng.random() * 100, float(rng.randint(0, 5))]) for _ in range(rng.randint(0, 60)))
        for _ in range(rng.randint(1, 12))
    ]
    everything = sorted(v for run in runs_data for v in run)
    if not everything:
        return
    runs = [_Run(i, 0, len(d), array("d", d[::step]), step) for i, d in enumerate(runs_data)]
    n = len(everything)
    wanted = sorted({(r, min(r + 1, n - 1)) for r in (0, n - 1, n // 2, rng.randrange(n), rng.randrange(n))})
    selection = _Selection(runs, wanted)
    read = 0
    for g_index, (_, _, _, windows) in enumerate(selection.groups):
        values = [v for run, start, end in windows for v in runs_data[run.row][start:end]]
        read += len(values)
        selection.values[g_index] = sorted(values)
    for low, high in wanted:
        assert selection.at(low) == everything[low]
        assert selection.at(high) == everything[high]
    if step == 32 and n > 400:
        assert read < n  # it did not read everything
