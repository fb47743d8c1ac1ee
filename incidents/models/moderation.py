"""What was done to a mention under the community guidelines: hidden, removed, reported or its author
blocked, by whom, under which rule, and whether the platform did it (through the webhook bridge) or not."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models.core import Mention
from incidents.models.evidence import EvidenceCapture
from protocols.models import ModerationActionKind, ModerationRule

# These happen to a mention (or its author) once; reports may be repeated.
ONCE_ONLY_ACTIONS = (
    ModerationActionKind.HIDE,
    ModerationActionKind.REMOVE,
    ModerationActionKind.BLOCK_AUTHOR,
)


class ModerationOutcome(models.TextChoices):
    PENDING = "pending", "Being sent to the platform"
    PERFORMED = "performed", "Performed on the platform"
    RECORDED_ONLY = "recorded_only", "Recorded only: do it on the platform by hand"
    FAILED = "failed", "Failed on the platform"


class ModerationAction(models.Model):
    mention = models.ForeignKey(Mention, on_delete=models.PROTECT, related_name="moderation_actions")
    action = models.CharField(max_length=20, choices=ModerationActionKind.choices)
    rule = models.ForeignKey(ModerationRule, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=ModerationOutcome.choices)
    outcome_detail = models.TextField(blank=True)
    # A bridged action is sent after the request commits, by a task that retries with backoff.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Hide and remove capture the mention as evidence first.
    evidence = models.ForeignKey(
        EvidenceCapture, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(outcome="pending"),
                name="moderation_pending_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["mention", "action"],
                condition=Q(action__in=[a.value for a in ONCE_ONLY_ACTIONS]),
                name="moderation_once_per_mention",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} of mention {self.mention_id}"
