"""What a report is about: its query (range, filters, the previous period, the queue link behind a
figure), the cohort of incidents it counts, and the shapes of its figures.

The manager's figures, read-only over the other apps: for a date range and any queue filter, the
volume, response and resolution times, SLA compliance, approval steps, unanswered mentions,
recurrence, surges and crisis periods, each beside the previous period and linked to its incidents.

The population is a cohort: the incidents created in the range that match the queue filter, leaving
out incidents merged into another (their mentions and replies moved to the survivor, which counts
them). Every figure is about those incidents, so the queue link behind it lists exactly them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, cached_property
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from config.errors import PermissionRefused, ValidationFailed
from incidents import policies
from incidents.filters import IncidentFilter
from incidents.models import Incident
from incidents.selectors import incident_base
from protocols.models import Platform, Role, Sentiment

# The queue parameters a report may narrow by; the range, status and merging are the report's own.
FILTER_PARAMS = ("category", "tier", "priority", "platform", "product", "assignee", "assigned_role", "tag")
RECUR_WITHIN = timedelta(days=30)
TOP_THEMES = 10
TOP_PRODUCTS = 20
PLATFORMS = dict(Platform.choices)
ROLES = dict(Role.choices)
LABELS = {"platform": PLATFORMS, "sentiment": dict(Sentiment.choices)}
STAGE_LABELS = {"legal_review": "Legal review", "management_approval": "Management approval"}
# The first-response histogram: (label, upper bound in seconds, exclusive).
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 15 min", 15 * 60),
    ("15-60 min", 60 * 60),
    ("1-4 h", 4 * 3600),
    ("4-24 h", 24 * 3600),
    ("1-3 days", 72 * 3600),
    ("> 3 days", float("inf")),
)


@cache
def _queue_url() -> str:
    return reverse("incidents:queue")


@dataclass(frozen=True)
class ReportQuery:
    start: datetime
    end: datetime
    filters: dict[str, str] = field(default_factory=dict)

    def previous(self) -> ReportQuery:
        return ReportQuery(start=self.start - (self.end - self.start), end=self.start, filters=self.filters)

    def queue_params(self, **extra: str) -> dict[str, str]:
        return {
            "status": "all",
            "merged": "false",
            "created_after": self.start.isoformat(),
            "created_before": self.end.isoformat(),
            **self.filters,
            **extra,
        }

    def link(self, **extra: str) -> str:
        """The queue, filtered to the incidents behind a figure (a report makes a hundred of these)."""
        if any(key in self.filters for key in extra):  # an extra that replaces a filter keeps its place
            return f"{_queue_url()}?{urlencode(self.queue_params(**extra))}"
        tail = f"&{urlencode(extra)}" if extra else ""
        return f"{self._base_link}{tail}"

    @cached_property
    def _base_link(self) -> str:
        return f"{_queue_url()}?{urlencode(self.queue_params())}"


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    value: int
    link: str


@dataclass(frozen=True)
class Durations:
    """Seconds: n, median, p90 (interpolated like percentile_cont) and mean; None when n is 0."""

    n: int
    median: float | None
    p90: float | None
    mean: float | None


@dataclass(frozen=True)
class Target:
    kind: str
    label: str
    met: int
    breached: int
    met_link: str
    breached_link: str

    @property
    def compliance(self) -> float | None:
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True)
class Stage:
    stage: str
    label: str
    clock: Durations
    business: Durations


@dataclass
class Report:
    query: ReportQuery
    incidents: int
    incidents_link: str
    mentions: int
    incidents_by: dict[str, list[Count]]
    mentions_by: dict[str, list[tuple[str, int]]]
    per_day: list[tuple[str, int]]
    first_response: dict[str, Durations]
    resolution: dict[str, Durations]
    first_response_histogram: tuple[int, ...]  # first responses per RESPONSE_BUCKETS bucket
    targets: list[Target]
    breaches_by: dict[str, list[Count]]
    compliance_by_category: list[Target]
    stages: list[Stage]
    replies_decided: int
    replies_sent_back: int
    unanswered: int
    unanswered_oldest_seconds: float | None
    unanswered_median_seconds: float | None
    unanswered_link: str
    recurrence_base: int
    recurred: int
    themes: list[tuple[str, str, int, str]]
    csat_sent: int
    csat_answered: int
    csat_average: float | None
    csat_weeks: list[tuple[str, float, int]]  # (ISO week start, average rating, answers)
    surges: list[tuple[int, str, datetime]]
    crises: list[dict[str, Any]]
    now: datetime
    # When the figures come from the rollups: every change committed before this moment is in them.
    as_of: datetime | None = field(default=None, compare=False)

    @property
    def sent_back_share(self) -> float | None:
        return self.replies_sent_back / self.replies_decided if self.replies_decided else None

    @property
    def csat_response_rate(self) -> float | None:
        return self.csat_answered / self.csat_sent if self.csat_sent else None

    @property
    def recurrence_share(self) -> float | None:
        return self.recurred / self.recurrence_base if self.recurrence_base else None


class _Viewer:
    """What IncidentFilter reads of a request: the user, for assignee=me."""

    def __init__(self, user: Any) -> None:
        self.user = user


def report_incidents(*, query: ReportQuery, user: Any) -> QuerySet[Incident]:
    """The cohort as `user` may read it: created in the range, matching the filters, not merged into
    another incident."""
    if not policies.can(user=user, action="report.view"):
        raise PermissionRefused("Your role does not allow reading reports.")
    return _cohort(query, incident_base(user=user), _Viewer(user))


def scheduled_report_incidents(*, query: ReportQuery) -> QuerySet[Incident]:
    """The cohort for a report nobody is reading yet (the monthly review, made by a Celery task): every
    incident, as a manager would see them."""
    return _cohort(query, Incident.objects.all(), _Viewer(None))


def _cohort(query: ReportQuery, incidents: QuerySet[Incident], viewer: _Viewer) -> QuerySet[Incident]:
    data = QueryDict(mutable=True)
    for key, value in query.queue_params().items():
        data[key] = value
    filterset = IncidentFilter(data, queryset=incidents, request=viewer)
    if not filterset.is_valid():
        fields = {name: [str(e) for e in errors] for name, errors in filterset.errors.items()}
        raise ValidationFailed(f"{', '.join(fields)}: invalid.", fields=fields)
    return filterset.qs


# --- the order figures are listed in, the same whichever way they were computed ----------------------------


def by_count(items: Iterable[Count], *, by_label: bool) -> list[Count]:
    """Largest first; ties by name (by_label) or by value."""
    return sorted(items, key=lambda c: (-c.value, c.label if by_label else c.key))


def top_products(counts: Iterable[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """The most mentioned products (ties by name), before their links are made (there may be many)."""
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:limit]


def by_name(items: Iterable[Target]) -> list[Target]:
    """By category name, uncategorised last."""
    return sorted(items, key=lambda t: (t.kind == "none", t.label, t.kind))


def themes_ordered(items: Iterable[tuple[str, str, int, str]]) -> list[tuple[str, str, int, str]]:
    """(category name, product, incidents, category id): most recurring first."""
    return sorted(items, key=lambda t: (-t[2], t[0], t[1]))


def stage_order(stage: str) -> tuple[int, str]:
    order = list(STAGE_LABELS)
    return (order.index(stage) if stage in order else len(order), stage)


def crisis_periods(query: ReportQuery) -> list[dict[str, Any]]:
    """The crisis-mode periods overlapping the range (whatever the filters: the mode is brand-wide)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, reason, started_at, ended_at, expires_at, incident_id FROM incidents_crisismode "
            "WHERE started_at < %s AND coalesce(ended_at, expires_at) > %s ORDER BY started_at, id",
            [query.end, query.start],
        )
        rows = cursor.fetchall()
    return [
        {"id": pk, "reason": reason, "started_at": started, "ended_at": ended or expires, "incident_id": iid}
        for pk, reason, started, ended, expires, iid in rows
    ]
