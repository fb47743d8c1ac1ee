"""Reads of response-time clocks: an incident with every clock it ever had and what each has fired, in a
fixed number of queries however many clocks there are."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Prefetch, Value, When, prefetch_related_objects

from incidents.models import ClockFiring, ClockKind, Incident, SlaClock
from incidents.selectors import incident_get

# The order a person reads them in: first response, next response, resolution, approval steps.
KIND_ORDER = Case(*(When(kind=kind, then=Value(rank)) for rank, kind in enumerate(ClockKind.values)))


def incident_clocks_prefetch() -> Prefetch:
    """All of an incident's clocks (running, paused and stopped), newest first within each kind, with
    their firings: two queries for any number of incidents."""
    firings = ClockFiring.objects.order_by("kind", "level", "id")
    clocks = SlaClock.objects.order_by(KIND_ORDER.asc(), "-started_at", "-id").prefetch_related(
        Prefetch("firings", queryset=firings)
    )
    return Prefetch("clocks", queryset=clocks)


def incident_get_with_clocks(*, user: Any, incident_id: int) -> Incident:
    incident = incident_get(user=user, incident_id=incident_id)
    prefetch_related_objects([incident], incident_clocks_prefetch())
    return incident
