"""A report from the rollups: the day slices of the range (and of the period before it, in the same
statement) merged into the figures the raw computation gives: counts add up, durations are the sorted
runs of each day merged (the exact percentile_cont) with their exact sums (the exact mean).

The rollups answer whole UTC days with no filter or one of the dashboard's filters, when their last
refresh is under a minute old; anything else, the raw tables answer (`None` here)."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from django.db import connection

from incidents.filters import TARGET_CHOICES
from reporting.metrics.cohort import (
    LABELS,
    PLATFORMS,
    RESPONSE_BUCKETS,
    ROLES,
    STAGE_LABELS,
    TOP_PRODUCTS,
    TOP_THEMES,
    Count,
    Durations,
    Report,
    ReportQuery,
    Stage,
    Target,
    by_count,
    by_name,
    crisis_periods,
    stage_order,
    themes_ordered,
    top_products,
)

FRESH_FOR = timedelta(seconds=60)
SLICED = ("category", "tier", "priority", "platform", "product", "assignee", "assigned_role")


def slice_for(query: ReportQuery, user: Any) -> str | None:
    """The slice that holds the query's incidents, or None when no single slice does."""
    if len(query.filters) > 1:
        return None
    if not query.filters:
        return ""
    ((name, value),) = query.filters.items()
    if name not in SLICED or not value:
        return None
    if name == "assignee" and value == "me":
        value = str(user.pk) if user is not None else "none"
    return f"{name}:{value}"


def _whole_days(moment: datetime) -> date | None:
    utc = moment.astimezone(UTC)
    return utc.date() if utc.time() == time.min else None


def rollup_reports(*, query: ReportQuery, user: Any, now: datetime) -> tuple[Report, Report] | None:
    """The report and the one of the period before, from the rollups; None if they cannot answer."""
    key = slice_for(query, user)
    previous = query.previous()
    first, last = _whole_days(previous.start), _whole_days(query.end)
    middle = _whole_days(query.start)
    if key is None or first is None or last is None or middle is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT complete_as_of FROM reporting_rollupstate WHERE id = 1 "
            "AND complete_as_of >= statement_timestamp() - make_interval(secs => %s)",
            [FRESH_FOR.total_seconds()],
        )
        state = cursor.fetchone()
        if state is None:
            return None
        spans = [*_spans(first, middle), *_spans(middle, last)]
        cursor.execute(
            "SELECT s.id, s.span, s.day, s.figures, s.fences FROM reporting_dayslice s "
            "JOIN unnest(%s::text[], %s::date[]) AS w(span, day) ON s.span = w.span AND s.day = w.day "
            "WHERE s.slice = %s",
            [[span for span, _ in spans], [day for _, day in spans], key],
        )
        rows = cursor.fetchall()
    periods: dict[bool, list[_Row]] = {True: [], False: []}
    for pk, _span, day, figures, fences in rows:
        periods[day >= middle].append(_Row(pk, day, json.loads(figures), bytes(fences)))
    merged = {current: _Merged(period_rows) for current, period_rows in periods.items()}
    _fetch_windows([s for m in merged.values() for s in m.selections.values()])
    names = _names(periods)
    crises = crisis_periods(query), crisis_periods(previous)
    return (
        _report(query, merged[True], names, crises[0], now, state[0]),
        _report(previous, merged[False], names, crises[1], now, state[0]),
    )


def _spans(first: date, last: date) -> list[tuple[str, date]]:
    """[first, last) as whole weeks (Monday to Sunday) and the days around them."""
    spans, day = [], first
    while day < last:
        if day.weekday() == 0 and day + timedelta(days=7) <= last:
            spans.append(("week", day))
            day += timedelta(days=7)
        else:
            spans.append(("day", day))
            day += timedelta(days=1)
    return spans


@dataclass(frozen=True)
class _Row:
    pk: int
    day: date
    figures: dict[str, Any]
    fences: bytes


class _Run:
    """One day's sorted values of one metric: where they are, how many, and their fences."""

    __slots__ = ("fences", "n", "offset", "row", "step")

    def __init__(self, row: int, offset: int, n: int, fences: array[float], step: int) -> None:
        self.row, self.offset, self.n, self.fences, self.step = row, offset, n, fences, step


