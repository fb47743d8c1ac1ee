"""Triage actions on incidents. Each is a compare-and-set on the value it read: if someone else
changed the incident in between, nothing is written and Conflict (409) is raised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import OPEN_STATUS_VALUES, EventKind, Incident, IncidentStatus
from incidents.services import clocks
from incidents.services.timeline import timeline_append
from incidents.services.webhooks import incident_updated_emit, webhook_event_emit
from protocols.models import Category, Priority, Role

User = get_user_model()
BULK_MAX = 200
SETTABLE_STATUSES = (IncidentStatus.TRIAGED, IncidentStatus.IN_PROGRESS, IncidentStatus.WAITING_ON_CUSTOMER)


def _require(actor: Any, action: str) -> None:
    if not policies.can(user=actor, action=action):
        raise PermissionRefused("Your role does not allow this action.")


def _get(incident_id: int) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("Incident not found.")
    return incident


def _cas_update(incident: Incident, expected: dict[str, Any], changes: dict[str, Any]) -> None:
    changes = {**changes, "updated_at": timezone.now()}
    updated = Incident.objects.filter(pk=incident.pk, **expected).update(**changes)
    if updated != 1:
        raise Conflict("The incident was changed by someone else; reload and try again.")
    for name, value in changes.items():
        setattr(incident, name, value)


def _user_ref(user: Any | None) -> dict[str, Any] | None:
    """How an event remembers a person: the name as it read then, even if the account changes later."""
    if user is None:
        return None
    username = user.get_username()
    return {"id": user.pk, "username": username, "name": user.get_full_name() or username}


def _triaged_if_new(incident: Incident) -> dict[str, Any]:
    """Assigning or categorising a new incident is what triage means: it leaves the 'new' pile."""
    return {"status": IncidentStatus.TRIAGED} if incident.status == IncidentStatus.NEW else {}


@transaction.atomic
def incident_create(
    *,
    actor: Any,
    title: str,
    description: str = "",
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    tags: Sequence[str] = (),
    products: Sequence[str] = (),
    follow_up_required: bool = False,
    assignee: Any | None = None,
) -> Incident:
    _require(actor, "incident.create")
    if assignee is not None and not policies.can_assign(user=actor, assignee=assignee):
        raise PermissionRefused("Your role does not allow assigning incidents to others.")
    title = title.strip()
    if not title:
        raise ValidationFailed(
            "title: This field is required.", fields={"title": ["This field is required."]}
        )
    now = timezone.now()
    incident = Incident.objects.create(
        title=title[:200],
        description=description,
        category=category,
        priority=priority,
        status=IncidentStatus.TRIAGED if (assignee or category) else IncidentStatus.NEW,
        assignee=assignee,
        assigned_role=Role.RESPONDER,
        follow_up_required=follow_up_required,
        tags=_clean_list(tags),
        products=_clean_list(products),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    incident_refresh_search(incident.pk)
    clocks.clocks_start(incident=incident, now=now)
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.CREATED,
        actor=actor,
        after={
            "title": incident.title,
            "priority": incident.priority,
            "category_id": category.pk if category else None,
            "assignee": _user_ref(assignee),
        },
        note="Opened by hand",
    )
    webhook_event_emit(event="incident.created", data={}, incident_id=incident.pk)
    return incident


def _clean_list(values: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        value = value.strip().lower()[:50]
        if value and value not in cleaned:
            cleaned.append(value)
    return cleaned


def incident_refresh_search(incident_id: int) -> None:
    """Rebuilds the search document from the title and description (mention text is added on intake)."""
    Incident.objects.filter(pk=incident_id).update(
        search_vector=SearchVector("title", "description", config="english")
    )


@transaction.atomic
def incident_assign(*, actor: Any, incident_id: int, assignee: Any | None) -> Incident:
    if not policies.can_assign(user=actor, assignee=assignee):
        raise PermissionRefused("Your role does not allow assigning this incident to someone else.")
    if assignee is not None and not assignee.is_active:
        raise ValidationFailed(
            "assignee: This user is inactive.", fields={"assignee": ["This user is inactive."]}
        )
    incident = _get(incident_id)
    if incident.assignee_id == (assignee.pk if assignee else None):
        return incident
    old_assignee_id = incident.assignee_id
    before = {"assignee": _user_ref(incident.assignee), "status": incident.status}
    _cas_update(
        incident,
        {"assignee_id": incident.assignee_id, "status": incident.status},
        {"assignee": assignee, **_triaged_if_new(incident)},
    )
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.ASSIGNED,
        actor=actor,
        before=before,
        after={"assignee": _user_ref(assignee), "status": incident.status},
    )
    incident_updated_emit(
        incident_id=incident.pk,
        before={"assignee_id": old_assignee_id, "status": before["status"]},
        after={"assignee_id": incident.assignee_id, "status": incident.status},
    )
    return incident


@transaction.atomic
def incident_categorize(*, actor: Any, incident_id: int, category: Category | None) -> Incident:
    _require(actor, "incident.categorize")
    if category is not None and not category.is_active:
        raise ValidationFailed(
            "category: This category is retired.", fields={"category": ["Retired category."]}
        )
    incident = _get(incident_id)
    new_id = category.pk if category else None
    if incident.category_id == new_id:
        return incident
    before = {"category_id": incident.category_id, "status": incident.status}
    _cas_update(
        incident,
        {"category_id": incident.category_id, "status": incident.status},
        {"category": category, **_triaged_if_new(incident)},
    )
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.CATEGORIZED,
        actor=actor,
        before=before,
        after={
            "category_id": new_id,
            "category": category.name if category else None,
            "status": incident.status,
        },
    )
    clocks.clocks_recompute(incident=incident, actor=actor, now=timezone.now(), reason="Category changed")
    incident_updated_emit(
        incident_id=incident.pk, before=before, after={"category_id": new_id, "status": incident.status}
    )
    return incident


@transaction.atomic
def incident_set_priority(*, actor: Any, incident_id: int, priority: str) -> Incident:
    _require(actor, "incident.prioritize")
    if priority not in Priority.values:
        raise ValidationFailed(
            f"priority: Must be one of {', '.join(Priority.values)}.",
            fields={"priority": ["Invalid choice."]},
        )
    incident = _get(incident_id)
    if incident.priority == priority:
        return incident
    before = {"priority": incident.priority}
    _cas_update(incident, {"priority": incident.priority}, {"priority": priority})
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.PRIORITY_CHANGED,
        actor=actor,
        before=before,
        after={"priority": priority},
    )
    clocks.clocks_recompute(incident=incident, actor=actor, now=timezone.now(), reason="Priority changed")
    incident_updated_emit(incident_id=incident.pk, before=before, after={"priority": priority})
    return incident


@transaction.atomic
def incident_set_status(*, actor: Any, incident_id: int, status: str) -> Incident:
    """Moves an open incident between the working states (resolve and reopen have their own services)."""
    _require(actor, "incident.edit")
    if status not in SETTABLE_STATUSES:
        raise ValidationFailed(
            "status: Use resolve/reopen for those; settable: triaged, in_progress, waiting_on_customer.",
            fields={"status": ["Not settable here."]},
        )
    incident = _get(incident_id)
    if incident.status not in OPEN_STATUS_VALUES:
        raise Conflict(f"The incident is {incident.status}; reopen it first.")
    if incident.status == status:
        return incident
    before = {"status": incident.status}
    _cas_update(incident, {"status": incident.status}, {"status": status})
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.STATUS_CHANGED,
        actor=actor,
        before=before,
        after={"status": status},
    )
    clocks.clocks_on_status_change(
        incident_id=incident.pk, old=before["status"], new=status, now=incident.updated_at
    )
    clocks.incident_sla_sync(incident_ids=[incident.pk])
    incident_updated_emit(incident_id=incident.pk, before=before, after={"status": status})
    return incident


EDITABLE_FIELDS = ("title", "description", "follow_up_required", "tags", "products")


@transaction.atomic
def incident_update_details(*, actor: Any, incident_id: int, **changes: Any) -> Incident:
    _require(actor, "incident.edit")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Not editable: {', '.join(sorted(unknown))}.")
    if "title" in changes:
        changes["title"] = str(changes["title"]).strip()[:200]
        if not changes["title"]:
            raise ValidationFailed(
                "title: This field is required.", fields={"title": ["This field is required."]}
            )
    for name in ("tags", "products"):
        if name in changes:
            changes[name] = _clean_list(changes[name])
    incident = _get(incident_id)
    diff_before = {k: getattr(incident, k) for k, v in changes.items() if getattr(incident, k) != v}
    if not diff_before:
        return incident
    diff_after = {k: changes[k] for k in diff_before}
    _cas_update(incident, diff_before, diff_after)
    if {"title", "description"} & set(diff_after):
        incident_refresh_search(incident.pk)
    timeline_append(
        incident_id=incident.pk, kind=EventKind.EDITED, actor=actor, before=diff_before, after=diff_after
    )
    return incident


@transaction.atomic
def incident_resolve(*, actor: Any, incident_id: int, note: str = "") -> Incident:
    _require(actor, "incident.resolve")
    incident = _get(incident_id)
    if incident.status not in OPEN_STATUS_VALUES:
        raise Conflict(f"The incident is already {incident.status}.")
    before = {"status": incident.status}
    _cas_update(
        incident,
        {"status": incident.status},
        {"status": IncidentStatus.RESOLVED, "resolved_at": timezone.now()},
    )
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.RESOLVED,
        actor=actor,
        before=before,
        after={"status": IncidentStatus.RESOLVED},
        note=note,
    )
    clocks.clocks_on_resolve(incident_id=incident.pk, now=incident.updated_at)
    clocks.incident_sla_sync(incident_ids=[incident.pk])
    incident_updated_emit(incident_id=incident.pk, before=before, after={"status": IncidentStatus.RESOLVED})
    return incident


@transaction.atomic
def incident_reopen(*, actor: Any, incident_id: int, note: str = "") -> Incident:
    _require(actor, "incident.reopen")
    incident = _get(incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict("Closed incidents cannot be reopened; open a new incident instead.")
    if incident.status != IncidentStatus.RESOLVED:
        raise Conflict(f"Only resolved incidents can be reopened; this one is {incident.status}.")
    target = IncidentStatus.IN_PROGRESS if incident.assignee_id else IncidentStatus.TRIAGED
    _cas_update(incident, {"status": IncidentStatus.RESOLVED}, {"status": target, "resolved_at": None})
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.REOPENED,
        actor=actor,
        before={"status": IncidentStatus.RESOLVED},
        after={"status": target},
        note=note,
    )
    clocks.clocks_on_reopen(incident=incident, now=incident.updated_at)
    incident_updated_emit(
        incident_id=incident.pk, before={"status": IncidentStatus.RESOLVED}, after={"status": target}
    )
    return incident


@transaction.atomic
def incident_respond(*, actor: Any, incident_id: int, note: str = "") -> Incident:
    """Records that the team answered the customer (a reply went out): the first-response target is
    met on the first one, a running next-response target on any, and pending escalations stop."""
    _require(actor, "incident.respond")
    incident = _get(incident_id)
    if incident.status not in OPEN_STATUS_VALUES:
        raise Conflict(f"The incident is {incident.status}; reopen it first.")
    before_status = incident.status
    first = incident.first_responded_at is None
    targets = record_response(incident=incident, now=timezone.now())
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.RESPONDED,
        actor=actor,
        before={"status": before_status},
        after={"status": incident.status, "first_response": first, "targets": targets},
        note=note,
    )
    return incident


def record_response(*, incident: Incident, now: Any) -> dict[str, str]:
    """What answering the customer does to an incident, however the answer went out (marked by hand or
    a reply published): first response recorded, a new incident moves to in progress, the response
    clocks stop. Returns each stopped target as met or missed. The caller records the timeline event."""
    expected = {"first_responded_at": incident.first_responded_at, "status": incident.status}
    changes: dict[str, Any] = {}
    if incident.first_responded_at is None:
        changes["first_responded_at"] = now
    if incident.status in (IncidentStatus.NEW, IncidentStatus.TRIAGED):
        changes["status"] = IncidentStatus.IN_PROGRESS
    _cas_update(incident, expected, changes)
    if "status" in changes:
        incident_updated_emit(
            incident_id=incident.pk, before={"status": expected["status"]}, after={"status": incident.status}
        )
    stopped = clocks.clocks_on_response(incident_id=incident.pk, now=now)
    clocks.incident_sla_sync(incident_ids=[incident.pk])
    return {c.kind: ("missed" if c.breached_at else "met") for c in stopped}


@transaction.atomic
def incident_acknowledge(*, actor: Any, incident_id: int) -> Incident:
    """Someone has it in hand: the escalation steps still pending on its clocks are cancelled (the
    targets themselves keep running)."""
    _require(actor, "incident.acknowledge")
    incident = _get(incident_id)
    if incident.status not in OPEN_STATUS_VALUES:
        raise Conflict(f"The incident is {incident.status}; nothing to acknowledge.")
    now = timezone.now()
    _cas_update(incident, {"acknowledged_at": incident.acknowledged_at}, {"acknowledged_at": now})
    cancelled = clocks.clocks_stop_escalations(incident_id=incident.pk, now=now)
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.ACKNOWLEDGED,
        actor=actor,
        after={"escalations_stopped": cancelled},
    )
    return incident


def incidents_close_resolved(*, resolved_before: Any, limit: int = 500) -> int:
    """Closes incidents resolved before the cut-off; returns how many it closed (0 = no work left)."""
    closed = 0
    with transaction.atomic():
        # SKIP LOCKED: two beat runs or workers never close (and record) the same incident twice.
        candidates = list(
            Incident.objects.select_for_update(skip_locked=True)
            .filter(status=IncidentStatus.RESOLVED, resolved_at__lt=resolved_before)
            .order_by("resolved_at")
            .values_list("pk", flat=True)[:limit]
        )
        now = timezone.now()
        for incident_id in candidates:
            if Incident.objects.filter(pk=incident_id, status=IncidentStatus.RESOLVED).update(
                status=IncidentStatus.CLOSED, closed_at=now, updated_at=now
            ):
                timeline_append(
                    incident_id=incident_id,
                    kind=EventKind.CLOSED,
                    actor=None,
                    before={"status": IncidentStatus.RESOLVED},
                    after={"status": IncidentStatus.CLOSED},
                    note="Closed automatically after staying resolved",
                )
                incident_updated_emit(
                    incident_id=incident_id,
                    before={"status": IncidentStatus.RESOLVED},
                    after={"status": IncidentStatus.CLOSED},
                )
                closed += 1
    return closed


def _bulk_targets(incident_ids: Sequence[int]) -> list[Incident]:
    ids = sorted({int(i) for i in incident_ids})
    if not ids:
        raise ValidationFailed("incidents: Choose at least one incident.", fields={"incidents": ["Empty."]})
    if len(ids) > BULK_MAX:
        raise ValidationFailed(f"incidents: At most {BULK_MAX} at once.", fields={"incidents": ["Too many."]})
    # Row locks in id order: concurrent bulk actions queue instead of deadlocking or overwriting.
    incidents = list(Incident.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(incidents) != len(ids):
        raise NotFound("Some of the chosen incidents do not exist.")
    return incidents


@transaction.atomic
def incidents_bulk_assign(*, actor: Any, incident_ids: Sequence[int], assignee: Any | None) -> int:
    if not policies.can_assign(user=actor, assignee=assignee):
        raise PermissionRefused("Your role does not allow assigning incidents to someone else.")
    changed = 0
    for incident in _bulk_targets(incident_ids):
        if incident.assignee_id != (assignee.pk if assignee else None):
            incident_assign(actor=actor, incident_id=incident.pk, assignee=assignee)
            changed += 1
    return changed


@transaction.atomic
def incidents_bulk_categorize(*, actor: Any, incident_ids: Sequence[int], category: Category | None) -> int:
    _require(actor, "incident.categorize")
    changed = 0
    for incident in _bulk_targets(incident_ids):
        if incident.category_id != (category.pk if category else None):
            incident_categorize(actor=actor, incident_id=incident.pk, category=category)
            changed += 1
    return changed


def user_for_assignment(*, user_id: int | None) -> Any | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed(
            "assignee: No such active user.", fields={"assignee": ["No such active user."]}
        )
    return user
