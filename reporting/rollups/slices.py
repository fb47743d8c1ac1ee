"""A day's slices: the figures of the incidents created on one UTC day, for everyone ("") and for each
value of each filter the dashboard offers ("category:3", "priority:high", "product:x2-blender", ...),
tallied from the facts. Counts are kept as counts; durations as sorted runs of doubles with their exact
sum, so merging a range's days gives the same percentiles and means as computing them from scratch."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from django.db import connection
from psycopg2.extras import Json, execute_values

from incidents.models import OPEN_STATUS_VALUES
from reporting.metrics.cohort import RESPONSE_BUCKETS
from reporting.rollups.facts import FACT_COLUMNS, TARGET_KINDS

OPEN = frozenset(OPEN_STATUS_VALUES)
# Durations whose mean a report shows (the unanswered mentions' posting times need none).
WITH_MEAN_PREFIXES = ("first_response:", "resolution:", "step:")
# Every 32nd value of a sorted run is kept apart: a reader brackets a rank with them (1/32 of the data),
# then fetches only the values between two fences of each run.
FENCE_STEP = 32


def exact_sum(values: Iterable[float]) -> Decimal:
    """The sum of the values as PostgreSQL sums float8::numeric (each to 15 significant digits),
    exactly: a report's mean is this sum over the count, whichever way it was computed."""
    with localcontext(prec=80):
        return sum((Decimal(f"{v:.15g}") for v in values), Decimal(0))


def slice_keys(fact: dict[str, Any]) -> Iterator[str]:
    """Every slice an incident counts in: one per filter it matches, as the queue's filters match."""
    yield ""
    yield f"category:{fact['category_id'] if fact['category_id'] is not None else 'none'}"
    if fact["tier"]:
        yield f"tier:{fact['tier']}"
    yield f"priority:{fact['priority']}"
    if fact["platform"]:
        yield f"platform:{fact['platform']}"
    for product in sorted(set(fact["products"])):
        yield f"product:{product}"
    yield f"assignee:{fact['assignee_id'] if fact['assignee_id'] is not None else 'none'}"
    if fact["assigned_role"]:
        yield f"assigned_role:{fact['assigned_role']}"


