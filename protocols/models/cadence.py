"""The review cadence of the written plan: one schedule per plan object (its owner, how often it is read
again, when it is next due, who last reviewed it) and the append-only record of every review."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from protocols.models.append_only import AppendOnlyModel

DEFAULT_REVIEW_INTERVAL_DAYS = 90
MAX_REVIEW_INTERVAL_DAYS = 3650
APPEND_ONLY = "Review events are append-only; they cannot be changed or deleted."


class ReviewKind(models.TextChoices):
    """The plan objects that are read again on a cadence (protocols/review_subjects.py maps each to its
    model). The moderation policy is reviewed as one document, not rule by rule."""

    CATEGORY = "category", "Category"
    SLA_POLICY = "sla_policy", "SLA policy"
    ESCALATION_CHAIN = "escalation_chain", "Escalation chain"
    APPROVAL_CHAIN = "approval_chain", "Approval chain"
    TEMPLATE = "template", "Response template"
    FAQ = "faq", "FAQ or talking point"
    MODERATION_POLICY = "moderation_policy", "Moderation policy"


class ReviewSchedule(models.Model):
    """When one plan object is next due for a review and who reads it. A response template keeps its
    owner and due date on itself (`owner`, `review_due_on`): its schedule leaves both empty and reads
    them from the template, so there is one source of truth. Created by `review_schedules_sync`."""

    kind = models.CharField(max_length=24, choices=ReviewKind.choices)
    object_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The plan object's id; empty for the moderation policy."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_review_schedules",
        help_text="Who is reminded. Empty: nobody owns it, and overdue reviews go to managers.",
    )
    interval_days = models.PositiveIntegerField(
        default=DEFAULT_REVIEW_INTERVAL_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REVIEW_INTERVAL_DAYS)],
        help_text="Days from one review to the next.",
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The due moment the last reminder was about: a reminder goes out once per due date.
    reminded_for = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id"], nulls_distinct=False, name="review_schedule_once"
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1, interval_days__lte=MAX_REVIEW_INTERVAL_DAYS),
                name="review_schedule_interval_range",
            ),
            models.CheckConstraint(
                condition=(Q(kind=ReviewKind.MODERATION_POLICY) & Q(object_id__isnull=True))
                | (~Q(kind=ReviewKind.MODERATION_POLICY) & Q(object_id__isnull=False)),
                name="review_schedule_object_by_kind",
            ),
            models.CheckConstraint(
                condition=(Q(kind=ReviewKind.TEMPLATE) & Q(due_at__isnull=True) & Q(owner__isnull=True))
                | (~Q(kind=ReviewKind.TEMPLATE) & Q(due_at__isnull=False)),
                name="review_schedule_template_reads_template",
            ),
        ]

    def __str__(self) -> str:
        what = self.get_kind_display()
        return what if self.object_id is None else f"{what} #{self.object_id}"


class ReviewEventKind(models.TextChoices):
    REVIEWED = "reviewed", "Reviewed"
    SETTINGS_CHANGED = "settings_changed", "Owner or interval changed"
    MADE_DUE = "made_due", "Made due by a post-incident lesson"


class ReviewEvent(AppendOnlyModel):
    """Something that happened to a schedule: a review (who, when, their note), a change of owner or
    interval, a lesson that made it due. A database trigger refuses UPDATE and DELETE."""

    append_only_message = APPEND_ONLY

    schedule = models.ForeignKey(ReviewSchedule, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=ReviewEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    due_before = models.DateTimeField(null=True, blank=True)
    due_after = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["schedule", "at"], name="review_event_schedule_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
