"""Every report figure against a recomputation in plain Python from the raw rows, on generated data
with business time, pauses, reopened and merged incidents; and the queue link behind a figure lists
exactly the incidents it counts."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import (
    ClockKind,
    Incident,
    Mention,
    Reply,
    ReplyDecision,
    SatisfactionSurvey,
    SlaClock,
)
from protocols.models import Platform
from reporting.metrics import Durations, ReportQuery, report_compute
from tests.reporting.world import END, NOW, START, build, cohort

pytestmark = pytest.mark.django_db


def percentile(values: list[float], q: float) -> float:
    """percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(values: list[float]) -> Durations:
    if not values:
        return Durations(0, None, None, None)
    return Durations(len(values), percentile(values, 0.5), percentile(values, 0.9), sum(values) / len(values))


def assert_durations(actual: Durations, expected: Durations) -> None:
    assert actual.n == expected.n
    for name in ("median", "p90", "mean"):
        got, want = getattr(actual, name), getattr(expected, name)
        assert (got is None and want is None) or got == pytest.approx(want, abs=1e-6), name


@pytest.mark.parametrize("seed", [11, 12])
def test_every_figure_matches_a_recomputation_from_the_raw_rows(seed: int, manager: Any) -> None:
    world = build(seed)
    report = report_compute(query=ReportQuery(start=START, end=END), user=manager, now=NOW)
    rows = cohort(world)
    ids = {i.pk for i in rows}
    assert report.incidents == len(rows)
    mentions = list(Mention.objects.filter(incident_id__in=ids))
    assert report.mentions == len(mentions)
    by_platform: dict[str, int] = {}
    for m in mentions:
        label = dict(Platform.choices)[m.platform]
        by_platform[label] = by_platform.get(label, 0) + 1
    assert dict(report.mentions_by["platform"]) == by_platform
    by_category: dict[str, int] = {}
    for i in rows:
        key = str(i.category_id or "none")
        by_category[key] = by_category.get(key, 0) + 1
    assert {c.key: c.value for c in report.incidents_by["category"]} == by_category
    products: dict[str, int] = {}
    for i in rows:
        for p in i.products:
            products[p] = products.get(p, 0) + 1
    assert {c.key: c.value for c in report.incidents_by["product"]} == products

    assert_durations(
        report.first_response["clock"],
        stats([(i.first_responded_at - i.created_at).total_seconds() for i in rows if i.first_responded_at]),
    )
    assert_durations(
        report.resolution["clock"],
        stats([(i.resolved_at - i.created_at).total_seconds() for i in rows if i.resolved_at]),
    )
    clocks = list(SlaClock.objects.filter(incident_id__in=ids))

    def business(kind: str) -> Durations:
        return stats(
            [c.consumed_seconds for c in clocks if c.kind == kind and c.stopped_at and not c.reference]
        )

    assert_durations(report.first_response["business"], business(ClockKind.FIRST_RESPONSE))
    assert_durations(report.resolution["business"], business(ClockKind.RESOLUTION))

    for target in report.targets:
        mine: dict[int, list[SlaClock]] = {}
        for c in clocks:
            if c.kind == target.kind:
                mine.setdefault(c.incident_id, []).append(c)
        breached = {i for i, cs in mine.items() if any(c.breached_at for c in cs)}
        met = {i for i, cs in mine.items() if i not in breached and any(c.stopped_at for c in cs)}
        assert (target.met, target.breached) == (len(met), len(breached)), target.kind
    any_breach = {c.incident_id for c in clocks if c.breached_at and c.kind != ClockKind.APPROVAL_STEP}
    by_priority: dict[str, int] = {}
    for i in rows:
        if i.pk in any_breach:
            by_priority[i.priority] = by_priority.get(i.priority, 0) + 1
    assert {c.key: c.value for c in report.breaches_by["priority"]} == by_priority

    steps = [c for c in clocks if c.kind == ClockKind.APPROVAL_STEP and c.stopped_at]
    for stage in report.stages:
        own = [c for c in steps if c.reference.split(":")[3] == stage.stage]
        assert_durations(
            stage.clock, stats([(c.stopped_at - c.started_at).total_seconds() for c in own if c.stopped_at])
        )
        assert_durations(stage.business, stats([c.consumed_seconds for c in own]))
    assert {s.stage for s in report.stages} == {"legal_review", "management_approval"}
    decisions = list(ReplyDecision.objects.filter(reply__incident_id__in=ids))
    assert report.replies_decided == len({d.reply_id for d in decisions})
    assert report.replies_sent_back == len(
        {d.reply_id for d in decisions if d.decision == "changes_requested"}
    )

    published: dict[int, list[datetime]] = {}
    for r in Reply.objects.filter(incident_id__in=ids, published_at__isnull=False):
        if r.published_at:
            published.setdefault(r.incident_id, []).append(r.published_at)
    open_ids = {i.pk for i in rows if i.status in ("new", "triaged", "in_progress", "waiting_on_customer")}
    waiting = [
        m
        for m in mentions
        if m.incident_id in open_ids and not any(p >= m.posted_at for p in published.get(m.incident_id, []))
    ]
    assert report.unanswered == len(waiting)
    ages = [(NOW - m.posted_at).total_seconds() for m in waiting]
    assert report.unanswered_oldest_seconds == pytest.approx(max(ages) if ages else None)

    everyone = [
        i for i in Incident.objects.filter(pk__in=[i.pk for i in world.incidents]) if not i.merged_into_id
    ]
    came_back = set()
    eligible = set()
    for i in rows:
        if i.category_id is None or not i.products:
            continue
        eligible.add(i.pk)
        for o in everyone:
            if (
                o.pk != i.pk
                and o.category_id == i.category_id
                and set(o.products) & set(i.products)
                and i.created_at < o.created_at <= i.created_at + timedelta(days=30)
            ):
                came_back.add(i.pk)
    assert (report.recurrence_base, report.recurred) == (len(eligible), len(came_back))
    surveys = list(SatisfactionSurvey.objects.filter(incident_id__in=ids))
    ratings = [v.rating for v in surveys if v.rating is not None]
    assert (report.csat_sent, report.csat_answered) == (len(surveys), len(ratings)) and ratings
    assert report.csat_average == pytest.approx(sum(ratings) / len(ratings))
    weeks: dict[str, list[int]] = {}
    for v in surveys:
        if v.answered_at and v.rating:
            monday = (v.answered_at - timedelta(days=v.answered_at.weekday())).date().isoformat()
            weeks.setdefault(monday, []).append(v.rating)
    assert [(w, n) for w, _, n in report.csat_weeks] == sorted((w, len(r)) for w, r in weeks.items())
    assert [s[0] for s in report.surges] == [i.pk for i in rows if i.thread_key.startswith("surge:")]
    assert [c["reason"] for c in report.crises] == ["Recall rumour"]


