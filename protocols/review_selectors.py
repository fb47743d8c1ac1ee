"""Reads of the review cadence: every live plan object's schedule with its name, owner and due moment
resolved in SQL (a template's from the template itself), scoped to who asks, and the due list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from config.errors import NotFound, PermissionRefused
from incidents import policies
from protocols.models import ReviewEvent, ReviewKind, ReviewSchedule
from protocols.review_subjects import MODERATION_POLICY_NAME, OBJECT_KINDS, SUBJECTS

# Reviews due within this window are "due soon": listed, and their owners reminded.
DUE_SOON_FOR = timedelta(days=7)


class ReviewState:
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    SCHEDULED = "scheduled"
    CHOICES = ((OVERDUE, "Overdue"), (DUE_SOON, "Due within 7 days"), (SCHEDULED, "Not due yet"))


class StartOfDay(Func):
    """A date as a moment: its midnight in the server's time zone, so a template "due on" a day is due
    from the start of that day, like any other due moment. `<date>::timestamp AT TIME ZONE <zone>`."""

    template = "(%(expressions)s)"
    arg_joiner = "::timestamp AT TIME ZONE "
    output_field = DateTimeField()

    def __init__(self, day: Any) -> None:
        super().__init__(day, Value(settings.TIME_ZONE))


def _subject_of(kind: str) -> QuerySet[Any]:
    return SUBJECTS[kind].model._default_manager.filter(pk=OuterRef("object_id"))


def _template_rows() -> QuerySet[Any]:
    return _subject_of(ReviewKind.TEMPLATE)


def review_schedule_base() -> QuerySet[ReviewSchedule]:
    """Schedules of plan objects still in use (not deleted, retired or switched off), each annotated
    with `subject_name`, `effective_due_at` and `effective_owner_id` (a template's come from the
    template) and the owner's `owner_label` and `owner_is_active`. One query for any number of rows."""
    return review_schedules_annotated().filter(Q(subject_is_live=True))


def review_subject_labels(*, schedule_ids: list[int]) -> dict[int, str]:
    """How each schedule's plan object reads ("Category “Late delivery”"), in use or not. One query."""
    if not schedule_ids:
        return {}
    rows = review_schedules_annotated().filter(pk__in=schedule_ids)
    return {
        row.pk: f"{ReviewKind(row.kind).label} “{row.subject_name or '(deleted)'}”"  # type: ignore[attr-defined]
        for row in rows
    }


