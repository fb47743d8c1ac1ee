"""Writes to post-incident reviews: opening one for a qualifying incident (by the beat task or on demand,
once per incident), saving its text (compare-and-set on the version), completing it, action items and
their reminders, and lessons that make a plan object's review due now. Each change is a PirEvent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import dateformat, timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import Incident
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Digest, Message, drafts_for, messages_coalesce
from protocols.models import (
    PirActionItem,
    PirEvent,
    PirEventKind,
    PirLesson,
    PirState,
    PostIncidentReview,
    ReviewKind,
    ReviewSchedule,
    Role,
)
from protocols.pir_selectors import incident_qualifies, incidents_needing_review, pir_action_items_due
from protocols.review_selectors import review_schedule_base
from protocols.services.cadence import review_make_due
from protocols.services.common import require

TEXT_MAX = 10_000
TITLE_MAX = PirActionItem._meta.get_field("title").max_length or 200
LESSON_MAX = 2000
OPEN_BATCH = 200


def _event(review_id: int, kind: str, actor: Any | None, now: datetime, **details: Any) -> None:
    PirEvent.objects.create(review_id=review_id, kind=kind, actor=actor, at=now, details=details)


def _refuse(field: str, problem: str) -> None:
    raise ValidationFailed(f"{field}: {problem}", fields={field: [problem]})


def _page_link(incident_id: int) -> str:
    return reverse("protocols:pir_page", args=[incident_id])


def _get(review_id: int) -> PostIncidentReview:
    review = PostIncidentReview.objects.select_related("incident").filter(pk=review_id).first()
    if review is None:
        raise NotFound("Post-incident review not found.")
    return review


def _open(*, incident: Incident, actor: Any | None, now: datetime) -> tuple[PostIncidentReview, bool]:
    existing = PostIncidentReview.objects.filter(incident_id=incident.pk).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            review = PostIncidentReview.objects.create(
                incident=incident, opened_at=now, opened_by=actor, updated_at=now, updated_by=actor
            )
    except IntegrityError:  # opened by someone else a moment ago: theirs is the one
        return PostIncidentReview.objects.get(incident_id=incident.pk), False
    _event(review.pk, PirEventKind.OPENED, actor, now)
    return review, True


def _opened_message(review: PostIncidentReview, incident: Incident) -> Message:
    return Message(
        key=f"pir:{review.pk}:opened",
        kind="pir_opened",
        subject=f"Post-incident review open: #{incident.pk} {incident.title}",
        body="What went well, what did not, what to do about it: the timeline, checklist answers and "
        "response times are filled in.",
        link=_page_link(incident.pk),
        incident_id=incident.pk,
        user_ids=[incident.assignee_id] if incident.assignee_id else [],
        roles=[Role.MANAGER],
    )


@transaction.atomic
def pir_open(*, actor: Any, incident_id: int) -> PostIncidentReview:
    """Opens the incident's review now (from its page, or the API); the one already open is returned
    as it is. Only a qualifying incident gets one (409 otherwise)."""
    require(actor=actor, action="pir.edit", refusal="Your role does not allow opening post-incident reviews.")
    incident = Incident.objects.select_related("category").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("Incident not found.")
    if not incident_qualifies(incident):
        raise Conflict(
            "Only a resolved high-priority or crisis incident gets a post-incident review.",
            code="not_qualifying",
        )
    review, created = _open(incident=incident, actor=actor, now=timezone.now())
    if created:
        notifications_enqueue(items=drafts_for([_opened_message(review, incident)]))
    return review


def pirs_open_due(*, now: datetime, limit: int = OPEN_BATCH) -> int:
    """One step of the beat task: a review for every qualifying incident resolved lately that has none
    (unique per incident, so a re-run or a concurrent run opens nothing twice); the incident's assignee
    and the managers are told. Returns how many it opened."""
    ids = incidents_needing_review(now=now, limit=limit)
    messages: list[Message] = []
    with transaction.atomic():
        for incident in Incident.objects.select_related("category").filter(pk__in=ids).order_by("id"):
            review, created = _open(incident=incident, actor=None, now=now)
            if created:
                messages.append(_opened_message(review, incident))
        digests = {"pir_opened": Digest("post-incident reviews are open", reverse("protocols:reviews"))}
        grouped = messages_coalesce(messages, after=settings.FIREBREAK_NOTIFY_DIGEST_AFTER, digests=digests)
        notifications_enqueue(items=drafts_for(grouped))
    return len(messages)


def _clean_text(field: str, value: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        _refuse(field, f"At most {TEXT_MAX} characters.")
    return value


def _require_draft(review: PostIncidentReview) -> None:
    if review.state != PirState.DRAFT:
        raise Conflict("This review is completed; it can no longer be changed.")


@transaction.atomic
def pir_save(
    *,
    actor: Any,
    review_id: int,
    expected_version: int,
    what_went_well: str | None = None,
    what_did_not: str | None = None,
) -> PostIncidentReview:
    """Saves what is given (None = keep). A compare-and-set on the version the caller read: a save by
    someone else since then answers 409 and changes nothing."""
    require(actor=actor, action="pir.edit", refusal="Your role does not allow editing post-incident reviews.")
    review = _get(review_id)
    _require_draft(review)
    given = {"what_went_well": what_went_well, "what_did_not": what_did_not}
    cleaned = {field: _clean_text(field, value) for field, value in given.items() if value is not None}
    changes = {field: value for field, value in cleaned.items() if value != getattr(review, field)}
    if not changes:
        if review.version != expected_version:
            raise _stale(review)
        return review
    now = timezone.now()
    saved = PostIncidentReview.objects.filter(
        pk=review.pk, state=PirState.DRAFT, version=expected_version
    ).update(**changes, version=F("version") + 1, updated_at=now, updated_by=actor)
    if not saved:
        raise _stale(_get(review_id))
    _event(review.pk, PirEventKind.SAVED, actor, now, fields=sorted(changes), version=expected_version + 1)
    return _get(review.pk)


def _stale(review: PostIncidentReview) -> Conflict:
    if review.state != PirState.DRAFT:
        return Conflict("This review was completed meanwhile; nothing was saved.")
    return Conflict(
        f"Someone saved this review since you opened it (it is now version {review.version}); nothing was "
        "saved. Reload it and make your change again."
    )


@transaction.atomic
def pir_complete(*, actor: Any, review_id: int, expected_version: int) -> PostIncidentReview:
    """Records who completed the review and when; its text can no longer change (action items stay
    tracked until done). Needs both what went well and what did not."""
    require(actor=actor, action="pir.complete", refusal="Only managers and admins complete reviews.")
    review = _get(review_id)
    _require_draft(review)
    problems = {
        field: ["Say what " + ("went well." if field == "what_went_well" else "did not go well.")]
        for field in ("what_went_well", "what_did_not")
        if not getattr(review, field).strip()
    }
    if problems:
        field, (first,) = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {first}", fields=problems)
    now = timezone.now()
    done = PostIncidentReview.objects.filter(
        pk=review.pk, state=PirState.DRAFT, version=expected_version
    ).update(
        state=PirState.COMPLETED,
        completed_at=now,
        completed_by=actor,
        version=F("version") + 1,
        updated_at=now,
        updated_by=actor,
    )
    if not done:
        raise _stale(_get(review_id))
    _event(review.pk, PirEventKind.COMPLETED, actor, now)
    return _get(review.pk)


@transaction.atomic
def pir_save_and_complete(
    *, actor: Any, review_id: int, expected_version: int, what_went_well: str, what_did_not: str
) -> PostIncidentReview:
    """The page's "Save and complete": both, or (refused, stale or incomplete) neither."""
    saved = pir_save(
        actor=actor,
        review_id=review_id,
        expected_version=expected_version,
        what_went_well=what_went_well,
        what_did_not=what_did_not,
    )
    return pir_complete(actor=actor, review_id=saved.pk, expected_version=saved.version)