def test_a_filter_narrows_every_figure_and_the_previous_period_is_the_same_length(manager: Any) -> None:
    world = build(5)
    delivery = world.categories[0]
    query = ReportQuery(start=START, end=END, filters={"category": str(delivery.pk)})
    report = report_compute(query=query, user=manager, now=NOW)
    rows = cohort(world, category_id=delivery.pk)
    assert report.incidents == len(rows) > 0
    assert [c.key for c in report.incidents_by["category"]] == [str(delivery.pk)]
    previous = query.previous()
    assert previous.end == START and previous.end - previous.start == END - START


def test_the_queue_link_behind_a_breach_count_lists_exactly_those_incidents(
    client: Any, manager: Any
) -> None:
    world = build(7)
    report = report_compute(query=ReportQuery(start=START, end=END), user=manager, now=NOW)
    client.force_login(manager)
    for count in report.breaches_by["category"]:
        page = client.get(count.link)
        assert page.status_code == 200
        listed = {int(pk) for pk in _ids_in(page.content.decode())}
        breached = {
            c.incident_id
            for c in SlaClock.objects.filter(breached_at__isnull=False).exclude(kind=ClockKind.APPROVAL_STEP)
        }
        expected = {
            i.pk for i in cohort(world) if i.pk in breached and str(i.category_id or "none") == count.key
        }
        assert listed == expected and len(listed) == count.value


def _ids_in(html: str) -> list[str]:
    import re

    return re.findall(r'data-id="(\d+)"', html)


def test_the_report_takes_a_fixed_number_of_queries_whatever_the_data(manager: Any) -> None:
    build(3)
    query = ReportQuery(start=START, end=END)
    report_compute(query=query, user=manager, now=NOW)  # the user's roles are cached after this
    with CaptureQueriesContext(connection) as small:
        report_compute(query=query, user=manager, now=NOW)
    build_more = random.Random(1)
    for n in range(30):
        created = START + timedelta(days=build_more.uniform(0, 30))
        Incident.objects.create(title=f"more {n}", created_at=created, updated_at=created, platform="x")
    with CaptureQueriesContext(connection) as large:
        report_compute(query=query, user=manager, now=NOW)
    assert len(large) == len(small) <= 34
