"""Writes to the review cadence: the schedules plan objects lack, marking a review done (compare-and-set),
an owner or interval changed, a review made due by a lesson, and the reminders owners and managers get."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Digest, Message, drafts_for, messages_coalesce
from protocols.models import (
    DEFAULT_REVIEW_INTERVAL_DAYS,
    ReviewEvent,
    ReviewEventKind,
    ReviewKind,
    ReviewSchedule,
    Role,
)
from protocols.models.cadence import MAX_REVIEW_INTERVAL_DAYS
from protocols.review_selectors import review_due_for_reminders, review_schedule_base
from protocols.review_subjects import OBJECT_KINDS, SUBJECTS
from protocols.services.common import locked, require

NOTE_MAX = 2000


class Unset(Enum):
    NOT_GIVEN = "not given"


NOT_GIVEN = Unset.NOT_GIVEN


def template_due_at(day: date) -> datetime:
    """The moment a template "due on" `day` is due: that day's midnight in the server's time zone, as
    review_selectors.StartOfDay computes it in SQL."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _templates() -> Any:
    return SUBJECTS[ReviewKind.TEMPLATE].model._default_manager


@transaction.atomic
def review_schedules_sync(*, now: datetime | None = None) -> int:
    """Gives every plan object without a schedule one (first due an interval from now; a template keeps
    its own due date), and the moderation policy its single one. Running it again creates nothing; two
    runs at once create each schedule once (the unique constraint). Returns how many it created."""
    now = now or timezone.now()
    first_due = now + timedelta(days=DEFAULT_REVIEW_INTERVAL_DAYS)
    rows: list[ReviewSchedule] = []
    for kind in OBJECT_KINDS:
        scheduled = ReviewSchedule.objects.filter(kind=kind).values("object_id")
        missing = SUBJECTS[kind].model._default_manager.exclude(pk__in=scheduled).values_list("pk", flat=True)
        due = None if kind == ReviewKind.TEMPLATE else first_due
        rows += [ReviewSchedule(kind=kind, object_id=pk, due_at=due, created_at=now) for pk in missing]
    if not ReviewSchedule.objects.filter(kind=ReviewKind.MODERATION_POLICY).exists():
        rows.append(ReviewSchedule(kind=ReviewKind.MODERATION_POLICY, due_at=first_due, created_at=now))
    ReviewSchedule.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _fresh(schedule_id: int) -> ReviewSchedule:
    row = review_schedule_base().filter(pk=schedule_id).first()
    if row is None:
        raise NotFound("Review schedule not found.")
    return row


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        problem = f"At most {NOTE_MAX} characters."
        raise ValidationFailed(f"note: {problem}", fields={"note": [problem]})
    return note


@transaction.atomic
def review_mark_reviewed(
    *,
    actor: Any,
    schedule_id: int,
    note: str = "",
    expected_last_reviewed_at: datetime | Literal[Unset.NOT_GIVEN] | None = NOT_GIVEN,
) -> ReviewSchedule:
    """Records that `actor` read the object again: who and when, their note, and the next due moment an
    interval from now. The owner, a manager or an admin may. A compare-and-set on `last_reviewed_at`
    (the value the caller saw, or the one read now): a second, concurrent mark answers 409 and changes
    nothing."""
    require(actor=actor, action="review.mark_own", refusal="Your role does not allow marking reviews.")
    row = _fresh(schedule_id)
    owner_id = row.effective_owner_id  # type: ignore[attr-defined]
    if not policies.can(user=actor, action="review.manage") and owner_id != actor.pk:
        raise PermissionRefused("Only its owner, a manager or an admin may mark this reviewed.")
    note = _clean_note(note)
    expected = row.last_reviewed_at if expected_last_reviewed_at is NOT_GIVEN else expected_last_reviewed_at
    now = timezone.now()
    next_due = now + timedelta(days=row.interval_days)
    is_template = row.kind == ReviewKind.TEMPLATE
    changes: dict[str, Any] = {"last_reviewed_at": now, "last_reviewed_by": actor}
    if not is_template:
        changes["due_at"] = next_due
    same = ReviewSchedule.objects.filter(pk=row.pk)
    same = (
        same.filter(last_reviewed_at__isnull=True)
        if expected is None
        else same.filter(last_reviewed_at=expected)
    )
    if same.update(**changes) == 0:
        raise Conflict("Someone else marked this reviewed first; nothing was changed. Reload to see it.")
    if is_template:
        due_on = timezone.localdate(next_due)
        _templates().filter(pk=row.object_id).update(review_due_on=due_on, updated_at=now)
        next_due = template_due_at(due_on)
    ReviewEvent.objects.create(
        schedule_id=row.pk,
        kind=ReviewEventKind.REVIEWED,
        actor=actor,
        at=now,
        note=note,
        due_before=row.effective_due_at,  # type: ignore[attr-defined]
        due_after=next_due,
    )
    return _fresh(row.pk)