def _team_member(user_id: int) -> Any:
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not policies.can(user=user, action="pir.view"):
        _refuse("owner", "Pick an active member of the team.")
    return user


@transaction.atomic
def pir_action_item_add(
    *, actor: Any, review_id: int, title: str, owner_id: int, due_on: date
) -> PirActionItem:
    """Adds something to do, with who does it and by when; its owner is told (and reminded when due)."""
    require(actor=actor, action="pir.edit", refusal="Your role does not allow editing post-incident reviews.")
    review = _get(review_id)
    _require_draft(review)
    title = (title or "").strip()
    if not title:
        _refuse("title", "Say what is to be done.")
    if len(title) > TITLE_MAX:
        _refuse("title", f"At most {TITLE_MAX} characters.")
    owner = _team_member(owner_id)
    now = timezone.now()
    if due_on < timezone.localdate(now):
        _refuse("due_on", "The due date is in the past.")
    item = PirActionItem.objects.create(
        review=review, title=title, owner=owner, due_on=due_on, created_at=now, created_by=actor
    )
    _event(review.pk, PirEventKind.ACTION_ADDED, actor, now, item_id=item.pk, title=title, owner_id=owner.pk)
    incident = review.incident
    notifications_enqueue(
        items=drafts_for(
            [
                Message(
                    key=f"pir-action:{item.pk}:assigned",
                    kind="pir_action_assigned",
                    subject=f"Action item for you: {title}",
                    body=f"From the post-incident review of #{incident.pk} {incident.title}; due "
                    f"{dateformat.format(due_on, 'j M Y')}.",
                    link=_page_link(incident.pk),
                    incident_id=incident.pk,
                    user_ids=[owner.pk],
                    exclude_user_ids=[actor.pk],
                )
            ]
        )
    )
    return item


