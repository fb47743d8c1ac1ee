"""Reads of incidents and mentions, scoped to what the acting user may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Prefetch, Q, QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import IS_OPEN, UNDO_WINDOW, Incident, IncidentMerge, Mention, SavedView, TimelineEvent


def incident_base(*, user: Any) -> QuerySet[Incident]:
    if not policies.can(user=user, action="incident.view"):
        raise PermissionRefused("Your role does not allow viewing incidents.")
    return Incident.objects.select_related("category", "assignee").defer("search_vector")


def incident_get(*, user: Any, incident_id: int) -> Incident:
    incident = (
        incident_base(user=user)
        .prefetch_related(
            Prefetch("mentions", queryset=Mention.objects.order_by("posted_at", "id")),
            Prefetch(
                "timeline",
                queryset=TimelineEvent.objects.select_related("actor").order_by("created_at", "id"),
            ),
        )
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("Incident not found.")
    return incident


def incident_similar(*, user: Any, incident_id: int, limit: int = 5) -> list[Incident]:
    """Open incidents that are probably the same issue: they share a product and their titles are
    trigram-similar (pg_trgm's `%`, served by the `inc_title_trgm` index). Most similar first, each with
    its `similarity` (0..1)."""
    candidates = incident_base(user=user)
    incident = Incident.objects.filter(pk=incident_id).only("pk", "title", "products").first()
    if incident is None:
        raise NotFound("Incident not found.")
    return incident_similar_to(user=user, incident=incident, limit=limit, candidates=candidates)


def incident_similar_to(
    *, user: Any, incident: Incident, limit: int = 5, candidates: QuerySet[Incident] | None = None
) -> list[Incident]:
    """incident_similar for an incident already loaded (the incident page has it): one query, none when
    it names no product."""
    if not incident.products:
        return []
    candidates = candidates if candidates is not None else incident_base(user=user)
    return list(
        candidates.filter(IS_OPEN, products__overlap=incident.products, title__trigram_similar=incident.title)
        .exclude(pk=incident.pk)
        .annotate(similarity=TrigramSimilarity("title", incident.title))
        .order_by("-similarity", "-created_at", "-id")[:limit]
    )


def merges_undoable(*, incident_id: int, now: datetime) -> dict[int, IncidentMerge]:
    """The merges this incident took part in that can still be undone, by id."""
    merges = IncidentMerge.objects.filter(
        Q(source_id=incident_id) | Q(target_id=incident_id),
        undone_at__isnull=True,
        merged_at__gte=now - UNDO_WINDOW,
    )
    return {m.pk: m for m in merges}


def user_names_by_id(*, user_ids: set[int]) -> dict[int, str]:
    """Display names of the people an escalation step names (one query; none when there are none)."""
    if not user_ids:
        return {}
    users = get_user_model().objects.filter(pk__in=user_ids).only("pk", "username", "first_name", "last_name")
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def saved_view_list(*, user: Any) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user_id=user.pk).order_by("name")


def assignable_user_list() -> QuerySet[Any]:
    """Active users holding a role that may take incidents: the choices of every assignee select."""
    roles = policies.ACTION_ROLES["incident.assign_self"]
    return (
        get_user_model()
        .objects.filter(is_active=True, role_assignments__role__in=roles)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
