"""Post-incident reviews: one per resolved high-priority or crisis incident (what went well, what did
not), its action items (owner, due date, done), the lessons that send plan objects back for review, and
the append-only record of what happened to each review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from protocols.models.append_only import AppendOnlyModel
from protocols.models.cadence import ReviewSchedule

APPEND_ONLY = "Post-incident review events are append-only; they cannot be changed or deleted."


class PirState(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"


class PostIncidentReview(models.Model):
    """Opened by the system (or on demand) once a qualifying incident is resolved. `version` counts the
    saves of the text: a save names the version it read, and a save since then answers 409."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.PROTECT, related_name="post_incident_review"
    )
    state = models.CharField(max_length=10, choices=PirState.choices, default=PirState.DRAFT)
    what_went_well = models.TextField(blank=True)
    what_did_not = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: opened by the system when the incident was resolved.",
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = "post-incident review"
        constraints = [
            models.CheckConstraint(
                condition=(Q(state=PirState.DRAFT) & Q(completed_at__isnull=True))
                | (
                    Q(state=PirState.COMPLETED)
                    & Q(completed_at__isnull=False)
                    & Q(completed_by__isnull=False)
                ),
                name="pir_completed_has_who_and_when",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="pir_version_positive"),
        ]
        indexes = [models.Index(fields=["state", "opened_at"], name="pir_state_opened")]

    def __str__(self) -> str:
        return f"Post-incident review of incident #{self.incident_id}"


class PirActionItem(models.Model):
    """Something the review decided to do, by whom and by when; tracked until done."""

    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pir_action_items"
    )
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The due date the last reminder was about: an owner is reminded once per due date.
    reminded_for = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["review_id", "due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_at__isnull=True) | Q(done_by__isnull=False), name="pir_action_done_has_who"
            )
        ]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(done_at__isnull=True), name="pir_action_open_due"),
            models.Index(fields=["owner"], condition=Q(done_at__isnull=True), name="pir_action_open_owner"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class PirLesson(models.Model):
    """What the incident taught about one plan object (a category, a template…): linking it makes that
    object's review due now, so its owner revisits it."""

    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="lessons")
    schedule = models.ForeignKey(ReviewSchedule, on_delete=models.PROTECT, related_name="lessons")
    text = models.TextField(help_text="What should change in it.")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["review_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "schedule"], name="pir_lesson_once_per_object")
        ]

    def __str__(self) -> str:
        return self.text[:80]


class PirEventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    SAVED = "saved", "Saved"
    COMPLETED = "completed", "Completed"
    ACTION_ADDED = "action_added", "Action item added"
    ACTION_DONE = "action_done", "Action item done"
    LESSON_LINKED = "lesson_linked", "Lesson linked to the plan"


class PirEvent(AppendOnlyModel):
    """One change to a post-incident review, who made it and when. A database trigger refuses UPDATE
    and DELETE."""

    append_only_message = APPEND_ONLY

    review = models.ForeignKey(PostIncidentReview, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=PirEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["review", "at"], name="pir_event_review_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