class Tally:
    """The figures of one slice of one day."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.surges: list[list[Any]] = []

    def add(self, f: dict[str, Any]) -> None:
        c = self.counts
        c["total"]["incidents"] += 1
        c["total"]["mentions"] += f["mention_count"]
        category = str(f["category_id"]) if f["category_id"] is not None else "none"
        c["category"][category] += 1
        c["priority"][f["priority"]] += 1
        c["platform"][f["platform"]] += 1
        for product in f["products"]:
            c["product"][product] += 1
        for key, n in f["mentions"].items():
            c["mentions"][key] += n
        d = self.durations
        if f["first_response_clock"] is not None:
            d["first_response:clock"].append(f["first_response_clock"])
        if f["resolution_clock"] is not None:
            d["resolution:clock"].append(f["resolution_clock"])
        d["first_response:business"].extend(f["first_response_business"])
        d["resolution:business"].extend(f["resolution_business"])
        for stage, clock, business in zip(f["step_stages"], f["step_clock"], f["step_business"], strict=True):
            d[f"step:{stage}:clock"].append(clock)
            d[f"step:{stage}:business"].append(business)
        stopped, breached = set(f["targets_stopped"]), set(f["targets_breached"])
        for kind in TARGET_KINDS:
            if kind in stopped and kind not in breached:
                c["target_met"][kind] += 1
            if kind in breached:
                c["target_breached"][kind] += 1
        if breached:
            c["breached_category"][category] += 1
            c["breached_priority"][f["priority"]] += 1
            assignee = str(f["assignee_id"]) if f["assignee_id"] is not None else "none"
            c["breached_assignee"][assignee] += 1
            c["breached_role"][f["assigned_role"]] += 1
        if f["has_targets"]:
            c["compliance_seen"][category] += 1
            if stopped and not breached:
                c["compliance_met"][category] += 1
            if breached:
                c["compliance_breached"][category] += 1
        c["total"]["replies_decided"] += f["replies_decided"]
        c["total"]["replies_sent_back"] += f["replies_sent_back"]
        if f["status"] in OPEN and f["unanswered_posted"]:
            c["total"]["unanswered"] += len(f["unanswered_posted"])
            d["unanswered:posted"].extend(float(p) for p in f["unanswered_posted"])
        if f["recurrence_counted"]:
            c["total"]["recurrence_base"] += 1
            if f["recurred_products"]:
                c["total"]["recurred"] += 1
            for product in f["recurred_products"]:
                c["themes"][f"{category}|{product}"] += 1
        c["total"]["csat_sent"] += f["surveys_sent"]
        for rating, week in zip(f["survey_ratings"], f["survey_weeks"], strict=True):
            c["total"]["csat_answered"] += 1
            c["total"]["csat_rating_sum"] += rating
            c["csat_week_n"][week.isoformat()] += 1
            c["csat_week_sum"][week.isoformat()] += rating
        if f["surge_title"] is not None:
            self.surges.append([f["incident_id"], f["surge_title"], f["created_at"].isoformat()])

    def packed(self, day: date) -> tuple[dict[str, Any], bytes, bytes]:
        totals = {
            metric: exact_sum(values)
            for metric, values in self.durations.items()
            if metric.startswith(WITH_MEAN_PREFIXES)
        }
        return pack(
            counts={name: dict(counter) for name, counter in self.counts.items()},
            durations={metric: sorted(values) for metric, values in self.durations.items()},
            totals=totals,
            surges=self.surges,
            per_day={day.isoformat(): self.counts["total"]["incidents"]},
        )


def pack(
    *,
    counts: dict[str, dict[str, int]],
    durations: dict[str, list[float]],
    totals: dict[str, Decimal],
    surges: list[list[Any]],
    per_day: dict[str, int],
) -> tuple[dict[str, Any], bytes, bytes]:
    """The figures as JSON; the durations (each sorted) as one run of doubles; and every FENCE_STEP-th
    value of each (its fences), which is all a reader fetches before it knows which few values around a
    percentile it needs."""
    blob, fences = array("d"), array("d")
    offsets: dict[str, list[Any]] = {}
    for metric in sorted(durations):
        values = durations[metric]
        posts = values[::FENCE_STEP]
        total = str(totals[metric]) if metric in totals else ""
        offsets[metric] = [len(blob), len(values), total, len(fences), len(posts), FENCE_STEP]
        blob.extend(values)
        fences.extend(posts)
    responses = durations.get("first_response:clock", [])
    reached = [bisect_left(responses, upper) for _, upper in RESPONSE_BUCKETS]
    figures = {
        "counts": counts,
        "durations": offsets,
        "response_histogram": [n - (reached[i - 1] if i else 0) for i, n in enumerate(reached)],
        "surges": surges,
        "per_day": per_day,
    }
    return figures, blob.tobytes(), fences.tobytes()


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _weeks_rebuild(cursor: Any, weeks: list[date]) -> int:
    """Each week's slices (Monday to Sunday) merged from its day slices: the counts added, each
    duration's sorted runs merged, the exact sums added. A report over a month reads four of these
    and a few days instead of thirty days."""
    cursor.execute(
        "SELECT slice, day, figures, durations FROM reporting_dayslice WHERE span = 'day' "
        "AND day >= %s AND day < %s ORDER BY slice, day",
        [weeks[0], weeks[-1] + timedelta(days=7)],
    )
    merged: dict[tuple[date, str], dict[str, Any]] = {}
    for key, day, figures, blob in cursor.fetchall():
        week = _week_of(day)
        if week not in weeks:
            continue
        figures = json.loads(figures) if isinstance(figures, str) else figures
        into = merged.setdefault(
            (week, key),
            {
                "counts": defaultdict(Counter),
                "durations": defaultdict(list),
                "totals": {},
                "surges": [],
                "per_day": {},
            },
        )
        for name, values in figures["counts"].items():
            into["counts"][name].update(values)
        raw = bytes(blob)
        for metric, (offset, n, total, *_) in figures["durations"].items():
            part = array("d")
            part.frombytes(raw[offset * 8 : (offset + n) * 8])
            into["durations"][metric].extend(part)
            if total:
                with localcontext(prec=80):
                    into["totals"][metric] = into["totals"].get(metric, Decimal(0)) + Decimal(total)
        into["surges"].extend(figures["surges"])
        into["per_day"][day.isoformat()] = figures["counts"].get("total", {}).get("incidents", 0)
    cursor.execute("DELETE FROM reporting_dayslice WHERE span = 'week' AND day = ANY(%s)", [weeks])
    rows = []
    for (week, key), into in merged.items():
        figures, blob, fences = pack(
            counts={name: dict(counter) for name, counter in into["counts"].items()},
            durations={metric: sorted(values) for metric, values in into["durations"].items()},
            totals=into["totals"],
            surges=into["surges"],
            per_day=into["per_day"],
        )
        rows.append((week, "week", key, Json(figures), blob, fences))
    _insert(cursor, rows)
    return len(rows)


def _insert(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    """(day, span, slice, figures, durations, fences) rows, a page of 200 per statement."""
    if rows:
        execute_values(
            cursor,
            "INSERT INTO reporting_dayslice (day, span, slice, figures, durations, fences) VALUES %s",
            rows,
            page_size=200,
        )


def slices_rebuild(days: Iterable[date]) -> int:
    """Rewrites every slice of `days` from the facts; returns how many slices were written."""
    days = sorted(set(days))
    if not days:
        return 0
    columns = [c.strip() for c in FACT_COLUMNS.split(",")]
    tallies: dict[tuple[date, str], Tally] = defaultdict(Tally)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM reporting_incidentfact "
            "WHERE day = ANY(%s) ORDER BY incident_id",
            [days],
        )
        for row in cursor.fetchall():
            fact = dict(zip(columns, row, strict=True))
            fact["mentions"] = json.loads(fact["mentions"])  # Django's cursor leaves JSON as text
            for key in slice_keys(fact):
                tallies[(fact["day"], key)].add(fact)
        cursor.execute("DELETE FROM reporting_dayslice WHERE span = 'day' AND day = ANY(%s)", [days])
        rows = []
        for (day, key), tally in tallies.items():
            figures, blob, fences = tally.packed(day)
            rows.append((day, "day", key, Json(figures), blob, fences))
        _insert(cursor, rows)
        _weeks_rebuild(cursor, sorted({_week_of(d) for d in days}))
    return len(rows)
