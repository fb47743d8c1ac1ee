"""Customer-satisfaction surveys: one row per survey sent after an incident was resolved, answered at most
once (a 1-5 rating and an optional comment) through a signed link, until it expires.

The reporting app reads this table directly: `incident_id`, `created_at`, `answered_at`, `rating`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from incidents.models.core import Incident
from incidents.models.replies import Reply

RATING_MIN, RATING_MAX = 1, 5
COMMENT_MAX = 2000


class SurveyLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    SWEDISH = "sv", "Swedish"
    CROATIAN = "hr", "Croatian"


class SurveyState(models.TextChoices):
    """Derived from the row and the time, never stored."""

    WAITING = "waiting", "Waiting for the customer"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired unanswered"


class SatisfactionSurvey(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="surveys", db_index=False)
    # The drafted reply that carries the link to the customer (it is published like any other reply).
    reply = models.OneToOneField(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # The language the invitation and the survey page are written in (from the customer's mentions).
    language = models.CharField(max_length=8, choices=SurveyLanguage.choices, default=SurveyLanguage.ENGLISH)
    answered_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.CharField(max_length=COMMENT_MAX, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="survey_incident_created"),
            # Reports count answers by when they came in.
            models.Index(
                fields=["answered_at"], condition=Q(answered_at__isnull=False), name="survey_answered"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX),
                name="survey_rating_1_to_5",
            ),
            # An answer is a rating with its moment; neither exists without the other.
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, rating__isnull=True)
                | Q(answered_at__isnull=False, rating__isnull=False),
                name="survey_rating_when_answered",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="survey_expires_later"),
        ]

    def __str__(self) -> str:
        return f"Survey #{self.pk} of incident #{self.incident_id}"

    def state_at(self, now: datetime) -> SurveyState:
        if self.answered_at is not None:
            return SurveyState.ANSWERED
        if self.expires_at <= now:
            return SurveyState.EXPIRED
        return SurveyState.WAITING