class _Selection:
    """The values at chosen ranks of the union of a metric's sorted runs, exactly, reading only the
    runs' fences and then, per run, the few values between the two fences that bracket the ranks."""

    def __init__(self, runs: list[_Run], groups: list[tuple[int, int]]) -> None:
        self.runs = [r for r in runs if r.n]
        self.n = sum(r.n for r in self.runs)
        # Per group of adjacent ranks: the known prefix below the window and the windows (run, i0, i1).
        self.groups: list[tuple[int, int, int, list[tuple[_Run, int, int]]]] = []
        self.values: list[list[float]] = []
        candidates = sorted(v for r in self.runs for v in r.fences)
        for low, high in groups:
            floor = self._last(candidates, lambda v, low=low: self._at_most(v) <= low)
            ceiling = self._first(candidates, lambda v, high=high: self._at_least(v) >= high + 1)
            windows, prefix = [], 0
            for run in self.runs:
                below = bisect_right(run.fences, floor) if floor is not None else 0
                start = run.step * (below - 1) + 1 if below else 0
                above = bisect_right(run.fences, ceiling) if ceiling is not None else len(run.fences)
                end = run.step * above if above < len(run.fences) else run.n
                prefix += start
                windows.append((run, start, max(start, min(end, run.n))))
            self.groups.append((low, high, prefix, windows))
            self.values.append([])

    def _at_most(self, v: float) -> int:
        """An upper bound on how many values are <= v."""
        return sum(min(r.n, r.step * bisect_right(r.fences, v)) for r in self.runs)

    def _at_least(self, v: float) -> int:
        """A lower bound on how many values are <= v."""
        return sum(r.step * (c - 1) + 1 for r in self.runs if (c := bisect_right(r.fences, v)))

    @staticmethod
    def _last(candidates: list[float], ok: Any) -> float | None:
        lo, hi = 0, len(candidates)  # ok holds for a prefix of the candidates
        while lo < hi:
            mid = (lo + hi) // 2
            if ok(candidates[mid]):
                lo = mid + 1
            else:
                hi = mid
        return candidates[lo - 1] if lo else None

    @staticmethod
    def _first(candidates: list[float], ok: Any) -> float | None:
        lo, hi = 0, len(candidates)  # ok holds for a suffix
        while lo < hi:
            mid = (lo + hi) // 2
            if ok(candidates[mid]):
                hi = mid
            else:
                lo = mid + 1
        return candidates[lo] if lo < len(candidates) else None

    def at(self, rank: int) -> float:
        for (low, high, prefix, _), values in zip(self.groups, self.values, strict=True):
            if low <= rank <= high:
                return values[rank - prefix]
        raise KeyError(rank)


def _fetch_windows(selections: list[_Selection]) -> None:
    """Every window of every selection in one statement: substrings of the packed runs (stored
    uncompressed, so PostgreSQL reads only the pages they lie on)."""
    ids, tags, starts, lengths = [], [], [], []
    slots: list[tuple[int, int]] = []
    for s_index, selection in enumerate(selections):
        for g_index, (_, _, _, windows) in enumerate(selection.groups):
            for run, start, end in windows:
                if end > start:
                    ids.append(run.row)
                    tags.append(len(slots))
                    starts.append((run.offset + start) * 8 + 1)
                    lengths.append((end - start) * 8)
                    slots.append((s_index, g_index))
    parts: dict[tuple[int, int], array[float]] = defaultdict(lambda: array("d"))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT v.tag, substring(s.durations FROM v.start FOR v.len) "
                "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[]) AS v(id, tag, start, len) "
                "JOIN reporting_dayslice s ON s.id = v.id",
                [ids, tags, starts, lengths],
            )
            for tag, chunk in cursor.fetchall():
                parts[slots[tag]].frombytes(bytes(chunk))
    for s_index, selection in enumerate(selections):
        for g_index in range(len(selection.groups)):
            selection.values[g_index] = sorted(parts.get((s_index, g_index), array("d")))


def _names(periods: dict[bool, list[_Row]]) -> dict[str, dict[str, str]]:
    """Category and assignee names, read now (a renamed category shows its new name, as in raw)."""
    users: set[int] = set()
    for rows in periods.values():
        for row in rows:
            users.update(int(k) for k in row.figures["counts"].get("breached_assignee", {}) if k != "none")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name FROM protocols_category")
        categories = {str(pk): name for pk, name in cursor.fetchall()}
        people: dict[str, str] = {}
        if users:
            cursor.execute(
                "SELECT id, coalesce(nullif(trim(first_name || ' ' || last_name), ''), username) "
                "FROM auth_user WHERE id = ANY(%s)",
                [sorted(users)],
            )
            people = {str(pk): name for pk, name in cursor.fetchall()}
    return {"category": categories, "user": people}


