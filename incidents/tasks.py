"""Celery tasks for incidents: thin wrappers that call a service; safe to run twice."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import timedelta
from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from incidents.services.incidents import incidents_close_resolved
from incidents.services.notifications import notifications_deliver_batch
from incidents.services.sweeper import oldest_overdue, sla_sweep_if_free
from incidents.services.webhook_delivery import webhook_deliveries_send_batch

logger = logging.getLogger(__name__)


@shared_task(name="incidents.tasks.close_resolved_incidents")
def close_resolved_incidents() -> int:
    """Closes incidents that stayed resolved for FIREBREAK_AUTO_CLOSE_AFTER_HOURS (a closed incident
    cannot be reopened: new activity opens a new one). Loops in batches until no work is left."""
    cutoff = timezone.now() - timedelta(hours=settings.FIREBREAK_AUTO_CLOSE_AFTER_HOURS)
    total = 0
    while True:
        closed = incidents_close_resolved(resolved_before=cutoff)
        total += closed
        if closed == 0:
            return total


AUDIT_KEY = "firebreak:sla:audit"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


@shared_task(name="incidents.tasks.sla_tick", ignore_result=True)
def sla_tick() -> int:
    """Beat sends this every second. Ticks never pile up: a tick that finds every sweeper slot busy
    returns at once, and a tick older than its `expires` is dropped by the worker. The database says
    what is due, so a lost tick (Redis restarted, worker killed) only delays firing to the next one."""
    swept = sla_sweep_if_free(slots=settings.FIREBREAK_SLA_SWEEPERS, limit=settings.FIREBREAK_SLA_SWEEP_BATCH)
    return swept or 0


@shared_task(name="incidents.tasks.sla_audit", ignore_result=True)
def sla_audit() -> dict[str, Any]:
    """Reports the oldest due moment not yet fired; logs an error when the engine is behind."""
    report = sla_lag_report()
    with contextlib.suppress(redis.RedisError):
        _redis().set(AUDIT_KEY, json.dumps(report), ex=3600)
    if report["lag_seconds"] > settings.FIREBREAK_SLA_MAX_LAG_SECONDS:
        logger.error(
            "SLA sweeper is behind: oldest due moment %s, %.0f s late",
            report["oldest_due_at"],
            report["lag_seconds"],
        )
    return report


def sla_lag_report() -> dict[str, Any]:
    now = timezone.now()
    oldest = oldest_overdue(now=now)
    return {
        "checked_at": now.isoformat(),
        "oldest_due_at": oldest.isoformat() if oldest else None,
        "lag_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
    }


def sla_last_audit() -> dict[str, Any] | None:
    try:
        raw = _redis().get(AUDIT_KEY)
    except redis.RedisError:
        return None
    return json.loads(raw) if raw else None


NOTIFY_BATCH = 50
NOTIFY_MAX_BATCHES = 20
NOTIFY_RUN_SECONDS = 120


@shared_task(name="incidents.tasks.notifications_deliver_due", ignore_result=True)
def notifications_deliver_due() -> int:
    """Sends the notifications whose time has come (new ones and retries). Queued after each enqueue
    commits and by beat every 15 seconds; several at once are safe: each batch claims its rows with
    SKIP LOCKED and records each outcome with a compare-and-set. Stops after a bounded number of batches
    or seconds so one run stays inside the task time limit; the next run picks up the rest."""
    started = time.monotonic()
    total = 0
    for _ in range(NOTIFY_MAX_BATCHES):
        processed = notifications_deliver_batch(now=timezone.now(), limit=NOTIFY_BATCH)
        total += processed
        if processed < NOTIFY_BATCH or time.monotonic() - started > NOTIFY_RUN_SECONDS:
            break
    return total


WEBHOOK_BATCH = 20
WEBHOOK_MAX_BATCHES = 20


@shared_task(name="incidents.tasks.webhooks_deliver_due", ignore_result=True)
def webhooks_deliver_due() -> int:
    """Sends the outbound webhook deliveries whose time has come (new ones, retries, and claims whose
    worker died). Queued after each emission commits and by beat every 15 seconds; several at once are
    safe: each batch claims its rows with SKIP LOCKED and a lease, and records each outcome with a
    compare-and-set, so a run twice sends nothing twice. Bounded like the notification task."""
    started = time.monotonic()
    total = 0
    for _ in range(WEBHOOK_MAX_BATCHES):
        processed = webhook_deliveries_send_batch(now=timezone.now(), limit=WEBHOOK_BATCH)
        total += processed
        if processed < WEBHOOK_BATCH or time.monotonic() - started > NOTIFY_RUN_SECONDS:
            break
    return total


@shared_task(name="incidents.tasks.reply_publish_attempt", ignore_result=True)
def reply_publish_attempt(reply_id: int) -> str:
    """One attempt to send a reply to its platform; idempotent (a reply not due does nothing)."""
    from incidents.services.replies import reply_publish_attempt as attempt

    return attempt(reply_id=reply_id)


@shared_task(name="incidents.tasks.replies_publish_due", ignore_result=True)
def replies_publish_due() -> int:
    from incidents.services.replies import replies_publish_due as due
    from incidents.services.replies import reply_publish_attempt as attempt

    ids = due(now=timezone.now())
    for reply_id in ids:
        attempt(reply_id=reply_id)
    return len(ids)


@shared_task(name="incidents.tasks.moderation_perform_attempt", ignore_result=True)
def moderation_perform_attempt(action_id: int) -> str:
    """One attempt to have the bridge perform a moderation action; idempotent (one not due does nothing)."""
    from incidents.services.moderation import moderation_perform_attempt as attempt

    return attempt(action_id=action_id)


@shared_task(name="incidents.tasks.moderation_perform_due", ignore_result=True)
def moderation_perform_due() -> int:
    from incidents.services.moderation import moderation_perform_attempt as attempt
    from incidents.services.moderation import moderation_perform_due as due

    ids = due(now=timezone.now())
    for action_id in ids:
        attempt(action_id=action_id)
    return len(ids)


@shared_task(name="incidents.tasks.spikes_detect", ignore_result=True)
def spikes_detect() -> int:
    """Beat sends this every 10 seconds. Idempotent: a flagged window is recorded once per surge incident
    and its people are notified at most once per 15 minutes, however often this runs."""
    from incidents.services.spikes import spikes_detect as detect

    return detect(now=timezone.now())