@transaction.atomic
def review_schedule_update(
    *, actor: Any, schedule_id: int, owner: Any | None, interval_days: int
) -> ReviewSchedule:
    """Sets who owns the object's review and how often it is read. A new interval counts from the last
    review (or from when the schedule started). A template's owner is changed on the template."""
    require(actor=actor, action="review.manage", refusal="Only managers and admins configure reviews.")
    schedule = locked(ReviewSchedule, pk=schedule_id, missing="Review schedule not found.")
    if not 1 <= interval_days <= MAX_REVIEW_INTERVAL_DAYS:
        problem = f"Between 1 and {MAX_REVIEW_INTERVAL_DAYS} days."
        raise ValidationFailed(f"interval_days: {problem}", fields={"interval_days": [problem]})
    is_template = schedule.kind == ReviewKind.TEMPLATE
    if is_template and owner is not None:
        problem = "A template's owner is set on the template itself."
        raise ValidationFailed(f"owner: {problem}", fields={"owner": [problem]})
    if owner is not None and not owner.is_active:
        problem = "This user is deactivated."
        raise ValidationFailed(f"owner: {problem}", fields={"owner": [problem]})
    before = _fresh(schedule.pk)
    changes: dict[str, Any] = {}
    details: dict[str, Any] = {}
    owner_id = owner.pk if owner is not None else None
    if not is_template and owner_id != schedule.owner_id:
        changes["owner_id"] = owner_id
        details["owner_id"] = [schedule.owner_id, owner_id]
    due_after = before.effective_due_at  # type: ignore[attr-defined]
    if interval_days != schedule.interval_days:
        changes["interval_days"] = interval_days
        details["interval_days"] = [schedule.interval_days, interval_days]
        due_after = (schedule.last_reviewed_at or schedule.created_at) + timedelta(days=interval_days)
        if is_template:
            due_on = timezone.localdate(due_after)
            _templates().filter(pk=schedule.object_id).update(review_due_on=due_on, updated_at=timezone.now())
            due_after = template_due_at(due_on)
        else:
            changes["due_at"] = due_after
    if not changes:
        return before
    ReviewSchedule.objects.filter(pk=schedule.pk).update(**changes)
    ReviewEvent.objects.create(
        schedule_id=schedule.pk,
        kind=ReviewEventKind.SETTINGS_CHANGED,
        actor=actor,
        at=timezone.now(),
        due_before=before.effective_due_at,  # type: ignore[attr-defined]
        due_after=due_after,
        details=details,
    )
    return _fresh(schedule.pk)


def review_make_due(
    *, actor: Any, schedule_id: int, now: datetime, note: str, details: dict[str, Any]
) -> bool:
    """Brings the review forward to now (never later than it already was), so its owner revisits the
    object: a template becomes due today. Called inside the caller's transaction (a lesson being
    linked); returns whether the due moment moved."""
    schedule = locked(ReviewSchedule, pk=schedule_id, missing="Review schedule not found.")
    before = _fresh(schedule.pk).effective_due_at  # type: ignore[attr-defined]
    if schedule.kind == ReviewKind.TEMPLATE:
        today = timezone.localdate(now)
        moved = (
            _templates()
            .filter(pk=schedule.object_id, review_due_on__gt=today)
            .update(review_due_on=today, updated_at=now)
        )
        after = template_due_at(today) if moved else before
    else:
        moved = ReviewSchedule.objects.filter(pk=schedule.pk, due_at__gt=now).update(due_at=now)
        after = now if moved else before
    if moved:
        ReviewEvent.objects.create(
            schedule_id=schedule.pk,
            kind=ReviewEventKind.MADE_DUE,
            actor=actor,
            at=now,
            note=note,
            due_before=before,
            due_after=after,
            details=details,
        )
    return bool(moved)


def _reminder(row: ReviewSchedule, *, due: datetime, now: datetime, owner_id: int | None) -> Message:
    what = f"{ReviewKind(row.kind).label} “{row.subject_name}”"  # type: ignore[attr-defined]
    day = dateformat.format(timezone.localtime(due), "j M Y")
    overdue = due <= now
    link = f"{reverse('protocols:reviews')}#review-{row.pk}"
    if owner_id is None:
        return Message(
            key=f"review:{row.pk}:{timezone.localdate(due).isoformat()}",
            kind="review_overdue",
            subject=f"Review overdue, nobody owns it: {what}",
            body=f"The review was due on {day} and nobody owns it. Give it an owner, or read it again and "
            "mark it reviewed.",
            link=link,
            roles=[Role.MANAGER],
        )
    return Message(
        key=f"review:{row.pk}:{timezone.localdate(due).isoformat()}",
        kind="review_due",
        subject=f"Review {'overdue' if overdue else 'due'}: {what}",
        body=f"You own this part of the response plan; its review {'was' if overdue else 'is'} due on {day}. "
        "Read it again, change what no longer holds, and mark it reviewed.",
        link=link,
        user_ids=[owner_id],
    )


def review_reminders_send(*, now: datetime) -> int:
    """One reminder per schedule and due date: to the owner once the review is due within 7 days (or
    overdue); to the managers once it is overdue and nobody (or a deactivated account) owns it. Each
    schedule is claimed with a compare-and-set on `reminded_for` in the transaction that stores the
    notifications, so a re-run or two runs at once send nothing twice. Returns how many were sent."""
    messages: list[Message] = []
    with transaction.atomic():
        for row in review_due_for_reminders(now=now):
            due: datetime = row.effective_due_at  # type: ignore[attr-defined]
            owner_id = row.effective_owner_id if row.owner_is_active else None  # type: ignore[attr-defined]
            if owner_id is None and due > now:
                continue  # nobody to tell before it is overdue; then the managers are
            claimed = (
                ReviewSchedule.objects.filter(pk=row.pk).exclude(reminded_for=due).update(reminded_for=due)
            )
            if claimed:
                messages.append(_reminder(row, due=due, now=now, owner_id=owner_id))
        link = reverse("protocols:reviews")
        digests = {
            "review_due": Digest("protocol reviews are due", link),
            "review_overdue": Digest("protocol reviews are overdue and nobody owns them", link),
        }
        grouped = messages_coalesce(messages, after=settings.FIREBREAK_NOTIFY_DIGEST_AFTER, digests=digests)
        notifications_enqueue(items=drafts_for(grouped))
    return len(messages)