class _Merged:
    """One period's day slices added up; its durations' percentiles selected from their runs."""

    def __init__(self, rows: Sequence[_Row]) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        runs: dict[str, list[_Run]] = defaultdict(list)
        self.sums: dict[str, list[str]] = defaultdict(list)
        self.per_day: list[tuple[str, int]] = []
        self.surges: list[tuple[int, str, datetime]] = []
        self.histogram = [0] * len(RESPONSE_BUCKETS)
        for row in sorted(rows, key=lambda r: r.day):
            figures = row.figures
            for name, values in figures["counts"].items():
                self.counts[name].update(values)
            for metric, (offset, n, total, fence_at, fence_n, step) in figures["durations"].items():
                fences = array("d")
                fences.frombytes(row.fences[fence_at * 8 : (fence_at + fence_n) * 8])
                runs[metric].append(_Run(row.pk, offset, n, fences, step))
                if total:
                    self.sums[metric].append(total)
            for index, n in enumerate(figures["response_histogram"]):
                self.histogram[index] += n
            self.per_day.extend((day, n) for day, n in figures["per_day"].items() if n)
            self.surges.extend((pk, title, datetime.fromisoformat(at)) for pk, title, at in figures["surges"])
        # The first value of a run is its first fence: the oldest unanswered mention is known already.
        self.per_day.sort()
        self.oldest_posted = min(
            (r.fences[0] for r in runs.get("unanswered:posted", []) if r.n), default=None
        )
        self.selections: dict[str, _Selection] = {}
        for metric, metric_runs in runs.items():
            n = sum(r.n for r in metric_runs)
            if not n:
                continue
            if metric == "unanswered:posted":  # the median age: ranks counted from the newest
                first, second = _ranks(n, 0.5)
                groups = [(n - 1 - second, n - 1 - first)]
            else:
                groups = [_ranks(n, 0.5), _ranks(n, 0.9)]
            self.selections[metric] = _Selection(metric_runs, groups)

    def count(self, metric: str) -> int:
        selection = self.selections.get(metric)
        return selection.n if selection else 0

    def durations(self, metric: str) -> Durations:
        n = self.count(metric)
        if not n:
            return Durations(0, None, None, None)
        with localcontext(prec=80):
            total = sum((Decimal(s) for s in self.sums[metric]), Decimal(0))
        return Durations(
            n=n,
            median=self.percentile(metric, 0.5),
            p90=self.percentile(metric, 0.9),
            mean=float(Fraction(total) / n),
        )

    def percentile(self, metric: str, fraction: float) -> float:
        selection = self.selections[metric]
        first, second = _ranks(selection.n, fraction)
        return _lerp(selection.at(first), selection.at(second), fraction * (selection.n - 1) - first)

    def unanswered_median_age(self, now_us: int) -> float | None:
        selection = self.selections.get("unanswered:posted")
        if selection is None:
            return None
        n = selection.n
        first, second = _ranks(n, 0.5)
        newest_first = [(now_us - int(selection.at(n - 1 - rank))) / 1_000_000 for rank in (first, second)]
        return _lerp(newest_first[0], newest_first[1], 0.5 * (n - 1) - first)


