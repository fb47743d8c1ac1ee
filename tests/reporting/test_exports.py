"""The reports' CSV exports: one row per incident of the report, every value recomputed in plain Python
from the raw rows; the figures beside the previous period; formulas neutralised; managers only; and
100,000 rows streamed in the memory of 10,000."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from incidents.models import (
    ClockKind,
    Incident,
    ReplyDecision,
    SatisfactionSurvey,
    SlaClock,
)
from protocols.models import Category, Tier
from reporting.exports import incident_rows_csv
from reporting.metrics import ReportQuery, report_compute
from tests.factories import UserFactory
from tests.reporting.world import END, NOW, START, build, cohort

pytestmark = pytest.mark.django_db
OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}
INCIDENTS_URL = "/reports/export/incidents.csv"
SUMMARY_URL = "/reports/export/summary.csv"
COLUMNS = [
    "id",
    "title",
    "link",
    "created_at",
    "category",
    "tier",
    "priority",
    "status",
    "platform",
    "assignee",
    "assigned_role",
    "products",
    "mention_count",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "first_response_seconds",
    "first_response_business_seconds",
    "first_response_outcome",
    "resolution_seconds",
    "resolution_business_seconds",
    "resolution_outcome",
    "next_response_breaches",
    "legal_review_seconds",
    "management_approval_seconds",
    "replies_sent_back",
    "csat_rating",
    "csat_answered_at",
]
SECONDS = re.compile(r"^\d+(\.\d{1,3})?$")


def export_rows(client: Client, params: dict[str, str]) -> tuple[list[str], list[dict[str, str]]]:
    response = client.get(INCIDENTS_URL, params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds_cell(cell: str) -> float | None:
    if cell == "":
        return None
    assert SECONDS.match(cell), cell  # seconds, at most three decimals
    return float(cell)


def between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def outcome(clocks: list[SlaClock]) -> str:
    if not clocks:
        return "none"
    if any(c.breached_at for c in clocks):
        return "breached"
    return "met" if any(c.stopped_at for c in clocks) else "pending"


def business(clocks: list[SlaClock]) -> float | None:
    stopped = [(c.stopped_at, c.pk, c.consumed_seconds) for c in clocks if c.stopped_at and not c.reference]
    return max(stopped)[2] if stopped else None


def stage_seconds(clocks: list[SlaClock], stage: str) -> float | None:
    spans = [
        (c.stopped_at - c.started_at).total_seconds()
        for c in clocks
        if c.stopped_at and c.reference.split(":")[3] == stage
    ]
    return sum(spans) if spans else None


def expected_row(incident: Incident, clocks: list[SlaClock], sent_back: int, survey: Any) -> dict[str, Any]:
    """Every column of one incident, from its own rows (durations as floats, compared within 1 ms)."""
    kinds: dict[str, list[SlaClock]] = {}
    for c in clocks:
        kinds.setdefault(c.kind, []).append(c)
    approvals = kinds.get(ClockKind.APPROVAL_STEP, [])
    return {
        "id": str(incident.pk),
        "title": incident.title,
        "link": f"/incidents/{incident.pk}/",
        "created_at": iso(incident.created_at),
        "category": incident.category.name if incident.category else "",
        "tier": incident.category.tier if incident.category else "",
        "priority": incident.priority,
        "status": incident.status,
        "platform": incident.platform,
        "assignee": incident.assignee.username if incident.assignee else "",
        "assigned_role": incident.assigned_role,
        "products": ";".join(incident.products),
        "mention_count": str(incident.mention_count),
        "first_responded_at": iso(incident.first_responded_at),
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
        "first_response_seconds": between(incident.created_at, incident.first_responded_at),
        "first_response_business_seconds": business(kinds.get(ClockKind.FIRST_RESPONSE, [])),
        "first_response_outcome": outcome(kinds.get(ClockKind.FIRST_RESPONSE, [])),
        "resolution_seconds": between(incident.created_at, incident.resolved_at),
        "resolution_business_seconds": business(kinds.get(ClockKind.RESOLUTION, [])),
        "resolution_outcome": outcome(kinds.get(ClockKind.RESOLUTION, [])),
        "next_response_breaches": str(
            sum(1 for c in kinds.get(ClockKind.NEXT_RESPONSE, []) if c.breached_at)
        ),
        "legal_review_seconds": stage_seconds(approvals, "legal_review"),
        "management_approval_seconds": stage_seconds(approvals, "management_approval"),
        "replies_sent_back": str(sent_back),
        "csat_rating": str(survey.rating) if survey else "",
        "csat_answered_at": iso(survey.answered_at) if survey else "",
    }


def survey(incident: Incident, *, created: datetime, rating: int | None = None) -> SatisfactionSurvey:
    return SatisfactionSurvey.objects.create(
        incident=incident,
        created_at=created,
        expires_at=created + timedelta(days=14),
        answered_at=created + timedelta(hours=2) if rating else None,
        rating=rating,
    )


def with_surveys_and_next_response_breaches(rows: list[Incident]) -> None:
    """Two answered surveys (the later one counts) and a later unanswered one; breached next responses."""
    resolved = [i for i in rows if i.resolved_at][:3]
    for n, incident in enumerate(resolved):
        at = incident.resolved_at or NOW
        survey(incident, created=at, rating=2)
        survey(incident, created=at + timedelta(days=1), rating=4 + n % 2)
        survey(incident, created=at + timedelta(days=2))
    for incident in rows[:2]:
        for hours in (1, 5):
            SlaClock.objects.create(
                incident=incident,
                kind=ClockKind.NEXT_RESPONSE,
                started_at=incident.created_at + timedelta(hours=hours),
                stopped_at=incident.created_at + timedelta(hours=hours + 2),
                breached_at=incident.created_at + timedelta(hours=hours + 1),
                status="stopped",
                policy_name="Standard",
                calendar_name="24/7",
                calendar={},
                target_seconds=3600,
                updated_at=incident.created_at,
            )


def test_one_row_per_incident_of_the_report_with_every_value_recomputed(client: Client, manager: Any) -> None:
    world = build(41)
    rows = cohort(world)
    with_surveys_and_next_response_breaches(rows)
    client.force_login(manager)

    response = client.get(INCIDENTS_URL, OCTOBER)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="firebreak-incidents-2026-10-01-to-2026-10-31.csv"'
    )
    columns, exported = export_rows(client, OCTOBER)
    assert columns == COLUMNS
    assert [r["id"] for r in exported] == [
        str(i.pk) for i in sorted(rows, key=lambda i: (i.created_at, i.pk))
    ]  # one row each, oldest first

    ids = [i.pk for i in rows]
    clocks: dict[int, list[SlaClock]] = {}
    for c in SlaClock.objects.filter(incident_id__in=ids):
        clocks.setdefault(c.incident_id, []).append(c)
    sent_back: dict[int, set[int]] = {}
    decisions = ReplyDecision.objects.filter(reply__incident_id__in=ids, decision="changes_requested")
    for incident_id, reply_id in decisions.values_list("reply__incident_id", "reply_id"):
        sent_back.setdefault(incident_id, set()).add(reply_id)
    latest_answer: dict[int, SatisfactionSurvey] = {}
    answered = SatisfactionSurvey.objects.filter(incident_id__in=ids, answered_at__isnull=False)
    for s in answered.order_by("answered_at", "id"):
        latest_answer[s.incident_id] = s
    assert latest_answer and sent_back  # the data exercises both
    assert {r["first_response_outcome"] for r in exported} == {"met", "breached", "pending"}
    assert {"none", "met", "breached"} <= {r["resolution_outcome"] for r in exported}
    assert any(r["management_approval_seconds"] for r in exported)

    by_id = {r["id"]: r for r in exported}
    for incident in Incident.objects.filter(pk__in=ids).select_related("category", "assignee"):
        expected = expected_row(
            incident,
            clocks.get(incident.pk, []),
            len(sent_back.get(incident.pk, set())),
            latest_answer.get(incident.pk),
        )
        row = by_id[str(incident.pk)]
        for column, value in expected.items():
            if isinstance(value, float) or column.endswith("_seconds"):
                got = seconds_cell(row[column])
                assert (got is None and value is None) or got == pytest.approx(value, abs=5e-4), column
            else:
                assert row[column] == value, column

    # The rows add up to the report's own figures.
    report = report_compute(query=ReportQuery(start=START, end=END), user=manager, now=NOW)
    for target in report.targets:
        if target.kind in ("first_response", "resolution"):
            outcomes = [r[f"{target.kind}_outcome"] for r in exported]
            assert (outcomes.count("met"), outcomes.count("breached")) == (target.met, target.breached)
    legal = next(s for s in report.stages if s.stage == "legal_review")
    assert sum(1 for r in exported if r["legal_review_seconds"]) == legal.clock.n  # one step each here
    assert {r["next_response_breaches"] for r in exported} == {"0", "2"}


def test_merged_incidents_are_left_out_and_a_filter_narrows_the_rows(client: Client, manager: Any) -> None:
    world = build(42)
    merged = world.incidents[3]
    assert merged.merged_into_id is not None and START <= merged.created_at < END
    client.force_login(manager)
    _, everything = export_rows(client, OCTOBER)
    assert str(merged.pk) not in {r["id"] for r in everything}
    assert len(everything) == len(cohort(world))

    delivery = world.categories[0]
    _, narrowed = export_rows(client, {**OCTOBER, "category": str(delivery.pk), "priority": "high"})
    expected = {str(i.pk) for i in cohort(world, category_id=delivery.pk, priority="high")}
    assert {r["id"] for r in narrowed} == expected and 0 < len(narrowed) < len(everything)
    assert {r["category"] for r in narrowed} == {"Delivery"}

    safety, agent = world.categories[1], world.users[0]
    _, high_tier = export_rows(client, {**OCTOBER, "tier": "high_priority", "assignee": str(agent.pk)})
    expected = {str(i.pk) for i in cohort(world, category_id=safety.pk, assignee_id=agent.pk)}
    assert {r["id"] for r in high_tier} == expected and expected
    assert {(r["tier"], r["assignee"]) for r in high_tier} == {("high_priority", "agent0")}

    _, week = export_rows(client, {"start": "2026-10-01", "end": "2026-10-07"})
    assert {r["id"] for r in week} == {
        str(i.pk) for i in cohort(world) if i.created_at < START + timedelta(days=7)
    }


def test_cells_that_look_like_formulas_are_written_as_text(client: Client, manager: Any) -> None:
    category = Category.objects.create(name="=cmd|' /C calc'!A0", slug="evil", tier=Tier.ROUTINE)
    mallory = UserFactory(username="@mallory")
    titles = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rReturn", "Fine - really"]
    for n, title in enumerate(titles):
        created = START + timedelta(hours=n)
        Incident.objects.create(
            title=title,
            category=category,
            assignee=mallory,
            products=["+kettle", "toaster"],
            created_at=created,
            updated_at=created,
            platform="x",
        )
    client.force_login(manager)
    _, rows = export_rows(client, OCTOBER)
    assert [r["title"] for r in rows] == [
        '\'=HYPERLINK("http://evil")',
        "'+1+2",
        "'-3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rReturn",
        "Fine - really",
    ]
    assert {(r["category"], r["assignee"], r["products"]) for r in rows} == {
        ("'=cmd|' /C calc'!A0", "'@mallory", "'+kettle;toaster")
    }
    summary = list(csv.DictReader(io.StringIO(client.get(SUMMARY_URL, OCTOBER).content.decode())))
    labels = {r["label"] for r in summary if r["section"] == "incidents_by"}
    assert "'=cmd|' /C calc'!A0" in labels and "'+kettle" in labels
    assert not any(r["label"].startswith(("=", "+", "-", "@")) for r in summary)


def summary_rows(client: Client, params: dict[str, str]) -> dict[tuple[str, str, str], dict[str, str]]:
    response = client.get(SUMMARY_URL, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="firebreak-summary-2026-10-01-to-2026-10-31.csv"'
    )
    reader = csv.DictReader(io.StringIO(response.content.decode()))
    assert reader.fieldnames == ["section", "dimension", "key", "label", "value", "previous_value", "link"]
    rows = {(r["section"], r["dimension"], r["key"]): r for r in reader}
    return rows


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def same(cell: str, value: float | None) -> bool:
    got = number(cell)
    return (got is None and value is None) or (
        got is not None and value is not None and got == pytest.approx(value, abs=1e-3)
    )


def test_the_summary_holds_the_reports_figures_beside_the_previous_period(
    client: Client, manager: Any
) -> None:
    world = build(43)
    with_surveys_and_next_response_breaches(cohort(world))
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        rows = summary_rows(client, OCTOBER)
    query = ReportQuery(start=START, end=END)
    report = report_compute(query=query, user=manager, now=NOW)
    previous = report_compute(query=query.previous(), user=manager, now=NOW)
    assert previous.incidents > 0  # the world has incidents before October

    def check(key: tuple[str, str, str], value: float | None, before: float | None, link: str = "") -> None:
        row = rows.pop(key)
        assert same(row["value"], value), (key, row["value"], value)
        assert same(row["previous_value"], before), (key, row["previous_value"], before)
        assert row["link"] == link, key

    check(("volume", "", "incidents"), report.incidents, previous.incidents, report.incidents_link)
    check(("volume", "", "mentions"), report.mentions, previous.mentions, report.incidents_link)
    for dimension, counts in report.incidents_by.items():
        before = {c.key: c.value for c in previous.incidents_by[dimension]}
        for c in counts:
            check(("incidents_by", dimension, c.key), c.value, before.get(c.key, 0), c.link)
    for dimension, pairs in report.mentions_by.items():
        mentions_before = dict(previous.mentions_by[dimension])
        for label, n in pairs:
            row = next(
                r for k, r in rows.items() if k[:2] == ("mentions_by", dimension) and r["label"] == label
            )
            check(("mentions_by", dimension, row["key"]), n, mentions_before.get(label, 0))
    days = [k for k in rows if k[0] == "incidents_per_day"]
    assert len(days) == 31 and days[0][2] == "2026-10-01" and days[-1][2] == "2026-10-31"
    first_day = rows[days[0]]["link"]
    assert "created_after=2026-10-01T00%3A00%3A00%2B00%3A00" in first_day
    assert "created_before=2026-10-02T00%3A00%3A00%2B00%3A00" in first_day
    assert sum(number(rows.pop(k)["value"]) or 0 for k in days) == report.incidents
    for section in ("first_response", "resolution"):
        for measure in ("clock", "business"):
            now, before = getattr(report, section)[measure], getattr(previous, section)[measure]
            check((section, measure, "n"), now.n, before.n)
            for figure in ("median", "p90", "mean"):
                check((section, measure, f"{figure}_seconds"), getattr(now, figure), getattr(before, figure))
    for targets, targets_before, section in (
        (report.targets, previous.targets, "targets"),
        (report.compliance_by_category, previous.compliance_by_category, "compliance_by_category"),
    ):
        before_by_kind = {t.kind: t for t in targets_before}
        for t in targets:
            b = before_by_kind.get(t.kind)
            check((section, t.kind, "met"), t.met, b.met if b else 0, t.met_link)
            check((section, t.kind, "breached"), t.breached, b.breached if b else 0, t.breached_link)
            check((section, t.kind, "compliance"), t.compliance, b.compliance if b else None)
    for dimension, counts in report.breaches_by.items():
        before = {c.key: c.value for c in previous.breaches_by[dimension]}
        for c in counts:
            check(("breaches_by", dimension, c.key), c.value, before.get(c.key, 0), c.link)
    stages_before = {s.stage: s for s in previous.stages}
    for stage in report.stages:
        for measure in ("clock", "business"):
            now, before = getattr(stage, measure), getattr(stages_before[stage.stage], measure)
            check(("approval_stages", stage.stage, f"{measure}_n"), now.n, before.n)
            check(("approval_stages", stage.stage, f"{measure}_median_seconds"), now.median, before.median)
            for figure in ("p90", "mean"):
                rows.pop(("approval_stages", stage.stage, f"{measure}_{figure}_seconds"))
    check(("replies", "", "decided"), report.replies_decided, previous.replies_decided)
    check(("replies", "", "sent_back"), report.replies_sent_back, previous.replies_sent_back)
    check(("replies", "", "sent_back_share"), report.sent_back_share, previous.sent_back_share)
    check(("unanswered", "", "mentions"), report.unanswered, None, report.unanswered_link)
    check(("unanswered", "", "oldest_seconds"), report.unanswered_oldest_seconds, None)
    check(("unanswered", "", "median_seconds"), report.unanswered_median_seconds, None)
    check(("recurrence", "", "base"), report.recurrence_base, previous.recurrence_base)
    check(("recurrence", "", "recurred"), report.recurred, previous.recurred)
    check(("recurrence", "", "share"), report.recurrence_share, previous.recurrence_share)
    check(("csat", "", "sent"), report.csat_sent, previous.csat_sent)
    check(("csat", "", "answered"), report.csat_answered, previous.csat_answered)
    check(("csat", "", "response_rate"), report.csat_response_rate, previous.csat_response_rate)
    check(("csat", "", "average_rating"), report.csat_average, previous.csat_average)
    assert report.csat_weeks
    for week, average, n in report.csat_weeks:
        check(("csat_weeks", week, "average_rating"), average, None)
        check(("csat_weeks", week, "answered"), n, None)
    themes_before = {(c, p): n for c, p, n, _ in previous.themes}
    assert report.themes
    for name, product, n, link in report.themes:
        check(("themes", name, product), n, themes_before.get((name, product)), link)
    assert rows == {}  # nothing else, and nothing twice


def test_the_dashboard_links_to_both_exports_for_its_range_and_filters(client: Client, manager: Any) -> None:
    world = build(44)
    delivery = world.categories[0]
    client.force_login(manager)
    html = client.get("/reports/", {**OCTOBER, "category": str(delivery.pk)}).content.decode()
    query = f"start=2026-10-01&amp;end=2026-10-31&amp;category={delivery.pk}"
    assert f'href="{INCIDENTS_URL}?{query}"' in html and "Export incidents (CSV)" in html
    assert f'href="{SUMMARY_URL}?{query}"' in html and "Export figures (CSV)" in html


@pytest.mark.parametrize("url", [INCIDENTS_URL, SUMMARY_URL])
@pytest.mark.parametrize("who", ["responder", "outsider"])
def test_other_roles_cannot_export(
    client: Client, who: str, url: str, request: pytest.FixtureRequest
) -> None:
    build(45)
    client.force_login(request.getfixturevalue(who))
    response = client.get(url, OCTOBER)
    assert response.status_code == 403
    assert "Your role does not allow this." in response.content.decode()


@pytest.mark.parametrize("url", [INCIDENTS_URL, SUMMARY_URL])
def test_signing_in_comes_first(client: Client, url: str) -> None:
    response = client.get(url, OCTOBER)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [INCIDENTS_URL, SUMMARY_URL])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-10-31", "end": "2026-10-01"}, "The range ends before it starts."),
        ({"start": "2020-01-01", "end": "2026-10-01"}, "A report covers at most two years."),
        ({"priority": "urgent"}, "Priority: Select a valid choice."),
    ],
)
def test_a_bad_range_answers_400_saying_why(
    client: Client, manager: Any, url: str, params: dict[str, str], message: str
) -> None:
    client.force_login(manager)
    response = client.get(url, params)
    assert response.status_code == 400
    assert not isinstance(response, StreamingHttpResponse)
    assert message in response.content.decode()


# --- streaming: 100,000 rows in the memory of 10,000 -------------------------------------------------

BULK_INCIDENTS = """
INSERT INTO incidents_incident (title, description, priority, status, assigned_role, follow_up_required,
    tags, products, platform, thread_key, author_key, mention_count, created_at, updated_at,
    first_responded_at, resolved_at)
