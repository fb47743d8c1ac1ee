"""Replies to an incident and their sign-off: the reply (current text, state, frozen approval chain,
publishing outcome), every version of its text, and every decision a reviewer took on a version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models.core import Incident, Mention


class ReplyState(models.TextChoices):
    DRAFT = "draft", "Draft"
    LEGAL_REVIEW = "legal_review", "In legal review"
    MANAGEMENT_APPROVAL = "management_approval", "Awaiting management approval"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


REVIEW_STATES = (ReplyState.LEGAL_REVIEW, ReplyState.MANAGEMENT_APPROVAL)
EDITABLE_STATES = (
    ReplyState.DRAFT,
    ReplyState.LEGAL_REVIEW,
    ReplyState.MANAGEMENT_APPROVAL,
    ReplyState.CHANGES_REQUESTED,
    ReplyState.APPROVED,
)


class PublishStatus(models.TextChoices):
    NONE = "", "Not requested"
    PENDING = "pending", "Sending"
    FAILED = "failed", "Failed"
    DONE = "done", "Accepted by the platform"


class Reply(models.Model):
    """A reply being written, reviewed or published. `chain` is the approval chain frozen at submission
    (editing the chain later never changes a reply already in review); `step` indexes into it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="replies")
    mention = models.ForeignKey(
        Mention,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        help_text="The mention this answers, if one.",
    )
    account = models.ForeignKey(
        "protocols.SocialAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="replies")
    template_version_id = models.PositiveIntegerField(null=True, blank=True)
    template_name = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=24, choices=ReplyState.choices, default=ReplyState.DRAFT)
    chain_name = models.CharField(max_length=100, blank=True)
    chain = models.JSONField(default=list, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    # the role whose decision the reply waits for ("" outside review): the approval inbox filters on it
    waiting_on_role = models.CharField(max_length=32, blank=True)
    edited_at = models.DateTimeField(help_text="When the text was last changed.")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    changes_note = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_url = models.URLField(max_length=2000, blank=True)
    published_external_id = models.CharField(max_length=200, blank=True)
    publish_status = models.CharField(
        max_length=10, choices=PublishStatus.choices, default=PublishStatus.NONE, blank=True
    )
    publish_attempts = models.PositiveSmallIntegerField(default=0)
    publish_next_attempt_at = models.DateTimeField(null=True, blank=True)
    publish_error = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="reply_incident"),
            models.Index(fields=["state", "updated_at", "id"], name="reply_state_updated"),
            # the approval inbox: replies waiting on a stage, oldest submission first
            models.Index(
                fields=["waiting_on_role", "submitted_at", "id"],
                name="reply_in_review",
                condition=Q(state__in=["legal_review", "management_approval"]),
            ),
            # the publishing retry task's claim
            models.Index(
                fields=["publish_next_attempt_at"],
                name="reply_publish_due",
                condition=Q(publish_status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="reply_version_positive"),
        ]

    def __str__(self) -> str:
        return f"Reply #{self.pk} on incident #{self.incident_id} (v{self.version}, {self.state})"

    @property
    def current_step(self) -> dict | None:
        if self.state in REVIEW_STATES and self.step < len(self.chain):
            return self.chain[self.step]
        return None


class ReplyVersion(models.Model):
    """The text of each version; a reply's version changes when it is edited after submission."""

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["reply_id", "number"]
        constraints = [models.UniqueConstraint(fields=["reply", "number"], name="reply_version_unique")]

    def __str__(self) -> str:
        return f"Reply #{self.reply_id} v{self.number}"


class DecisionKind(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class ReplyDecision(models.Model):
    """A reviewer's decision on one stage of one version. The unique key means one decision per stage
    and version, whatever the race."""

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="decisions")
    version = models.PositiveIntegerField()
    stage = models.CharField(max_length=24)
    decision = models.CharField(max_length=20, choices=DecisionKind.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["reply_id", "decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reply", "version", "stage"], name="reply_decision_once_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.stage}) on reply #{self.reply_id} v{self.version}"
