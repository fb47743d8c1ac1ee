"""The notification outbox: every message to a person or a channel is a row first, delivered later by
a Celery task with retries and backoff; nothing is sent from inside a request or a sweep."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models.core import Incident


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Chat webhook"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    # No index on these two: the outbox is write-heavy (a breach can fan out to several rows), nothing
    # lists notifications by endpoint or incident, and neither endpoints nor incidents are deleted in bulk.
    endpoint = models.ForeignKey(
        "protocols.WebhookEndpoint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # What makes this message unique (e.g. "firing:<id>:user:<id>:email"): a retried sweep inserts nothing.
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A constraint rather than unique=True: the same guarantee without the second (LIKE) index.
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique"),
        ]
        indexes = [
            # The delivery claim's exact order, so its LIMIT stops early however many rows wait.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status=NotificationStatus.PENDING),
                name="notification_due",
            ),
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel=NotificationChannel.IN_APP),
                name="notification_inbox",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(channel=NotificationChannel.IN_APP, read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.subject}"