def _ranks(n: int, fraction: float) -> tuple[int, int]:
    """The two ranks percentile_cont interpolates between (0-based), as PostgreSQL computes them."""
    position = fraction * (n - 1)
    return int(position // 1), -int(-position // 1)


def _lerp(low: float, high: float, proportion: float) -> float:
    """PostgreSQL's float8_lerp, step for step: the same floating point."""
    return low if proportion == 0 else low + proportion * (high - low)


def _report(
    query: ReportQuery,
    m: _Merged,
    names: dict[str, dict[str, str]],
    crises: list[dict[str, Any]],
    now: datetime,
    as_of: datetime,
) -> Report:
    c = m.counts
    categories, people = names["category"], names["user"]

    def category_label(key: str) -> str:
        return categories.get(key) or "Uncategorised"

    incidents_by = {
        "category": by_count(
            [Count(k, category_label(k), n, query.link(category=k)) for k, n in c["category"].items()],
            by_label=True,
        ),
        "priority": by_count(
            [Count(k, k.title(), n, query.link(priority=k)) for k, n in c["priority"].items()], by_label=False
        ),
        "platform": by_count(
            [
                Count(
                    k or "none",
                    PLATFORMS.get(k, k or "none"),
                    n,
                    query.link(platform=k) if k else query.link(),
                )
                for k, n in c["platform"].items()
            ],
            by_label=False,
        ),
        "product": [
            Count(k, k, n, query.link(product=k)) for k, n in top_products(c["product"].items(), TOP_PRODUCTS)
        ],
    }
    mentions_by: dict[str, list[tuple[str, int]]] = {}
    for dim, index in (("platform", 0), ("sentiment", 1)):
        totals: dict[str, int] = defaultdict(int)
        for key, n in c["mentions"].items():
            totals[key.split("|")[index]] += n
        ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        mentions_by[dim] = [(LABELS[dim].get(v, v), n) for v, n in ordered]

    targets = [
        Target(
            kind,
            label,
            c["target_met"].get(kind, 0),
            c["target_breached"].get(kind, 0),
            query.link(met=kind),
            query.link(breached=kind),
        )
        for kind, label in TARGET_CHOICES
    ]
    breaches_by = {
        "category": by_count(
            [
                Count(k, category_label(k), n, query.link(category=k, breached="any"))
                for k, n in c["breached_category"].items()
            ],
            by_label=True,
        ),
        "priority": by_count(
            [
                Count(k, k.title(), n, query.link(priority=k, breached="any"))
                for k, n in c["breached_priority"].items()
            ],
            by_label=False,
        ),
        "assignee": by_count(
            [
                Count(k, people.get(k) or "Unassigned", n, query.link(assignee=k, breached="any"))
                for k, n in c["breached_assignee"].items()
            ],
            by_label=True,
        ),
        "role": by_count(
            [
                Count(
                    k or "none",
                    ROLES.get(k, k or "No role"),
                    n,
                    query.link(assigned_role=k, breached="any") if k else "",
                )
                for k, n in c["breached_role"].items()
            ],
            by_label=False,
        ),
    }
    compliance_by_category = by_name(
        [
            Target(
                k,
                category_label(k),
                c["compliance_met"].get(k, 0),
                c["compliance_breached"].get(k, 0),
                query.link(category=k),
                query.link(category=k, breached="any"),
            )
            for k in c["compliance_seen"]
        ]
    )
    stage_names = {metric.split(":")[1] for metric in m.selections if metric.startswith("step:")}
    stages = [
        Stage(
            stage,
            STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize()),
            m.durations(f"step:{stage}:clock"),
            m.durations(f"step:{stage}:business"),
        )
        for stage in sorted(stage_names | set(STAGE_LABELS), key=stage_order)
    ]
    now_us = _microseconds(now)
    total = c["total"]
    themes = themes_ordered(
        [
            (categories.get(k.split("|", 1)[0], ""), k.split("|", 1)[1], n, k.split("|", 1)[0])
            for k, n in c["themes"].items()
            if k.split("|", 1)[0] in categories
        ]
    )
    weeks = sorted(c["csat_week_n"])
    answered = total.get("csat_answered", 0)
    return Report(
        query=query,
        incidents=total.get("incidents", 0),
        incidents_link=query.link(),
        mentions=total.get("mentions", 0),
        incidents_by=incidents_by,
        mentions_by=mentions_by,
        per_day=m.per_day,
        first_response={
            "clock": m.durations("first_response:clock"),
            "business": m.durations("first_response:business"),
        },
        resolution={"clock": m.durations("resolution:clock"), "business": m.durations("resolution:business")},
        first_response_histogram=tuple(m.histogram),
        targets=targets,
        breaches_by=breaches_by,
        compliance_by_category=compliance_by_category,
        stages=stages,
        replies_decided=total.get("replies_decided", 0),
        replies_sent_back=total.get("replies_sent_back", 0),
        unanswered=total.get("unanswered", 0),
        unanswered_oldest_seconds=(
            (now_us - int(m.oldest_posted)) / 1_000_000 if m.oldest_posted is not None else None
        ),
        unanswered_median_seconds=m.unanswered_median_age(now_us),
        unanswered_link=query.link(unanswered="true", status="open"),
        recurrence_base=total.get("recurrence_base", 0),
        recurred=total.get("recurred", 0),
        themes=[
            (name, product, n, query.link(category=cid, product=product))
            for name, product, n, cid in themes[:TOP_THEMES]
        ],
        csat_sent=total.get("csat_sent", 0),
        csat_answered=answered,
        csat_average=_mean(total.get("csat_rating_sum", 0), answered),
        csat_weeks=[
            (week, _mean(c["csat_week_sum"][week], c["csat_week_n"][week]) or 0.0, c["csat_week_n"][week])
            for week in weeks
        ],
        surges=sorted(m.surges, key=lambda s: (s[2], s[0])),
        crises=crises,
        now=now,
        as_of=as_of,
    )


def _mean(total: int, n: int) -> float | None:
    return float(Fraction(total, n)) if n else None


def _microseconds(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