SELECT 'Bulk incident ' || g, '', (ARRAY['low', 'normal', 'high', 'critical'])[1 + g %% 4],
    CASE WHEN g %% 3 = 0 THEN 'resolved' ELSE 'new' END, '', false, '{}', ARRAY['kettle', 'toaster'],
    'x', 'bulk:' || g, '', 1, %(start)s + g * interval '50 seconds', %(start)s + g * interval '50 seconds',
    CASE WHEN g %% 2 = 0 THEN %(start)s + g * interval '50 seconds' + interval '17 minutes' END,
    CASE WHEN g %% 3 = 0 THEN %(start)s + g * interval '50 seconds' + interval '5 hours' END
FROM generate_series(%(first)s, %(last)s) AS g
"""
BULK_CLOCKS = """
INSERT INTO incidents_slaclock (incident_id, kind, reference, status, policy_name, calendar_name,
    calendar, chain, chain_name, target_seconds, started_at, consumed_seconds, paused_for_seconds,
    stopped_at, breached_at, next_step, step_repeats, updated_at)
SELECT i.id, k.kind, k.reference, CASE WHEN k.stopped IS NULL THEN 'running' ELSE 'stopped' END,
    'Standard', '24/7', '{}', '[]', '', 3600, i.created_at, 612.25, 0, k.stopped,
    CASE WHEN i.id %% 5 = 0 THEN k.stopped END, 0, 0, i.created_at
