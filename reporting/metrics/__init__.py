"""Reporting's figures, read-only over the other apps (see cohort.py for what a report counts)."""

from reporting.metrics.cohort import (
    FILTER_PARAMS,
    Count,
    Durations,
    Report,
    ReportQuery,
    Stage,
    Target,
    report_incidents,
)
from reporting.metrics.compute import report_compute, scheduled_report_compute

__all__ = [
    "FILTER_PARAMS",
    "Count",
    "Durations",
    "Report",
    "ReportQuery",
    "Stage",
    "Target",
    "report_compute",
    "report_incidents",
    "scheduled_report_compute",
]
