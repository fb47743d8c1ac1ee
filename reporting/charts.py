"""The dashboard's charts as plain geometry for the templates: SVG columns over time and for a
distribution, and horizontal bars, each carrying its value as text so no chart relies on colour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from reporting.metrics import Durations
from reporting.metrics.cohort import RESPONSE_BUCKETS

COLUMN_HEIGHT = 120
LABEL_ROOM = 18  # px under the columns for the axis labels

# First response time distribution: the buckets a response plan talks in.


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # under the column (may be empty when crowded)
    title: str  # the tooltip and accessible name: what the column says in words


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    columns: list[Column]
    peak: int
    summary: str


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    share: float  # 0..1 of the widest bar
    link: str


def column_chart(points: Sequence[tuple[str, str, int]], *, step: int, summary: str) -> ColumnChart:
    """points: (axis label, words for the tooltip, value). The axis label is kept for about eight
    columns so the labels never overlap."""
    peak = max((v for _, _, v in points), default=0)
    scale = COLUMN_HEIGHT / peak if peak else 0.0
    every = max(1, round(len(points) / 8))
    columns = []
    for index, (label, words, value) in enumerate(points):
        height = round(value * scale, 1)
        columns.append(
            Column(
                x=index * step + 1,
                y=COLUMN_HEIGHT - height,
                width=max(step - 2, 1),
                height=height,
                value=value,
                label=label if index % every == 0 else "",
                title=f"{words}: {value}",
            )
        )
    return ColumnChart(
        width=max(len(points) * step, 1), height=COLUMN_HEIGHT + LABEL_ROOM, columns=columns, peak=peak,
        summary=summary,
    )  # fmt: skip


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def volume_chart(per_day: Sequence[tuple[str, int]], *, start: date, end: date) -> ColumnChart:
    counts = dict(per_day)
    days = days_between(start, end)
    points = [(f"{d:%d %b}", f"{d:%a %d %b %Y}", counts.get(d.isoformat(), 0)) for d in days]
    total = sum(v for _, _, v in points)
    step = 12 if len(days) <= 62 else 4
    return column_chart(points, step=step, summary=f"{total} incidents over {len(days)} days")


def response_distribution(counts: Sequence[int]) -> ColumnChart:
    points = [
        (label, f"First response {label}", n) for (label, _), n in zip(RESPONSE_BUCKETS, counts, strict=True)
    ]
    return column_chart(points, step=60, summary=f"{sum(counts)} first responses")


def bars(items: Sequence[tuple[str, float, str, str]]) -> list[Bar]:
    """items: (label, value, value as text, link); bars are scaled to the largest value."""
    top = max((v for _, v, _, _ in items), default=0.0)
    return [Bar(label, text, (value / top) if top else 0.0, link) for label, value, text, link in items]


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def durations_text(d: Durations) -> dict[str, str]:
    return {"median": duration_text(d.median), "p90": duration_text(d.p90), "mean": duration_text(d.mean)}