FROM incidents_incident i
CROSS JOIN LATERAL (VALUES
    ('first_response', '', i.first_responded_at),
    ('resolution', '', i.resolved_at),
    ('approval_step', 'reply:0:v1:legal_review:legal', i.created_at + interval '8 minutes')
) AS k(kind, reference, stopped)
WHERE i.thread_key LIKE 'bulk:%%' AND i.id > %(after)s
"""
QUARTER = {"start": "2026-10-01", "end": "2026-12-31"}


def add_bulk_incidents(first: int, last: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM incidents_incident")
        (after,) = cursor.fetchone()
        cursor.execute(BULK_INCIDENTS, {"start": START, "first": first, "last": last})
        cursor.execute(BULK_CLOCKS, {"after": after})


def lines(chunks: Iterable[bytes]) -> Iterator[str]:
    for chunk in chunks:
        yield from chunk.decode().splitlines(keepends=True)


def stream_and_count(client: Client, params: dict[str, str] = QUARTER) -> tuple[int, int]:
    """Rows exported and the peak of Python's traced memory while they streamed."""
    response = client.get(INCIDENTS_URL, params)
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        reader = csv.reader(lines(response.streaming_content))
        assert next(reader) == COLUMNS
        count = 0
        for row in reader:
            assert len(row) == len(COLUMNS)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


