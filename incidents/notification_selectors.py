"""Reads of the notification outbox: a user's own in-app inbox and unread count, and the chat webhooks
that stopped answering (for admins)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import Notification, NotificationChannel
from protocols.models import WebhookEndpoint


def _inbox(*, user: Any) -> QuerySet[Notification]:
    if not policies.can(user=user, action="notification.view"):
        raise PermissionRefused("Your role does not allow reading notifications.")
    return Notification.objects.filter(recipient_id=user.pk, channel=NotificationChannel.IN_APP)


def notification_unread_count(*, user: Any) -> int:
    return _inbox(user=user).filter(read_at__isnull=True).count()


def notification_list(*, user: Any, limit: int = 50) -> list[Notification]:
    """The user's newest in-app notifications, each with `incident_title` (one query, no per-row reads)."""
    return list(
        _inbox(user=user).annotate(incident_title=F("incident__title")).order_by("-created_at", "-id")[:limit]
    )


def webhook_endpoint_list_failing() -> QuerySet[WebhookEndpoint]:
    """Chat webhooks whose last message ran out of retries, longest failing first."""
    return (
        WebhookEndpoint.objects.filter(failing_since__isnull=False)
        .select_related("user")
        .order_by("failing_since", "id")
    )


def notification_get(*, user: Any, notification_id: int) -> Notification:
    """One of the user's own in-app notifications; another user's reads as missing."""
    notification = (
        _inbox(user=user).annotate(incident_title=F("incident__title")).filter(pk=notification_id).first()
    )
    if notification is None:
        raise NotFound("Notification not found.")
    return notification
