"""Sending outbound webhook deliveries: claim due rows with a compare-and-set lease, POST each signed
outside any transaction, record the outcome while the lease is ours, retry with backoff and jitter."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import DeliveryState, WebhookDelivery, WebhookSubscription
from incidents.publishing import transport
from incidents.publishing.posts import PublishError
from incidents.services.webhooks import webhook_signature

logger = logging.getLogger(__name__)

ERROR_MAX = WebhookDelivery._meta.get_field("last_error").max_length or 500
# A claim stays ours for this long plus the time its batch may take to send; a worker killed mid-batch
# only delays its rows: once the lease runs out another worker takes them over (at least once).
CLAIM_LEASE_FOR = timedelta(seconds=60)

# Due rows, and rows whose worker's lease ran out (it died mid-send): claimed with a compare-and-set
# (SKIP LOCKED, then the state moves to delivering with our lease and one more attempt).
_CLAIM_SQL = """
WITH due AS (
    SELECT id FROM incidents_webhookdelivery WHERE state = 'pending' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), abandoned AS (
    SELECT id FROM incidents_webhookdelivery WHERE state = 'delivering' AND lease_expires_at <= %(now)s
    ORDER BY lease_expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE incidents_webhookdelivery AS d
SET state = 'delivering', attempts = d.attempts + 1, lease_expires_at = %(lease)s, last_attempt_at = %(now)s
WHERE d.id IN (SELECT id FROM due UNION ALL SELECT id FROM abandoned)
RETURNING d.id
"""


def _lease_for(count: int) -> timedelta:
    return CLAIM_LEASE_FOR + count * timedelta(seconds=settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS + 1)


def webhook_deliveries_claim(*, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Claims up to `limit` due deliveries (and as many whose lease expired) for this worker."""
    lease = now + _lease_for(limit)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, {"now": now, "lease": lease, "limit": limit})
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        return list(
            WebhookDelivery.objects.select_related("subscription").filter(pk__in=ids).order_by("created_at")
        )


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): the frozen envelope as compact JSON."""
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None


def _retry_after_header(answer: transport.Answer) -> float | None:
    raw = (answer.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def _post(delivery: WebhookDelivery) -> Outcome:
    subscription = delivery.subscription
    body = delivery_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Firebreak-Webhooks",
        "X-Firebreak-Event": delivery.event,
        "X-Firebreak-Delivery": str(delivery.pk),
        "X-Firebreak-Timestamp": str(timestamp),
        "X-Firebreak-Signature": webhook_signature(
            secret=subscription.secret, timestamp=timestamp, body=body
        ),
    }
    try:
        answer = transport.post(url=subscription.url, body=body, headers=headers)
    except PublishError as exc:
        return Outcome(delivered=False, error=exc.message, retryable=exc.retryable)
    host = transport.where(subscription.url)
    status = answer.status
    if 200 <= status < 300:
        return Outcome(delivered=True, status_code=status)
    said = answer.error_text("error", "message", "detail")
    if transport.is_redirect(status):
        error = f"HTTP {status} from {host}: redirects are not followed"
    else:
        error = f"HTTP {status} from {host}" + (f": {said}" if said else "")
    retry_after = _retry_after_header(answer) if status in (429, 503) else None
    return Outcome(
        delivered=False,
        status_code=status,
        error=error,
        retryable=transport.is_retryable_status(status),
        retry_after=retry_after,
    )


def retry_delay(*, attempt: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff: base * 2**(attempt - 1) seconds, at most the cap, less up to 20% of jitter
    (so receivers that failed together are not all retried in the same second). A receiver's
    Retry-After (429/503) is honoured instead, up to the cap."""
    cap = settings.FIREBREAK_OUTBOUND_RETRY_CAP_SECONDS
    if retry_after is not None:
        return timedelta(seconds=min(retry_after, cap))
    base = settings.FIREBREAK_OUTBOUND_RETRY_BASE_SECONDS
    delay = min(base * 2 ** min(max(attempt - 1, 0), 30), cap)
    return timedelta(seconds=delay * (1 - 0.2 * random.random()))


def _settle(delivery: WebhookDelivery, changes: dict[str, Any]) -> bool:
    """Records the outcome only if the claim is still ours: delivering, with the attempt count and the
    lease we claimed it with. A worker whose lease ran out and was taken over changes nothing."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery.pk,
            state=DeliveryState.DELIVERING,
            attempts=delivery.attempts,
            lease_expires_at=delivery.lease_expires_at,
        ).update(lease_expires_at=None, **changes)
    )


def webhook_delivery_send(delivery: WebhookDelivery) -> str:
    """Sends one claimed delivery (outside any transaction) and records what happened: delivered,
    retry, failed, or nothing when the claim was lost meanwhile."""
    subscription = delivery.subscription
    if not subscription.is_active:
        outcome = Outcome(delivered=False, error="The subscription is switched off.")
    else:
        try:
            outcome = _post(delivery)
        except Exception as exc:
            # A bug must cost one attempt of one delivery, not the rest of the batch.
            logger.exception("Sending webhook delivery %s failed unexpectedly", delivery.pk)
            outcome = Outcome(
                delivered=False, error=f"unexpected error: {type(exc).__name__}", retryable=True
            )
    now = timezone.now()
    if outcome.delivered:
        if not _settle(
            delivery,
            {
                "state": DeliveryState.DELIVERED,
                "delivered_at": now,
                "last_status_code": outcome.status_code,
                "last_error": "",
                "next_attempt_at": None,
            },
        ):
            return "nothing"
        WebhookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=False).update(
            failing_since=None, last_error=""
        )
        return "delivered"
    error = outcome.error[:ERROR_MAX]
    attempts_this_round = delivery.attempts - delivery.attempts_before_replay
    gives_up = not outcome.retryable or attempts_this_round >= settings.FIREBREAK_OUTBOUND_MAX_ATTEMPTS
    changes: dict[str, Any] = {"last_status_code": outcome.status_code, "last_error": error}
    if gives_up:
        changes.update(state=DeliveryState.FAILED, next_attempt_at=None)
    else:
        delay = retry_delay(attempt=attempts_this_round, retry_after=outcome.retry_after)
        changes.update(state=DeliveryState.PENDING, next_attempt_at=now + delay)
    if not _settle(delivery, changes):
        return "nothing"
    logger.info(
        "Webhook delivery %s (%s) not delivered, attempt %s%s: %s",
        delivery.pk,
        delivery.event,
        delivery.attempts,
        ", giving up" if gives_up else "",
        error,
    )
    if gives_up and subscription.is_active:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            failing_since=Coalesce(F("failing_since"), Value(now)), last_error=error
        )
    return "failed" if gives_up else "retry"


def webhook_deliveries_send_batch(*, now: datetime, limit: int = 20) -> int:
    """One delivery step: claims due deliveries, sends each, records each outcome with a compare-and-set.
    Returns how many it claimed (0: nothing due)."""
    claimed = webhook_deliveries_claim(now=now, limit=limit)
    for delivery in claimed:
        webhook_delivery_send(delivery)
    return len(claimed)
