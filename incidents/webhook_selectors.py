"""Reads for outbound webhooks: the subscriptions (never their secrets) and each one's delivery log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import WebhookDelivery, WebhookSubscription


def _require(user: Any) -> None:
    if not policies.can(user=user, action="webhook.manage"):
        raise PermissionRefused("Only an admin manages outbound webhooks.")


def webhook_subscription_list(*, user: Any) -> QuerySet[WebhookSubscription]:
    _require(user)
    # Every read leaves the secret out: it is shown once, in the answer that created the subscription.
    return WebhookSubscription.objects.select_related("created_by").defer("secret")


def webhook_subscription_get(*, user: Any, subscription_id: int) -> WebhookSubscription:
    subscription = webhook_subscription_list(user=user).filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("Webhook subscription not found.")
    return subscription


def webhook_delivery_list(*, user: Any, subscription_id: int) -> QuerySet[WebhookDelivery]:
    """The subscription's deliveries, newest first."""
    webhook_subscription_get(user=user, subscription_id=subscription_id)
    return WebhookDelivery.objects.filter(subscription_id=subscription_id).order_by("-created_at", "-id")
