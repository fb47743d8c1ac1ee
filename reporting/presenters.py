"""The dashboard's words and numbers: each headline figure with the previous period beside it, and
the charts' inputs, from two computed reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reporting import charts
from reporting.metrics import Report


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: str
    previous: str
    link: str
    note: str = ""


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _change(current: float, before: float) -> str:
    if before == 0:
        return "new" if current else "no change"
    change = (current - before) / before
    return "no change" if abs(change) < 0.005 else f"{change:+.0%}"


def headlines(report: Report, previous: Report) -> list[Headline]:
    first_target = next(t for t in report.targets if t.kind == "first_response")
    first_before = next(t for t in previous.targets if t.kind == "first_response")
    resolution_target = next(t for t in report.targets if t.kind == "resolution")
    fr, fr_before = report.first_response, previous.first_response
    res, res_before = report.resolution, previous.resolution
    return [
        Headline(
            "incidents",
            "Incidents",
            f"{report.incidents:,}",
            f"{_change(report.incidents, previous.incidents)} vs {previous.incidents:,}",
            report.incidents_link,
        ),
        Headline(
            "mentions",
            "Mentions",
            f"{report.mentions:,}",
            f"{_change(report.mentions, previous.mentions)} vs {previous.mentions:,}",
            report.incidents_link,
        ),
        Headline(
            "first_response",
            "First response, median",
            charts.duration_text(fr["clock"].median),
            f"was {charts.duration_text(fr_before['clock'].median)}",
            first_target.met_link,
            f"business time {charts.duration_text(fr['business'].median)} · p90 "
            f"{charts.duration_text(fr['clock'].p90)} · {fr['clock'].n:,} answered",
        ),
        Headline(
            "resolution",
            "Resolution, median",
            charts.duration_text(res["clock"].median),
            f"was {charts.duration_text(res_before['clock'].median)}",
            resolution_target.met_link,
            f"business time {charts.duration_text(res['business'].median)} · p90 "
            f"{charts.duration_text(res['clock'].p90)} · {res['clock'].n:,} resolved",
        ),
        Headline(
            "first_response_met",
            "First-response target met",
            _share(first_target.compliance),
            f"was {_share(first_before.compliance)}",
            first_target.met_link,
            f"{first_target.met:,} met · {first_target.breached:,} breached",
        ),
        Headline(
            "sent_back",
            "Replies sent back for changes",
            _share(report.sent_back_share),
            f"was {_share(previous.sent_back_share)}",
            "",
            f"{report.replies_sent_back:,} of {report.replies_decided:,} reviewed replies",
        ),
        Headline(
            "unanswered",
            "Unanswered mentions",
            f"{report.unanswered:,}",
            "now, not compared",
            report.unanswered_link,
            f"oldest waiting {charts.duration_text(report.unanswered_oldest_seconds)}"
            if report.unanswered
            else "nobody is being ghosted",
        ),
        Headline(
            "csat",
            "Customer satisfaction",
            "—" if report.csat_average is None else f"{report.csat_average:.1f} / 5",
            "was " + ("—" if previous.csat_average is None else f"{previous.csat_average:.1f}"),
            "",
            f"{report.csat_answered:,} of {report.csat_sent:,} surveys answered "
            f"({_share(report.csat_response_rate)})",
        ),
        Headline(
            "recurrence",
            "Came back within 30 days",
            _share(report.recurrence_share),
            f"was {_share(previous.recurrence_share)}",
            "",
            f"{report.recurred:,} of {report.recurrence_base:,} with a category and product",
        ),
    ]


def dashboard_context(report: Report, previous: Report) -> dict[str, Any]:
    query = report.query
    last_day = query.end - timedelta(days=1)
    previous_last = previous.query.end - timedelta(days=1)
    return {
        "report": report,
        "previous": previous,
        "headlines": headlines(report, previous),
        "volume_chart": charts.volume_chart(report.per_day, start=query.start.date(), end=query.end.date()),
        "response_chart": charts.response_distribution(report.first_response_histogram),
        "compliance_bars": charts.bars(
            [
                (
                    t.label,
                    t.compliance or 0.0,
                    f"{_share(t.compliance)} ({t.met} met, {t.breached} breached)",
                    t.breached_link,
                )
                for t in report.compliance_by_category
            ]
        ),
        "stage_rows": [
            {
                "stage": s,
                "clock": charts.durations_text(s.clock),
                "business": charts.durations_text(s.business),
            }
            for s in report.stages
        ],
        "stage_bars": charts.bars(
            [
                (s.label, s.clock.median or 0.0, charts.duration_text(s.clock.median), "")
                for s in report.stages
            ]
        ),
        "theme_bars": charts.bars(
            [(f"{name} · {product}", n, str(n), link) for name, product, n, link in report.themes]
        ),
        "csat_bars": charts.bars(
            [
                (
                    f"Week of {date.fromisoformat(week):%d %b}",
                    average,
                    f"{average:.1f} / 5 · {n} answered",
                    "",
                )
                for week, average, n in report.csat_weeks
            ]
        ),
        "targets": [{"target": t, "compliance": _share(t.compliance)} for t in report.targets],
        "range_text": f"{query.start:%d %b %Y} to {last_day:%d %b %Y}",
        "previous_text": f"{previous.query.start:%d %b} to {previous_last:%d %b %Y}",
    }
