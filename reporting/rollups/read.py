"""A report from the rollups: the day slices of the range (and of the period before it, in the same
statement) merged into the figures the raw computation gives: counts add up, durations are the sorted
runs of each day merged (the exact percentile_cont) with their exact sums (the exact mean).

The rollups answer whole UTC days with no filter or one of the dashboard's filters, when their last
refresh is under a minute old; anything else, the raw tables answer (`None` here)."""

from __future__ import annotations

import json
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from django.db import connection

from incidents.filters import TARGET_CHOICES
from reporting.metrics.cohort import (
    LABELS,
    PLATFORMS,
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
        cursor.execute(
            "SELECT day, figures, durations FROM reporting_dayslice "
            "WHERE slice = %s AND day >= %s AND day < %s",
            [key, first, last],
        )
        rows = cursor.fetchall()
    periods: dict[bool, list[tuple[date, dict[str, Any], bytes]]] = {True: [], False: []}
    for day, figures, blob in rows:
        periods[day >= middle].append((day, json.loads(figures), bytes(blob)))
    names = _names(periods)
    crises = crisis_periods(query), crisis_periods(previous)
    return (
        _report(query, periods[True], names, crises[0], now, state[0]),
        _report(previous, periods[False], names, crises[1], now, state[0]),
    )


def _names(periods: dict[bool, list[tuple[date, dict[str, Any], bytes]]]) -> dict[str, dict[str, str]]:
    """Category and assignee names, read now (a renamed category shows its new name, as in raw)."""
    users: set[int] = set()
    for rows in periods.values():
        for _, figures, _ in rows:
            users.update(int(k) for k in figures["counts"].get("breached_assignee", {}) if k != "none")
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
    def __init__(self, rows: Sequence[tuple[date, dict[str, Any], bytes]]) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.runs: dict[str, list[tuple[bytes, int, int]]] = defaultdict(list)
        self.sums: dict[str, list[str]] = defaultdict(list)
        self.per_day: list[tuple[str, int]] = []
        self.surges: list[tuple[int, str, datetime]] = []
        for day, figures, blob in sorted(rows, key=lambda r: r[0]):
            for name, values in figures["counts"].items():
                self.counts[name].update(values)
            for metric, (offset, n, total) in figures["durations"].items():
                self.runs[metric].append((blob, offset, n))
                if total:
                    self.sums[metric].append(total)
            incidents = figures["counts"].get("total", {}).get("incidents", 0)
            if incidents:
                self.per_day.append((day.isoformat(), incidents))
            self.surges.extend((pk, title, datetime.fromisoformat(at)) for pk, title, at in figures["surges"])

    def values(self, metric: str) -> list[float]:
        merged = array("d")
        for blob, offset, n in self.runs.get(metric, []):
            part = array("d")
            part.frombytes(blob[offset * 8 : (offset + n) * 8])
            merged.extend(part)
        return sorted(merged)  # sorted runs: a merge

    def durations(self, metric: str) -> Durations:
        values = self.values(metric)
        if not values:
            return Durations(0, None, None, None)
        with localcontext(prec=80):
            total = sum((Decimal(s) for s in self.sums[metric]), Decimal(0))
        return Durations(
            n=len(values),
            median=percentile_cont(values, 0.5),
            p90=percentile_cont(values, 0.9),
            mean=float(Fraction(total) / len(values)),
        )


def percentile_cont(ordered: Sequence[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont over sorted values, step for step (the same floating point)."""
    position = fraction * (len(ordered) - 1)
    first = int(position // 1)
    second = -int(-position // 1)
    if second == first:
        return ordered[first]
    low, high = ordered[first], ordered[second]
    return low + (position - first) * (high - low)


def _report(
    query: ReportQuery,
    rows: Sequence[tuple[date, dict[str, Any], bytes]],
    names: dict[str, dict[str, str]],
    crises: list[dict[str, Any]],
    now: datetime,
    as_of: datetime,
) -> Report:
    m = _Merged(rows)
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
    stage_names = {metric.split(":")[1] for metric in m.runs if metric.startswith("step:")}
    stages = [
        Stage(
            stage,
            STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize()),
            m.durations(f"step:{stage}:clock"),
            m.durations(f"step:{stage}:business"),
        )
        for stage in sorted(stage_names | set(STAGE_LABELS), key=stage_order)
    ]
    posted = m.values("unanswered:posted")
    now_us = _microseconds(now)
    ages = [(now_us - int(p)) / 1_000_000 for p in reversed(posted)]
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
        first_response_seconds=m.values("first_response:clock"),
        targets=targets,
        breaches_by=breaches_by,
        compliance_by_category=compliance_by_category,
        stages=stages,
        replies_decided=total.get("replies_decided", 0),
        replies_sent_back=total.get("replies_sent_back", 0),
        unanswered=total.get("unanswered", 0),
        unanswered_oldest_seconds=ages[-1] if ages else None,
        unanswered_median_seconds=percentile_cont(ages, 0.5) if ages else None,
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
