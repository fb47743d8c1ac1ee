"""The reports dashboard over the reference dataset: from the rollups and from the raw tables.

reports: for the last 30 whole days of the dataset, as a manager, in process:
  - the rollups' first build (every incident's facts and every day's slices) and one refresh after 100
    incidents changed (what the 15-second beat task does in steady state);
  - the dashboard's figures (the range and the period before it, what one page view computes) from the
    rollups, repeated: p50/p95; the same from the raw tables (fewer repeats: seconds each); the ratio;
  - the same figures for one filter (the commonest category), from both;
  - the whole dashboard page (GET /reports/, figures and rendering) from the rollups: p50/p95;
  - identical figures: the rollups' reports compared field by field with the raw ones.
Goal (issue 6): the dashboard's p95 under 100 ms and at least 20x faster than raw, identical figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.context import Context
from bench.env import log
from bench.inproc import InProcessClient
from bench.report import Outcome, latency_ms, num, percentile

GOAL_P95_MS = 100.0
GOAL_RATIO = 20.0
RAW_REPEATS = 3  # the raw figures take tens of seconds at the reference size


def _timed(fn: Callable[[], Any], *, seconds: float, most: int, least: int = 5) -> tuple[list[float], Any]:
    """Runs fn repeatedly (the first run warms caches and is not counted)."""
    result = fn()
    times: list[float] = []
    deadline = time.time() + seconds
    while len(times) < most and (time.time() < deadline or len(times) < least):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def reports(ctx: Context) -> Outcome:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings

    from protocols.models import RoleAssignment
    from reporting.metrics import ReportQuery, report_compute
    from reporting.rollups.read import rollup_reports
    from reporting.rollups.refresh import rollup_refresh

    manager, _ = get_user_model().objects.get_or_create(username="bench-manager")
    RoleAssignment.objects.get_or_create(user=manager, role="manager")
    anchor = datetime.fromisoformat(str(ctx.dataset["anchor"])).astimezone(UTC)
    end = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    query = ReportQuery(start=end - timedelta(days=30), end=end)
    now = anchor

    log("  reports: rollups, first build (or catching up with what earlier arms ingested)")
    started = time.perf_counter()
    build = rollup_refresh()
    build_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('reporting_incidentfact') FROM reporting_incidentfact"
        )
        facts, fact_bytes = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('reporting_dayslice') FROM reporting_dayslice"
        )
        slices, slice_bytes = cursor.fetchone()
        cursor.execute(
            "UPDATE incidents_incident SET updated_at = updated_at WHERE id IN "
            "(SELECT id FROM incidents_incident ORDER BY created_at DESC LIMIT 100)"
        )
    started = time.perf_counter()
    step = rollup_refresh()
    step_seconds = time.perf_counter() - started

    def rolled(q: ReportQuery) -> Any:
        pair = rollup_reports(query=q, user=manager, now=now)
        assert pair is not None, "the rollups did not answer (stale?)"
        return pair

    def raw(q: ReportQuery) -> Any:
        return (
            report_compute(query=q, user=manager, now=now),
            report_compute(query=q.previous(), user=manager, now=now),
        )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT category_id FROM reporting_incidentfact WHERE day >= %s AND day < %s AND category_id "
            "IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [query.start.date(), query.end.date()],
        )
        row = cursor.fetchone()
    filtered = ReportQuery(start=query.start, end=query.end, filters={"category": str(row[0])} if row else {})

    log(f"  reports: the dashboard's figures {query.start:%Y-%m-%d} to {query.end:%Y-%m-%d} from the rollups")
    rollup_refresh()  # each section starts fresh: the rollups answer only within a minute of a refresh
    fast, fast_pair = _timed(lambda: rolled(query), seconds=ctx.params.reports_duration, most=200)
    rollup_refresh()
    fast_f, _ = _timed(lambda: rolled(filtered), seconds=ctx.params.reports_duration / 2, most=100)
    # The page through Django's WSGI handler (middleware, session, rendering, as under gunicorn; the
    # test client would also record every template it renders), signed in with a real session.
    client = Client(SERVER_NAME="localhost")
    client.force_login(manager)
    browser = InProcessClient(
        cookie=f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    )
    last_day = (query.end - timedelta(days=1)).date()
    page_query = f"start={query.start.date().isoformat()}&end={last_day.isoformat()}"

    def page() -> None:
        status, _, _ = browser.call("GET", "/reports/", query=page_query)
        assert status == 200, status

    # The bench runs without collectstatic: plain static URLs instead of the manifest's (same cost).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    rollup_refresh()
    with override_settings(STORAGES=storages):
        pages, _ = _timed(page, seconds=ctx.params.reports_duration / 2, most=100)
    log("  reports: the same figures from the raw tables")
    slow, slow_pair = _timed(lambda: raw(query), seconds=0, most=RAW_REPEATS, least=RAW_REPEATS)
    slow_f, slow_f_pair = _timed(lambda: raw(filtered), seconds=0, most=RAW_REPEATS, least=RAW_REPEATS)
    rollup_refresh()  # the raw arm took a while: the rollups catch up before the comparison
    identical = rolled(query) == slow_pair and rolled(filtered) == slow_f_pair
    assert fast_pair[0].incidents == slow_pair[0].incidents

    p95, raw_p95 = percentile(fast, 0.95) * 1000, percentile(slow, 0.95) * 1000
    p95_f, raw_p95_f = percentile(fast_f, 0.95) * 1000, percentile(slow_f, 0.95) * 1000
    page_p95 = percentile(pages, 0.95) * 1000
    ratio = percentile(slow, 0.5) / percentile(fast, 0.5)
    ratio_f = percentile(slow_f, 0.5) / percentile(fast_f, 0.5)
    met = p95 < GOAL_P95_MS and ratio >= GOAL_RATIO and identical
    current = fast_pair[0]
    line = (
        f"reports      dashboard figures (30 days, {current.incidents:,} incidents, "
        f"{current.mentions:,} mentions, "
        f"and the 30 before) from rollups p50 {num(percentile(fast, 0.5) * 1000, 1)} ms "
        f"p95 {num(p95, 1)} ms; raw p50 {num(percentile(slow, 0.5) * 1000, 0)} ms p95 {num(raw_p95, 0)} ms; "
        f"{ratio:.0f}x faster; one category: p95 {num(p95_f, 1)} ms vs {num(raw_p95_f, 0)} ms "
        f"({ratio_f:.0f}x); "
        f"page GET /reports/ p95 {num(page_p95, 1)} ms; figures identical: {identical}; "
        f"rollup build {build_seconds:.0f} s for {build.incidents:,} incidents, refresh after 100 changed "
        f"{step_seconds * 1000:.0f} ms "
        f"(goal p95 < {GOAL_P95_MS:.0f} ms, >= {GOAL_RATIO:.0f}x, identical: {'met' if met else 'NOT met'})"
    )
    return Outcome(
        "reports",
        line,
        met,
        {
            "range": [query.start.isoformat(), query.end.isoformat()],
            "incidents_in_range": current.incidents,
            "mentions_in_range": current.mentions,
            "responded_in_range": current.first_response["clock"].n,
            "approval_steps_in_range": sum(s.clock.n for s in current.stages),
            "surveys_in_range": current.csat_sent,
            "rollup": latency_ms(fast),
            "raw": latency_ms(slow),
            "ratio_p50": round(ratio, 1),
            "filtered": {
                "filter": filtered.filters,
                "rollup": latency_ms(fast_f),
                "raw": latency_ms(slow_f),
                "ratio_p50": round(ratio_f, 1),
            },
            "page": latency_ms(pages),
            "identical": identical,
            "build": {"seconds": round(build_seconds, 1), "incidents": build.incidents, "days": build.days},
            "refresh_after_100_changed": {"seconds": round(step_seconds, 3), "days": step.days},
            "facts": {"rows": facts, "bytes": fact_bytes},
            "slices": {"rows": slices, "bytes": slice_bytes},
            "goal": {"p95_ms": GOAL_P95_MS, "ratio": GOAL_RATIO},
        },
    )
