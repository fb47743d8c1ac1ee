"""The queue's filters, shared by the browser queue and `GET /api/v1/incidents/` so both agree."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict

from config.filters import UtcIsoDateTimeFilter
from incidents.keyset import DEFAULT_SORT
from incidents.models import (
    IS_OPEN,
    OPEN_STATUS_VALUES,
    ClockKind,
    Incident,
    IncidentStatus,
    Mention,
    Reply,
    SlaClock,
    SlaState,
)
from protocols.models import Platform, Priority, Role, Tier

# The response targets a report counts met or breached (approval steps are a reply's, not the incident's).
TARGET_CHOICES = [
    (str(k), label)
    for k, label in ClockKind.choices
    if k in (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE, ClockKind.RESOLUTION)
]
STATUS_CHOICES = [("open", "Open (any open state)"), ("all", "All"), *IncidentStatus.choices]
# Query parameters that describe a position in the list, not the view itself.
NOT_PART_OF_A_VIEW = ("cursor",)
# Values that mean the same as leaving the parameter out.
IMPLIED = {("status", "open"), ("sort", DEFAULT_SORT)}


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label=None, help_text="Default: open."
    )
    category = django_filters.CharFilter(
        method="filter_category",
        help_text="Category id, or 'none'.",
        validators=[RegexValidator(r"^(\d+|none)$", "Must be a category id or 'none'.")],
    )
    # Columns of the incident itself never duplicate rows, so no DISTINCT (it would sort whole rows).
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    platform = django_filters.MultipleChoiceFilter(choices=Platform.choices, distinct=False)
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        help_text="User id, 'me' or 'none'.",
        validators=[RegexValidator(r"^(\d+|me|none)$", "Must be a user id, 'me' or 'none'.")],
    )
    assigned_role = django_filters.ChoiceFilter(choices=Role.choices)
    tag = django_filters.CharFilter(method="filter_tag")
    product = django_filters.CharFilter(method="filter_product")
    q = django_filters.CharFilter(
        method="filter_search", help_text="Words in title, description or mentions."
    )
    follow_up_required = django_filters.BooleanFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    sla_state = django_filters.MultipleChoiceFilter(
        choices=SlaState.choices,
        distinct=False,
        help_text="The incident's response-time state; several may be given.",
    )
    # What the reports link to: every figure on the dashboard opens the queue filtered to its incidents.
    tier = django_filters.ChoiceFilter(choices=Tier.choices, field_name="category__tier")
    breached = django_filters.ChoiceFilter(
        choices=[("any", "Any target"), *TARGET_CHOICES],
        method="filter_breached",
        help_text="Incidents that breached this response target (or any).",
    )
    met = django_filters.ChoiceFilter(
        choices=TARGET_CHOICES,
        method="filter_met",
        help_text="Incidents that met this response target: stopped in time, never breached.",
    )
    merged = django_filters.BooleanFilter(
        method="filter_merged", help_text="false: leave out incidents merged into another."
    )
    unanswered = django_filters.BooleanFilter(
        method="filter_unanswered",
        help_text="true: incidents with a mention newer than their last published reply (or none).",
    )
    due_before = UtcIsoDateTimeFilter(
        method="filter_due_before",
        help_text="Open incidents whose next response-time deadline is at or before this moment.",
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # Multi-value filters also accept comma-separated values.
        if data is not None:
            data = data.copy()
            for name in ("priority", "platform", "sla_state"):
                if hasattr(data, "getlist"):
                    values = [v for raw in data.getlist(name) for v in raw.split(",") if v]
                    if values:
                        data.setlist(name, values)
            if not data.get("status"):
                data["status"] = "open"
        super().__init__(data, *args, **kwargs)

    def filter_status(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        if value == "all":
            return qs
        if value == "open" or not value:
            return qs.filter(status__in=OPEN_STATUS_VALUES)
        return qs.filter(status=value)

    def filter_category(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        if value == "none":
            return qs.filter(category__isnull=True)
        return qs.filter(category_id=int(value))

    def filter_assignee(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        if value == "none":
            return qs.filter(assignee__isnull=True)
        if value == "me":
            return qs.filter(assignee_id=self.request.user.pk if self.request else None)
        return qs.filter(assignee_id=int(value))

    def filter_due_before(self, qs: QuerySet[Incident], name: str, value: Any) -> QuerySet[Incident]:
        # Repeating the open-status condition lets the partial index on open deadlines serve the query
        # whatever the status filter says; closed incidents have no deadline that matters.
        return qs.filter(IS_OPEN, sla_due_at__lte=value)

    def filter_breached(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        clocks = SlaClock.objects.filter(incident=OuterRef("pk"), breached_at__isnull=False)
        kinds = [k for k, _ in TARGET_CHOICES] if value == "any" else [value]
        return qs.filter(Exists(clocks.filter(kind__in=kinds)))

    def filter_met(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        clocks = SlaClock.objects.filter(incident=OuterRef("pk"), kind=value)
        return qs.filter(
            Exists(clocks.filter(stopped_at__isnull=False)), ~Exists(clocks.filter(breached_at__isnull=False))
        )

    def filter_merged(self, qs: QuerySet[Incident], name: str, value: bool | None) -> QuerySet[Incident]:
        if value is None:
            return qs
        return qs.filter(merged_into__isnull=not value)

    def filter_unanswered(self, qs: QuerySet[Incident], name: str, value: bool | None) -> QuerySet[Incident]:
        if value is None:
            return qs
        answered_after = Reply.objects.filter(
            incident=OuterRef("incident_id"), published_at__gte=OuterRef("posted_at")
        )
        waiting = Mention.objects.filter(incident=OuterRef("pk")).filter(~Exists(answered_after))
        return qs.filter(Exists(waiting)) if value else qs.exclude(Exists(waiting))

    def filter_tag(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return qs.filter(tags__contains=[value.strip().lower()])

    def filter_product(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return qs.filter(products__contains=[value.strip().lower()])

    def filter_search(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        value = value.strip()
        if not value:
            return qs
        query = SearchQuery(value, search_type="websearch", config="english")
        # Title/description hits and hits in the mentions' text, each found through its own GIN index.
        in_incident = Incident.objects.filter(search_vector=query).values("pk")
        in_mentions = (
            Mention.objects.annotate(document=SearchVector("text", config="english"))
            .filter(document=query, incident__isnull=False)
            .values("incident_id")
        )
        condition = Q(pk__in=in_incident.union(in_mentions))
        if value.isdigit():
            condition |= Q(pk=int(value))
        return qs.filter(condition)


def view_query(query: str | QueryDict) -> str:
    """A queue query string reduced to what defines the view: no cursor, no empty values."""
    data = QueryDict(query) if isinstance(query, str) else query
    pairs = [
        (key, value)
        for key in sorted(data)
        if key not in NOT_PART_OF_A_VIEW
        for value in data.getlist(key)
        if value.strip() and (key, value) not in IMPLIED
    ]
    return urlencode(pairs)
