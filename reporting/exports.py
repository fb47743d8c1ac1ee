"""CSV exports of a report: one row per incident behind its figures (streamed from a server-side cursor,
so a million rows cost the memory of one chunk) and the figures themselves beside the previous period.

Cells that a spreadsheet would evaluate as a formula (titles and products come from the public) are
written with a leading apostrophe, which makes them text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.urls import reverse

from config.csv_export import CsvChunks, spreadsheet_safe
from reporting.metrics import Count, Durations, Report, ReportQuery, Target, report_incidents
from reporting.metrics.cohort import LABELS

INCIDENT_COLUMNS = (
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
)
SUMMARY_COLUMNS = ("section", "dimension", "key", "label", "value", "previous_value", "link")
CHUNK_ROWS = 2_000
TARGET_KINDS = ("first_response", "resolution")
APPROVAL_STAGES = ("legal_review", "management_approval")


def _iso(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _seconds(expression: str) -> str:
    return f"trim_scale(round(({expression})::numeric, 3))::text"


def _target_aggregates(kind: str) -> str:
    # The outcome follows the report's targets: breached if any clock of the kind breached, met once one
    # stopped unbreached. Business seconds: the incident's own clock (reference '') that stopped last.
    of_kind = f"k.kind = '{kind}'"
    return (
        f"count(*) FILTER (WHERE {of_kind}) AS {kind}_clocks, "
        f"bool_or(k.breached_at IS NOT NULL) FILTER (WHERE {of_kind}) AS {kind}_breached, "
        f"bool_or(k.stopped_at IS NOT NULL) FILTER (WHERE {of_kind}) AS {kind}_stopped, "
        f"(array_agg(k.consumed_seconds ORDER BY k.stopped_at DESC, k.id DESC) FILTER (WHERE {of_kind} "
        f"AND k.reference = '' AND k.stopped_at IS NOT NULL))[1] AS {kind}_business"
    )


def _stage_seconds(stage: str) -> str:
    return (
        f"sum(extract(epoch FROM k.stopped_at - k.started_at)) FILTER (WHERE k.kind = 'approval_step' "
        f"AND k.stopped_at IS NOT NULL AND split_part(k.reference, ':', 4) = '{stage}') AS {stage}"
    )


def _target_columns(kind: str, clock: str) -> str:
    outcome = (
        f"CASE WHEN k.{kind}_clocks = 0 THEN 'none' WHEN k.{kind}_breached THEN 'breached' "
        f"WHEN k.{kind}_stopped THEN 'met' ELSE 'pending' END"
    )
    return f"{_seconds(clock)}, {_seconds(f'k.{kind}_business')}, {outcome}"


# The cohort's own columns: its query is the row source (one scan of the incidents, in created order),
# never joined back to the table by id, which a planner with stale statistics can turn quadratic.
_INCIDENT_FIELDS = (
    "id",
    "title",
    "created_at",
    "category_id",
    "priority",
    "status",
    "platform",
    "assignee_id",
    "assigned_role",
    "products",
    "mention_count",
    "first_responded_at",
    "resolved_at",
    "closed_at",
)
# Where, in the statement's rows, the cells are that people (or the public) typed: the title, the
# category's name, the assignee's username and the products.
_TYPED_CELLS = (1, 3, 8, 10)
_ROWS_SELECT = (
    f"SELECT i.id, i.title, {_iso('i.created_at')}, c.name, c.tier, i.priority, i.status, i.platform, "
    "u.username, i.assigned_role, array_to_string(i.products, ';'), i.mention_count, "
    f"{_iso('i.first_responded_at')}, {_iso('i.resolved_at')}, {_iso('i.closed_at')}, "
    f"{_target_columns('first_response', 'extract(epoch FROM i.first_responded_at - i.created_at)')}, "
    f"{_target_columns('resolution', 'extract(epoch FROM i.resolved_at - i.created_at)')}, "
    "k.next_response_breaches, "
    + ", ".join(_seconds(f"k.{stage}") for stage in APPROVAL_STAGES)
    + f", r.sent_back, s.rating, {_iso('s.answered_at')} "
)
# Each incident's clocks, sent-back replies and latest answered survey come from a lateral subquery over
# its own rows (indexed by incident), so the rows flow out as they are found.
_ROWS_JOINS = (
    "LEFT JOIN protocols_category c ON c.id = i.category_id "
    "LEFT JOIN auth_user u ON u.id = i.assignee_id "
    "LEFT JOIN LATERAL (SELECT "
    + ", ".join(_target_aggregates(kind) for kind in TARGET_KINDS)
    + ", count(*) FILTER (WHERE k.kind = 'next_response' AND k.breached_at IS NOT NULL) "
    "AS next_response_breaches, "
    + ", ".join(_stage_seconds(stage) for stage in APPROVAL_STAGES)
    + " FROM incidents_slaclock k WHERE k.incident_id = i.id) k ON true "
    "LEFT JOIN LATERAL (SELECT count(DISTINCT d.reply_id) AS sent_back FROM incidents_reply rr "
    "JOIN incidents_replydecision d ON d.reply_id = rr.id "
    "WHERE rr.incident_id = i.id AND d.decision = 'changes_requested') r ON true "
    "LEFT JOIN LATERAL (SELECT v.rating, v.answered_at FROM incidents_satisfactionsurvey v "
    "WHERE v.incident_id = i.id AND v.answered_at IS NOT NULL "
    "ORDER BY v.answered_at DESC, v.id DESC LIMIT 1) s ON true "
)


def incident_rows_csv(*, query: ReportQuery, user: Any) -> Iterator[str]:
    """The header, then one row per incident of the report's cohort, oldest first, as CSV text chunks.

    The permission and the filters are checked now, before a response starts; the rows are read
    `CHUNK_ROWS` at a time from a server-side cursor while the chunks are consumed."""
    cohort = report_incidents(query=query, user=user).order_by().values(*_INCIDENT_FIELDS)
    cohort_sql, params = cohort.query.sql_with_params()
    sql = f"{_ROWS_SELECT} FROM ({cohort_sql}) i {_ROWS_JOINS} ORDER BY i.created_at, i.id"
    # The incident page's address with a placeholder id, reversed once rather than per row.
    link_head, _, link_tail = reverse("incidents:incident_detail", args=[0]).rpartition("0")
    return _stream(sql, list(params), link_head, link_tail)


def _stream(sql: str, params: Sequence[Any], link_head: str, link_tail: str) -> Iterator[str]:
    chunks = CsvChunks()
    chunks.row(INCIDENT_COLUMNS)
    yield chunks.drain()
    # A named cursor inside a transaction: PostgreSQL keeps the result and hands it over chunk by chunk
    # (outside one, Django's cursor would be WITH HOLD and materialise every row before the first).
    with transaction.atomic():
        with connection.cursor() as settings:
            # The plan is a walk down an index with small lookups per row: compiling it (about a second
            # before the first row) costs more than it could save.
            settings.execute("SET LOCAL jit = off")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(CHUNK_ROWS):
                for row in rows:
                    cells = list(row)
                    for at in _TYPED_CELLS:
                        cells[at] = spreadsheet_safe(cells[at])
                    cells.insert(2, f"{link_head}{cells[0]}{link_tail}")  # after id and title
                    chunks.row(cells)
                yield chunks.drain()


SummaryRow = tuple[str, str, str, str, object, object, str]


def summary_csv(*, report: Report, previous: Report) -> str:
    """The report's figures as CSV: section, dimension, key, label, value, the previous period's value
    and the queue link behind the figure. Seconds and counts are numbers; shares are 0 to 1."""
    chunks = CsvChunks()
    chunks.row(SUMMARY_COLUMNS)
    for section, dimension, key, label, value, before, link in _summary_rows(report, previous):
        chunks.row(
            (
                section,
                spreadsheet_safe(dimension),
                spreadsheet_safe(key),
                spreadsheet_safe(label),
                _cell(value),
                _cell(before),
                link,
            )
        )
    return chunks.drain()


def _summary_rows(report: Report, previous: Report) -> Iterator[SummaryRow]:
    yield from _volume(report, previous)
    yield from _days(report, previous)
    yield from _times(report, previous)
    yield from _targets(report, previous)
    yield from _figures(report, previous)


def _volume(report: Report, previous: Report) -> Iterator[SummaryRow]:
    yield (
        "volume",
        "",
        "incidents",
        "Incidents",
        report.incidents,
        previous.incidents,
        report.incidents_link,
    )
    yield ("volume", "", "mentions", "Mentions", report.mentions, previous.mentions, report.incidents_link)
    for dimension, counts in report.incidents_by.items():
        # Only the top products are listed: one missing from the previous period's list is unknown.
        missing = "" if dimension == "product" else 0
        before = previous.incidents_by.get(dimension, [])
        yield from _counts("incidents_by", dimension, counts, before, missing)
    for dimension, pairs in report.mentions_by.items():
        keys = {label: key for key, label in LABELS[dimension].items()}
        mentions_before = dict(previous.mentions_by.get(dimension, []))
        for label, n in pairs:
            key = keys.get(label, label)
            yield ("mentions_by", dimension, key, label, n, mentions_before.get(label, 0), "")


def _times(report: Report, previous: Report) -> Iterator[SummaryRow]:
    for section, title in (("first_response", "First response"), ("resolution", "Resolution")):
        for measure in ("clock", "business"):
            now, before = getattr(report, section)[measure], getattr(previous, section)[measure]
            yield from _durations(section, measure, "", f"{title}, {measure} time", now, before)
    stages_before = {s.stage: s for s in previous.stages}
    empty = Durations(0, None, None, None)
    for stage in report.stages:
        stage_before = stages_before.get(stage.stage)
        for measure in ("clock", "business"):
            now = getattr(stage, measure)
            before = getattr(stage_before, measure) if stage_before else empty
            label = f"{stage.label}, {measure} time"
            yield from _durations("approval_stages", stage.stage, f"{measure}_", label, now, before)


def _targets(report: Report, previous: Report) -> Iterator[SummaryRow]:
    targets_before = {t.kind: t for t in previous.targets}
    for target in report.targets:
        yield from _target("targets", target, targets_before.get(target.kind))
    categories_before = {t.kind: t for t in previous.compliance_by_category}
    for target in report.compliance_by_category:
        yield from _target("compliance_by_category", target, categories_before.get(target.kind))
    for dimension, counts in report.breaches_by.items():
        yield from _counts("breaches_by", dimension, counts, previous.breaches_by.get(dimension, []), 0)


def _figures(report: Report, previous: Report) -> Iterator[SummaryRow]:
    """Replies sent back, unanswered mentions (waiting now: not compared, as on the dashboard),
    recurrence, customer satisfaction (by the week answers came in) and the top recurring themes."""
    rows: list[tuple[str, str, str, object, object, str]] = [
        ("replies", "decided", "Reviewed replies", report.replies_decided, previous.replies_decided, ""),
        ("replies", "sent_back", "Sent back", report.replies_sent_back, previous.replies_sent_back, ""),
        (
            "replies",
            "sent_back_share",
            "Share sent back",
            _share(report.sent_back_share),
            _share(previous.sent_back_share),
            "",
        ),
        ("unanswered", "mentions", "Unanswered mentions", report.unanswered, "", report.unanswered_link),
        ("unanswered", "oldest_seconds", "Oldest waiting (s)", report.unanswered_oldest_seconds, "", ""),
        ("unanswered", "median_seconds", "Median wait (s)", report.unanswered_median_seconds, "", ""),
        (
            "recurrence",
            "base",
            "With category and product",
            report.recurrence_base,
            previous.recurrence_base,
            "",
        ),
        ("recurrence", "recurred", "Came back within 30 days", report.recurred, previous.recurred, ""),
        (
            "recurrence",
            "share",
            "Share that came back",
            _share(report.recurrence_share),
            _share(previous.recurrence_share),
            "",
        ),
    ]
    for section, key, label, value, before, link in rows:
        yield (section, "", key, label, value, before, link)
    for key, label, value, before in (
        ("sent", "Surveys sent", report.csat_sent, previous.csat_sent),
        ("answered", "Surveys answered", report.csat_answered, previous.csat_answered),
        (
            "response_rate",
            "Share answered",
            _share(report.csat_response_rate),
            _share(previous.csat_response_rate),
        ),
        ("average_rating", "Average rating (1-5)", report.csat_average, previous.csat_average),
    ):
        yield ("csat", "", key, label, value, before, "")
    for week, average, answers in report.csat_weeks:
        yield ("csat_weeks", week, "average_rating", f"Week of {week}: average rating", average, "", "")
        yield ("csat_weeks", week, "answered", f"Week of {week}: answers", answers, "", "")
    # The top themes only: one missing from the previous period's top is unknown, not 0.
    themes_before = {(name, product): n for name, product, n, _ in previous.themes}
    for name, product, n, link in report.themes:
        n_before = themes_before.get((name, product), "")
        yield ("themes", name, product, f"{name} · {product}", n, n_before, link)


def _counts(
    section: str, dimension: str, counts: Sequence[Count], before: Sequence[Count], missing: object
) -> Iterator[SummaryRow]:
    values_before = {c.key: c.value for c in before}
    for c in counts:
        yield (section, dimension, c.key, c.label, c.value, values_before.get(c.key, missing), c.link)


def _days(report: Report, previous: Report) -> Iterator[SummaryRow]:
    """Every day of the range, beside the day at the same place in the previous period."""
    query = report.query
    days, days_before = dict(report.per_day), dict(previous.per_day)
    for offset in range((query.end - query.start).days):
        day_start = query.start + timedelta(days=offset)
        day = day_start.date().isoformat()
        day_before = (previous.query.start.date() + timedelta(days=offset)).isoformat()
        link = query.link(
            created_after=day_start.isoformat(), created_before=(day_start + timedelta(days=1)).isoformat()
        )
        yield ("incidents_per_day", "day", day, day, days.get(day, 0), days_before.get(day_before, 0), link)


def _durations(
    section: str, dimension: str, prefix: str, label: str, now: Durations, before: Durations
) -> Iterator[SummaryRow]:
    yield (section, dimension, f"{prefix}n", f"{label}: measured", now.n, before.n, "")
    for figure, words in (("median", "median"), ("p90", "90th percentile"), ("mean", "mean")):
        yield (
            section,
            dimension,
            f"{prefix}{figure}_seconds",
            f"{label}: {words} (s)",
            getattr(now, figure),
            getattr(before, figure),
            "",
        )


def _target(section: str, target: Target, before: Target | None) -> Iterator[SummaryRow]:
    for key, value, value_before, link in (
        ("met", target.met, before.met if before else 0, target.met_link),
        ("breached", target.breached, before.breached if before else 0, target.breached_link),
        ("compliance", _share(target.compliance), _share(before.compliance) if before else "", ""),
    ):
        yield (section, target.kind, key, f"{target.label}: {key}", value, value_before, link)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)
