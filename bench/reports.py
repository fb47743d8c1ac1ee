"""The reports dashboard's figures over the reference dataset, computed from the raw tables.

reports_raw: `report_compute` (every figure of the dashboard: ~28 statements) for the last 30 days of
the dataset, as a manager, in process, repeated; p50/p95 of one report (the dashboard computes two:
the range and the period before it). The goal the issue sets (p95 < 100 ms, >= 20x faster than raw,
identical figures) is for a rollup-backed dashboard that does not exist yet: this is the raw arm.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bench.context import Context
from bench.env import log
from bench.report import Outcome, latency_ms, num, percentile

GOAL_P95_MS = 100.0


def reports_raw(ctx: Context) -> Outcome:
    from django.contrib.auth import get_user_model

    from protocols.models import RoleAssignment
    from reporting.metrics import ReportQuery, report_compute

    manager, _ = get_user_model().objects.get_or_create(username="bench-manager")
    RoleAssignment.objects.get_or_create(user=manager, role="manager")
    anchor = (
        datetime.fromisoformat(str(ctx.dataset["anchor"]))
        .astimezone(UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    query = ReportQuery(start=anchor - timedelta(days=30), end=anchor)
    seconds: list[float] = []
    report = None
    deadline = time.time() + ctx.params.reports_duration
    log(f"  reports_raw: report_compute over {query.start:%Y-%m-%d} to {query.end:%Y-%m-%d}, raw tables")
    for index in range(ctx.params.reports_max_iterations):
        if time.time() >= deadline and len(seconds) >= 5:
            break
        started = time.perf_counter()
        report = report_compute(query=query, user=manager, now=anchor)
        elapsed = time.perf_counter() - started
        if index > 0:  # the first run warms the caches
            seconds.append(elapsed)
    assert report is not None
    p95_ms = percentile(seconds, 0.95) * 1000
    line = (
        f"reports_raw  one report (30 days, {report.incidents:,} incidents, {report.mentions:,} mentions) "
        f"p50 {num(percentile(seconds, 0.5) * 1000, 0)} ms p95 {num(p95_ms, 0)} ms  "
        f"(goal for the rollup-backed dashboard: p95 < {GOAL_P95_MS:.0f} ms; no rollup yet)"
    )
    return Outcome(
        "reports_raw",
        line,
        None,
        {
            "range": [query.start.isoformat(), query.end.isoformat()],
            "incidents_in_range": report.incidents,
            "mentions_in_range": report.mentions,
            "latency": latency_ms(seconds),
            "note": "raw arm only: the dataset has no clocks, replies or surveys, so those statements "
            "scan empty tables; the rollup arm is not built",
        },
    )
