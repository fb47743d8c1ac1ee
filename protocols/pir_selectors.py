"""Reads of post-incident reviews: which incidents qualify, the reviews and action items a user may see,
and everything the review page shows: the incident's timeline, its checklist answers and its metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import checklist_selectors, policies, selectors
from incidents.clock_selectors import incident_get_with_clocks
from incidents.models import Incident, IncidentStatus, SlaClock
from incidents.presenters import step_user_ids, timeline_entry
from incidents.presenters.checklist import ChecklistRow, checklist_rows
from incidents.presenters.timeline import TimelineEntry
from protocols.models import (
    PirActionItem,
    PirEvent,
    PirLesson,
    PirState,
    PostIncidentReview,
    Priority,
    Tier,
)
from protocols.pir_metrics import PirMetrics, pir_metrics
from protocols.review_selectors import review_subject_labels
from protocols.selectors import category_list

QUALIFYING_PRIORITIES = (Priority.HIGH, Priority.CRITICAL)
QUALIFYING_TIERS = (Tier.HIGH_PRIORITY, Tier.CRISIS)
DONE_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
# A duplicate merged into another is closed, but its story is the survivor's: it gets no review.
QUALIFYING = Q(status__in=DONE_STATUSES, merged_into__isnull=True) & (
    Q(priority__in=QUALIFYING_PRIORITIES) | Q(category__tier__in=QUALIFYING_TIERS)
)
# The beat task looks this far back; an older incident gets its review on demand from its page.
OPEN_LOOKBACK_FOR = timedelta(days=30)


def incident_qualifies(incident: Incident) -> bool:
    """Resolved or closed, not merged into another, and high or critical priority or in a high-priority
    or crisis category. Reads the incident (and its category, loaded with it); no query."""
    if incident.status not in DONE_STATUSES or incident.merged_into_id is not None:
        return False
    tier = incident.category.tier if incident.category_id and incident.category else ""
    return incident.priority in QUALIFYING_PRIORITIES or tier in QUALIFYING_TIERS


def incidents_needing_review(*, now: datetime, limit: int) -> list[int]:
    """Qualifying incidents resolved or closed in the lookback window that have no review yet, oldest
    first."""
    cutoff = now - OPEN_LOOKBACK_FOR
    reviewed = PostIncidentReview.objects.filter(incident_id=OuterRef("pk"))
    return list(
        Incident.objects.filter(QUALIFYING)
        .filter(Q(resolved_at__gte=cutoff) | Q(closed_at__gte=cutoff))
        .filter(~Exists(reviewed))
        .order_by("resolved_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def _require_view(user: Any) -> None:
    if not policies.can(user=user, action="pir.view"):
        raise PermissionRefused("Your role does not allow seeing post-incident reviews.")


def pir_list(*, user: Any) -> QuerySet[PostIncidentReview]:
    """Every review, newest first, with its incident and how many action items are still open."""
    _require_view(user)
    return (
        PostIncidentReview.objects.select_related("incident", "incident__category", "completed_by")
        .annotate(open_action_count=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-opened_at", "-id")
    )


def pir_get(*, user: Any, review_id: int) -> PostIncidentReview:
    """One review with its action items (owners), lessons (their schedules) and who opened, saved and
    completed it: five queries."""
    _require_view(user)
    review = (
        PostIncidentReview.objects.select_related(
            "incident", "incident__category", "opened_by", "updated_by", "completed_by"
        )
        .prefetch_related(
            Prefetch("action_items", queryset=PirActionItem.objects.select_related("owner", "done_by")),
            Prefetch("lessons", queryset=PirLesson.objects.select_related("schedule", "created_by")),
        )
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        raise NotFound("Post-incident review not found.")
    lessons = list(review.lessons.all())
    labels = review_subject_labels(schedule_ids=[lesson.schedule_id for lesson in lessons])
    for lesson in lessons:
        lesson.subject_label = labels.get(lesson.schedule_id, "")  # type: ignore[attr-defined]
    return review


def pir_with_metrics(*, user: Any, review_id: int, now: datetime) -> PostIncidentReview:
    """pir_get(), plus `metrics`: the incident's response times, from its clocks (one more query)."""
    review = pir_get(user=user, review_id=review_id)
    clocks = SlaClock.objects.filter(incident_id=review.incident_id)
    review.metrics = pir_metrics(incident=review.incident, clocks=clocks, now=now)  # type: ignore[attr-defined]
    return review


def pir_id_for_incident(*, incident_id: int) -> int | None:
    return PostIncidentReview.objects.filter(incident_id=incident_id).values_list("pk", flat=True).first()


def pir_card_for(*, incident: Incident) -> dict[str, Any] | None:
    """What the incident page's small "Post-incident review" card shows: nothing (and no query) for an
    incident that does not qualify, else whether a review is open and in which state (one query)."""
    if not incident_qualifies(incident):
        return None
    review = PostIncidentReview.objects.filter(incident_id=incident.pk).only("pk", "state").first()
    return {"review": review, "state_label": review.get_state_display() if review else "Not opened yet"}


def pir_action_item_list(*, user: Any) -> QuerySet[PirActionItem]:
    """Every action item (open ones first, soonest due first) with its review's incident."""
    _require_view(user)
    return PirActionItem.objects.select_related("owner", "done_by", "review__incident").order_by(
        "done_at", "due_on", "id"
    )


def pir_action_items_due(*, today: date) -> QuerySet[PirActionItem]:
    """Open items due today or earlier whose owner was not reminded of that due date yet."""
    return (
        PirActionItem.objects.filter(done_at__isnull=True, due_on__lte=today)
        .exclude(reminded_for=F("due_on"))
        .select_related("review__incident", "owner")
        .order_by("due_on", "id")
    )


def pir_event_list(*, review_id: int) -> list[PirEvent]:
    return list(PirEvent.objects.filter(review_id=review_id).select_related("actor").order_by("at", "id"))


@dataclass(frozen=True)
class PirPage:
    """Everything the review page shows, read-only above the form."""

    incident: Incident
    review: PostIncidentReview | None
    timeline: list[TimelineEntry]
    checklist_rows: list[ChecklistRow]
    has_checklist: bool
    metrics: PirMetrics


def pir_page(*, user: Any, incident_id: int, now: datetime) -> PirPage:
    """The incident (with its timeline and every clock), its "Identify the problem" answers, its metrics
    and its review. A routine incident without a review reads as missing."""
    _require_view(user)
    incident = incident_get_with_clocks(user=user, incident_id=incident_id)
    review_id = pir_id_for_incident(incident_id=incident.pk)
    if review_id is None and not incident_qualifies(incident):
        raise NotFound("Only resolved high-priority and crisis incidents have a post-incident review.")
    events = list(incident.timeline.all())
    clocks = list(incident.clocks.all())
    category_names = {c.pk: c.name for c in category_list(include_inactive=True)}
    people = selectors.user_names_by_id(user_ids=step_user_ids(clocks, events))
    checklist = checklist_selectors.incident_checklist(incident_id=incident.pk, category=incident.category)
    return PirPage(
        incident=incident,
        review=pir_get(user=user, review_id=review_id) if review_id is not None else None,
        timeline=[timeline_entry(e, category_names, people) for e in events],
        checklist_rows=checklist_rows(checklist) if checklist else [],
        has_checklist=checklist is not None,
        metrics=pir_metrics(incident=incident, clocks=clocks, now=now),
    )


def is_draft(review: PostIncidentReview | None) -> bool:
    return review is not None and review.state == PirState.DRAFT