# Committed and truncated afterwards: rolled back, 400,000 rows would stay behind as dead tuples for
# every later test to scan (the test server runs without autovacuum). It also runs the export in its
# own transaction, as in production.
@pytest.mark.django_db(transaction=True)
def test_a_hundred_thousand_rows_stream_in_flat_memory(client: Client, manager: Any) -> None:
    client.force_login(manager)
    add_bulk_incidents(1, 10_000)

    # The rows come from a server-side cursor, open while the download is, closed with it (a response
    # closes its content when the server is done with it, also when the download was abandoned).
    quarter = ReportQuery(start=START, end=datetime(2027, 1, 1, tzinfo=UTC))
    chunks = incident_rows_csv(query=quarter, user=manager)
    next(chunks), next(chunks)  # the header, then the first rows
    open_cursors = "SELECT count(*) FROM pg_cursors WHERE NOT is_holdable"
    with connection.cursor() as cursor:
        cursor.execute(open_cursors)
        assert cursor.fetchone() == (1,)
        chunks.close()
        cursor.execute(open_cursors)
        assert cursor.fetchone() == (0,)

    # Warms what is made once per process (URL resolvers, codecs), on the first day's rows.
    stream_and_count(client, {"start": "2026-10-01", "end": "2026-10-01"})
    ten_thousand, small_peak = stream_and_count(client)
    add_bulk_incidents(10_001, 100_000)
    hundred_thousand, large_peak = stream_and_count(client)
    print(
        f"traced peak: {small_peak / 1024:.0f} KiB for 10,000 rows, {large_peak / 1024:.0f} KiB for 100,000"
    )

    assert (ten_thousand, hundred_thousand) == (10_000, 100_000)
    assert large_peak < 2 * small_peak + 512 * 1024
    assert large_peak < 16 * 1024 * 1024
