"""Reads of incidents and mentions, scoped to what the acting user may see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import Incident, Mention, SavedView, TimelineEvent


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
