"""The surge card's bar chart as plain SVG geometry: one bar per minute (all mentions behind, negative
ones in front), scaled to the busiest minute, so the page draws it without any script."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.spike_selectors import MinuteVolume

BAR_STEP = 5  # px per minute
CHART_HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: int
    total_y: float
    total_height: float
    negative_y: float
    negative_height: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    first_label: str
    last_label: str


def surge_chart(minutes: list[MinuteVolume]) -> Chart:
    peak = max((m.total for m in minutes), default=0)
    scale = CHART_HEIGHT / peak if peak else 0.0
    bars = []
    for index, minute in enumerate(minutes):
        total = round(minute.total * scale, 1)
        negative = round(minute.negative * scale, 1)
        bars.append(
            Bar(
                x=index * BAR_STEP,
                total_y=CHART_HEIGHT - total,
                total_height=total,
                negative_y=CHART_HEIGHT - negative,
                negative_height=negative,
                label=f"{minute.start:%H:%M} UTC: {minute.negative} negative of {minute.total}",
            )
        )
    return Chart(
        width=len(minutes) * BAR_STEP,
        height=CHART_HEIGHT,
        bars=bars,
        peak=peak,
        first_label=f"{minutes[0].start:%H:%M}" if minutes else "",
        last_label=f"{minutes[-1].start:%H:%M}" if minutes else "",
    )