@transaction.atomic
def pir_action_item_done(*, actor: Any, item_id: int) -> PirActionItem:
    """Ticks an item done (who, when): its owner may, and anyone who edits reviews. Twice answers 409."""
    require(actor=actor, action="pir.view", refusal="Your role does not allow this.")
    item = PirActionItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NotFound("Action item not found.")
    if item.owner_id != actor.pk and not policies.can(user=actor, action="pir.edit"):
        raise PermissionRefused("Only its owner, or someone who edits reviews, ticks this item.")
    now = timezone.now()
    if not PirActionItem.objects.filter(pk=item.pk, done_at__isnull=True).update(done_at=now, done_by=actor):
        raise Conflict("This action item is already done.")
    _event(item.review_id, PirEventKind.ACTION_DONE, actor, now, item_id=item.pk, title=item.title)
    return PirActionItem.objects.select_related("owner", "done_by", "review__incident").get(pk=item.pk)


def pir_action_reminders_send(*, now: datetime) -> int:
    """Daily: each open action item due today or overdue reminds its owner once per due date (a
    compare-and-set on `reminded_for`, in the transaction that stores the notification)."""
    messages: list[Message] = []
    with transaction.atomic():
        for item in pir_action_items_due(today=timezone.localdate(now)):
            claimed = (
                PirActionItem.objects.filter(pk=item.pk, done_at__isnull=True)
                .exclude(reminded_for=item.due_on)
                .update(reminded_for=item.due_on)
            )
            if not claimed:
                continue
            incident = item.review.incident
            late = item.due_on < timezone.localdate(now)
            messages.append(
                Message(
                    key=f"pir-action:{item.pk}:due:{item.due_on.isoformat()}",
                    kind="pir_action_due",
                    subject=f"Action item {'overdue' if late else 'due today'}: {item.title}",
                    body=f"From the post-incident review of #{incident.pk} {incident.title}; due "
                    f"{dateformat.format(item.due_on, 'j M Y')}. Tick it done on the review page.",
                    link=_page_link(incident.pk),
                    incident_id=incident.pk,
                    user_ids=[item.owner_id],
                )
            )
        digests = {"pir_action_due": Digest("action items are due", reverse("protocols:reviews"))}
        grouped = messages_coalesce(messages, after=settings.FIREBREAK_NOTIFY_DIGEST_AFTER, digests=digests)
        notifications_enqueue(items=drafts_for(grouped))
    return len(messages)


@transaction.atomic
def pir_lesson_link(*, actor: Any, review_id: int, schedule_id: int, text: str) -> PirLesson:
    """Records what the incident taught about one plan object and makes that object's review due now;
    its owner (or, when nobody owns it, the managers) is told at once. One lesson per object and review."""
    require(actor=actor, action="pir.edit", refusal="Your role does not allow editing post-incident reviews.")
    review = _get(review_id)
    _require_draft(review)
    text = (text or "").strip()
    if not text:
        _refuse("text", "Say what should change.")
    if len(text) > LESSON_MAX:
        _refuse("text", f"At most {LESSON_MAX} characters.")
    subject = review_schedule_base().filter(pk=schedule_id).first()
    if subject is None:
        raise NotFound("That part of the response plan is not in use.")
    now = timezone.now()
    try:
        with transaction.atomic():
            lesson = PirLesson.objects.create(
                review=review, schedule_id=subject.pk, text=text, created_at=now, created_by=actor
            )
    except IntegrityError:
        raise Conflict(f"This review already has a lesson for “{subject.subject_name}”.") from None  # type: ignore[attr-defined]
    incident = review.incident
    review_make_due(
        actor=actor,
        schedule_id=subject.pk,
        now=now,
        note=f"Lesson from the post-incident review of #{incident.pk}: {text}",
        details={"lesson_id": lesson.pk, "review_id": review.pk, "incident_id": incident.pk},
    )
    due = review_schedule_base().get(pk=subject.pk)
    # The owner hears of it now; the daily reminder then has nothing new to say about this due date.
    ReviewSchedule.objects.filter(pk=subject.pk).update(reminded_for=due.effective_due_at)  # type: ignore[attr-defined]
    owner_id = due.effective_owner_id if due.owner_is_active else None  # type: ignore[attr-defined]
    what = f"{ReviewKind(subject.kind).label} “{subject.subject_name}”"  # type: ignore[attr-defined]
    notifications_enqueue(
        items=drafts_for(
            [
                Message(
                    key=f"pir-lesson:{lesson.pk}",
                    kind="review_due",
                    subject=f"Review now: {what}",
                    body=f"A lesson from the post-incident review of #{incident.pk} {incident.title}: {text}",
                    link=f"{reverse('protocols:reviews')}#review-{subject.pk}",
                    incident_id=incident.pk,
                    user_ids=[owner_id] if owner_id else [],
                    roles=[] if owner_id else [Role.MANAGER],
                )
            ]
        )
    )
    _event(review.pk, PirEventKind.LESSON_LINKED, actor, now, lesson_id=lesson.pk, schedule_id=subject.pk)
    return lesson
