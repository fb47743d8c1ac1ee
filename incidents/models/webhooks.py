"""Outbound webhooks for integrators: subscriptions to event types, and the delivery outbox (one row per
event per subscription, sent later with retries; its UUID lets receivers de-duplicate)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from incidents.models.core import Incident


class WebhookEvent(models.TextChoices):
    INCIDENT_CREATED = "incident.created", "Incident opened"
    INCIDENT_UPDATED = "incident.updated", "Incident changed (status, priority, category, assignee)"
    SLA_WARNING = "sla.warning", "Response target about to be missed"
    SLA_BREACHED = "sla.breached", "Response target missed"
    REPLY_SUBMITTED = "reply.submitted", "Reply submitted for approval"
    REPLY_APPROVED = "reply.approved", "Reply approved (ready to publish)"
    REPLY_PUBLISHED = "reply.published", "Reply published"
    CRISIS_STARTED = "crisis.started", "Crisis mode switched on"
    CRISIS_ENDED = "crisis.ended", "Crisis mode switched off"
    SURGE_DETECTED = "surge.detected", "Surge of negative mentions"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERING = "delivering", "Delivering"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # The HMAC key. Shown once, in the answer that created the subscription; never logged or listed.
    secret = models.CharField(max_length=100)
    event_types = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # Set when a delivery ran out of attempts; cleared by the next delivery that gets through.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-is_active", "name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    # Sent as X-Firebreak-Delivery and as the payload's "id": the same on every retry and replay.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    # The whole envelope, frozen when the event happened: {"id", "type", "created_at", "data"}.
    payload = models.JSONField()
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts made before the latest replay: a replayed delivery gets a full set of retries again.
    attempts_before_replay = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While delivering: the moment the worker's claim runs out (then another worker may take it over).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The claim's order over due rows, so its LIMIT stops early however many wait.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state=DeliveryState.PENDING),
                name="webhookdelivery_due",
            ),
            # Claims whose worker died: taken over once the lease runs out.
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state=DeliveryState.DELIVERING),
                name="webhookdelivery_leased",
            ),
            # The delivery log of one subscription, newest first.
            models.Index(fields=["subscription", "-created_at"], name="webhookdelivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.id}"