def review_schedules_annotated() -> QuerySet[ReviewSchedule]:
    """Every schedule with the annotations review_schedule_base() describes, and `subject_is_live`."""
    name = Case(
        *(
            When(kind=kind, then=Subquery(_subject_of(kind).values(SUBJECTS[kind].name_field)[:1]))
            for kind in OBJECT_KINDS
        ),
        When(kind=ReviewKind.MODERATION_POLICY, then=Value(MODERATION_POLICY_NAME)),
        default=Value(""),
        output_field=CharField(),
    )
    live = Case(
        *(
            When(kind=kind, then=Exists(_subject_of(kind).filter(SUBJECTS[kind].live)))
            for kind in OBJECT_KINDS
        ),
        When(kind=ReviewKind.MODERATION_POLICY, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    template_due = _template_rows().annotate(starts=StartOfDay("review_due_on")).values("starts")[:1]
    due = Case(When(kind=ReviewKind.TEMPLATE, then=Subquery(template_due)), default=F("due_at"))
    owner_id = Case(
        When(kind=ReviewKind.TEMPLATE, then=Subquery(_template_rows().values("owner_id")[:1])),
        default=F("owner_id"),
        output_field=IntegerField(),
    )
    owners = (
        get_user_model()
        ._default_manager.filter(pk=OuterRef("effective_owner_id"))
        .annotate(
            label=Coalesce(
                NullIf(Trim(Concat("first_name", Value(" "), "last_name")), Value("")), F("username")
            )
        )
    )
    return (
        ReviewSchedule.objects.annotate(subject_is_live=live)
        .annotate(
            subject_name=name,
            effective_due_at=due,
            effective_owner_id=owner_id,
            owner_username=Subquery(owners.values("username")[:1], output_field=CharField()),
            owner_label=Subquery(owners.values("label")[:1], output_field=CharField()),
            owner_is_active=Subquery(owners.values("is_active")[:1], output_field=BooleanField()),
        )
        .select_related("last_reviewed_by")
    )


def may_see_all_reviews(*, user: Any) -> bool:
    return policies.can(user=user, action="review.view_all")


def review_schedule_list(*, user: Any) -> QuerySet[ReviewSchedule]:
    """Managers and admins see every schedule; anyone else on the team only the ones they own."""
    if not policies.can(user=user, action="review.view"):
        raise PermissionRefused("Your role does not allow seeing protocol reviews.")
    rows = review_schedule_base()
    if not may_see_all_reviews(user=user):
        rows = rows.filter(Q(effective_owner_id=user.pk))
    return rows.order_by(F("effective_due_at").asc(), "id")


def review_schedule_get(*, user: Any, schedule_id: int) -> ReviewSchedule:
    found = review_schedule_list(user=user).filter(pk=schedule_id).first()
    if found is None:
        raise NotFound("Review schedule not found.")
    return found


def filter_by_state(rows: QuerySet[ReviewSchedule], *, state: str, now: datetime) -> QuerySet[ReviewSchedule]:
    soon = now + DUE_SOON_FOR
    if state == ReviewState.OVERDUE:
        return rows.filter(Q(effective_due_at__lte=now))
    if state == ReviewState.DUE_SOON:
        return rows.filter(Q(effective_due_at__gt=now, effective_due_at__lte=soon))
    if state == ReviewState.SCHEDULED:
        return rows.filter(Q(effective_due_at__gt=soon))
    return rows


def review_state(due_at: datetime, *, now: datetime) -> str:
    if due_at <= now:
        return ReviewState.OVERDUE
    if due_at <= now + DUE_SOON_FOR:
        return ReviewState.DUE_SOON
    return ReviewState.SCHEDULED


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    name: str
    is_active: bool = True


@dataclass(frozen=True)
class ReviewItem:
    """One plan object's review as the page, the API and the dashboard show it."""

    schedule_id: int
    kind: str
    kind_label: str
    object_id: int | None
    name: str
    owner: Person | None  # None: nobody owns it
    interval_days: int
    due_at: datetime
    state: str
    last_reviewed_at: datetime | None
    last_reviewed_by: Person | None
    edit_url: str

    @property
    def is_overdue(self) -> bool:
        return self.state == ReviewState.OVERDUE

    @property
    def owner_name(self) -> str:
        return self.owner.name if self.owner else ""

    @property
    def last_reviewed_by_name(self) -> str:
        return self.last_reviewed_by.name if self.last_reviewed_by else ""


def review_item(row: ReviewSchedule, *, now: datetime) -> ReviewItem:
    """`row` comes from review_schedule_base() (its annotations are read here)."""
    reviewer = row.last_reviewed_by
    due_at: datetime = row.effective_due_at  # type: ignore[attr-defined]
    owner_id: int | None = row.effective_owner_id  # type: ignore[attr-defined]
    owner = (
        Person(
            id=owner_id,
            username=row.owner_username,  # type: ignore[attr-defined]
            name=row.owner_label,  # type: ignore[attr-defined]
            is_active=bool(row.owner_is_active),  # type: ignore[attr-defined]
        )
        if owner_id is not None
        else None
    )
    return ReviewItem(
        schedule_id=row.pk,
        kind=row.kind,
        kind_label=str(ReviewKind(row.kind).label),
        object_id=row.object_id,
        name=row.subject_name or f"#{row.object_id}",  # type: ignore[attr-defined]
        owner=owner,
        interval_days=row.interval_days,
        due_at=due_at,
        state=review_state(due_at, now=now),
        last_reviewed_at=row.last_reviewed_at,
        last_reviewed_by=person(reviewer) if reviewer else None,
        edit_url=SUBJECTS[row.kind].admin_url(row.object_id),
    )


def person(user: Any) -> Person:
    return Person(
        id=user.pk,
        username=user.get_username(),
        name=user.get_full_name() or user.get_username(),
        is_active=user.is_active,
    )


def protocol_reviews_due(*, now: datetime, user: Any) -> list[ReviewItem]:
    """The plan objects whose review is overdue or due within the next 7 days, most overdue first, for
    the dashboard and /reviews/. Managers and admins get every one; anyone else on the team only those
    they own; a user without a team role gets PermissionRefused. Each item names the object (`kind`,
    `kind_label`, `name`, `edit_url`), its `owner` (None when nobody owns it), the last
    review (`last_reviewed_at`, `last_reviewed_by`), `due_at` and `state` ("overdue" or "due_soon").
    One query."""
    rows = review_schedule_list(user=user).filter(Q(effective_due_at__lte=now + DUE_SOON_FOR))
    return [review_item(row, now=now) for row in rows]


@dataclass(frozen=True)
class ReviewEventItem:
    id: int
    kind: str
    kind_label: str
    actor: Person | None  # None: the system
    at: datetime
    note: str
    due_before: datetime | None
    due_after: datetime | None


def review_event_list(*, schedule_id: int, limit: int = 20) -> list[ReviewEventItem]:
    """The latest events of one schedule, newest first, with who acted. One query."""
    events = ReviewEvent.objects.filter(schedule_id=schedule_id).select_related("actor")[:limit]
    return [
        ReviewEventItem(
            id=event.pk,
            kind=event.kind,
            kind_label=event.get_kind_display(),
            actor=person(event.actor) if event.actor else None,
            at=event.at,
            note=event.note,
            due_before=event.due_before,
            due_after=event.due_after,
        )
        for event in events
    ]


def review_due_for_reminders(*, now: datetime) -> list[ReviewSchedule]:
    """Every live schedule due within the window whose reminder for that due moment is not sent yet."""
    rows = review_schedule_base().filter(Q(effective_due_at__lte=now + DUE_SOON_FOR))
    return [
        row
        for row in rows.order_by(F("effective_due_at").asc(), "id")
        if row.reminded_for != row.effective_due_at  # type: ignore[attr-defined]
    ]


def schedule_filter_owner(
    rows: QuerySet[ReviewSchedule], *, owner: str, user: Any
) -> QuerySet[ReviewSchedule]:
    """`owner` is a user id, "me" or "none" (nobody owns it)."""
    if owner == "none":
        return rows.filter(Q(effective_owner_id__isnull=True))
    if owner == "me":
        return rows.filter(Q(effective_owner_id=user.pk))
    return rows.filter(Q(effective_owner_id=int(owner))) if owner.isdigit() else rows.none()
