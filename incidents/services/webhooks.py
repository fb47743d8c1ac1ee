"""Outbound webhooks: subscriptions (created with a secret shown once, switched off), replays, and events
stored as one delivery row per subscriber inside the caller's transaction (sent by webhook_delivery)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import DeliveryState, WebhookDelivery, WebhookEvent, WebhookSubscription

EVENT_NAMES: tuple[str, ...] = tuple(WebhookEvent.values)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
NAME_MAX = WebhookSubscription._meta.get_field("name").max_length or 100
URL_MAX = WebhookSubscription._meta.get_field("url").max_length or 500
# Whether any active subscription wants an event is asked on every incident change and intake batch:
# cached briefly (and forgotten when a subscription changes), so with none it costs no query at all.
_EVENTS_CACHE_KEY = "firebreak:webhooks:subscribed-events"
_EVENTS_CACHE_FOR = 30


def _require(actor: Any) -> None:
    if not policies.can(user=actor, action="webhook.manage"):
        raise PermissionRefused("Only an admin manages outbound webhooks.")


def webhook_signature(*, secret: str, timestamp: int | str, body: bytes) -> str:
    """The same scheme as the signed intake webhook, so integrators learn one: `sha256=` + hex
    HMAC-SHA256 over `<timestamp>.<raw body>` with the subscription's secret."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- Subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSubscription:
    subscription: WebhookSubscription
    secret: str


def _clean_url(url: str, problems: dict[str, list[str]]) -> str:
    url = (url or "").strip()
    if not url:
        problems["url"] = ["This field is required."]
        return url
    if len(url) > URL_MAX:
        problems["url"] = [f"At most {URL_MAX} characters."]
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        problems["url"] = ["Not a valid URL."]
        return url
    if parts.scheme not in ("http", "https") or not host:
        problems["url"] = ["Use an https:// URL."]
    elif parts.scheme == "http" and host not in LOCAL_HOSTS and not settings.FIREBREAK_OUTBOUND_ALLOW_HTTP:
        problems["url"] = ["Use an https:// URL (plain http only to localhost)."]
    return url


def _clean_events(event_types: Sequence[str] | None, problems: dict[str, list[str]]) -> list[str]:
    chosen = list(dict.fromkeys(str(e).strip() for e in (event_types or [])))
    unknown = [e for e in chosen if e not in EVENT_NAMES]
    if unknown:
        problems["event_types"] = [f"Unknown event: {', '.join(unknown)}. Known: {', '.join(EVENT_NAMES)}."]
    elif not chosen:
        problems["event_types"] = ["Choose at least one event."]
    # Kept in the documented order, whatever order they were sent in.
    return [e for e in EVENT_NAMES if e in chosen]


def _forget_subscribed_events() -> None:
    """Now (for the rest of this transaction) and again once it commits (for everyone else)."""

    def forget() -> None:
        with contextlib.suppress(RedisError):
            cache.delete(_EVENTS_CACHE_KEY)

    forget()
    transaction.on_commit(forget)


@transaction.atomic
def webhook_subscription_create(
    *, actor: Any, name: str, url: str, event_types: Sequence[str]
) -> IssuedSubscription:
    """Stores a subscription with a new random secret. The secret is returned here, once; nothing reads
    it back out (the API and pages never show it again)."""
    _require(actor)
    problems: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        problems["name"] = ["This field is required."]
    elif len(name) > NAME_MAX:
        problems["name"] = [f"At most {NAME_MAX} characters."]
    url = _clean_url(url, problems)
    events = _clean_events(event_types, problems)
    if problems:
        field, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {messages[0]}", fields=problems)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        secret=secret,
        event_types=events,
        created_by=actor,
        created_at=timezone.now(),
    )
    _forget_subscribed_events()
    return IssuedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def webhook_subscription_deactivate(*, actor: Any, subscription_id: int) -> WebhookSubscription:
    """Switches a subscription off (compare-and-set: twice is a 409). New events no longer reach it and
    its pending deliveries fail when their turn comes; the log stays."""
    _require(actor)
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("Webhook subscription not found.")
    now = timezone.now()
    if not WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, deactivated_at=now
    ):
        raise Conflict("This subscription is already switched off.")
    subscription.is_active, subscription.deactivated_at = False, now
    _forget_subscribed_events()
    return subscription


@transaction.atomic
def webhook_delivery_replay(*, actor: Any, delivery_id: Any) -> WebhookDelivery:
    """Sends a finished delivery again. It is the same delivery: same `X-Firebreak-Delivery` id and the
    same frozen payload, reset to pending now. A new id would defeat the receiver's de-duplication (a
    receiver that already processed it can tell it is a repeat and skip it; one that missed it gets it);
    the attempts made so far stay counted on the row, and the replay gets a full set of retries again."""
    _require(actor)
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    if not delivery.subscription.is_active:
        raise Conflict("The subscription is switched off; switch on a new one instead.")
    now = timezone.now()
    changed = WebhookDelivery.objects.filter(
        pk=delivery.pk, state__in=[DeliveryState.DELIVERED, DeliveryState.FAILED], attempts=delivery.attempts
    ).update(
        state=DeliveryState.PENDING,
        next_attempt_at=now,
        attempts_before_replay=F("attempts"),
        replayed_at=now,
        delivered_at=None,
    )
    if not changed:
        raise Conflict("This delivery is still being sent; wait for its outcome before replaying it.")
    delivery.refresh_from_db()
    transaction.on_commit(_queue_delivery, robust=True)
    return delivery


# --- Emission ------------------------------------------------------------------------------------


def _queue_delivery() -> None:
    # Imported here because the tasks module imports this one.
    from incidents.tasks import webhooks_deliver_due

    webhooks_deliver_due.delay()


def subscribed_events() -> frozenset[str]:
    """The event types at least one active subscription wants (cached for a few seconds)."""
    try:
        cached = cache.get(_EVENTS_CACHE_KEY)
    except RedisError:  # Redis down must not fail the change that emits: ask the database instead
        cached = None
    if cached is not None:
        return frozenset(cached)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT unnest(event_types) FROM incidents_webhooksubscription WHERE is_active"
        )
        events = sorted(row[0] for row in cursor.fetchall())
    with contextlib.suppress(RedisError):
        cache.set(_EVENTS_CACHE_KEY, events, _EVENTS_CACHE_FOR)
    return frozenset(events)


@lru_cache(maxsize=1)
def _incident_url_template() -> str:
    return settings.FIREBREAK_BASE_URL.rstrip("/") + reverse("incidents:incident_detail", args=[0])


# One statement per event type, whatever the number of events and subscribers: the events travel as one
# JSON document, each subscriber wanting the type gets a row with its own UUID (the inner query keeps
# gen_random_uuid() per row, so the envelope's id is the row's), and an incident's summary is read from
# its row as the caller's transaction sees it now: frozen at the moment of the event.
_EMIT_SQL = """
INSERT INTO incidents_webhookdelivery (id, subscription_id, event, payload, incident_id, state, attempts,
    attempts_before_replay, next_attempt_at, last_error, created_at)
SELECT x.uid, x.sid, x.event,
    jsonb_build_object('id', x.uid, 'type', x.event, 'created_at', %(at)s::text, 'data',
        CASE WHEN x.summary IS NULL THEN x.data
             WHEN x.flat THEN x.summary || x.data
             ELSE x.data || jsonb_build_object('incident', x.summary) END),
    x.incident_id, 'pending', 0, 0, %(now)s, '', %(now)s
FROM (
    SELECT gen_random_uuid() AS uid, s.id AS sid, %(event)s::varchar AS event,
        COALESCE(e.data, '{}'::jsonb) AS data, i.id AS incident_id, %(flat)s AS flat,
        CASE WHEN i.id IS NULL THEN NULL ELSE jsonb_build_object(
            'id', i.id, 'title', i.title, 'status', i.status, 'priority', i.priority,
            'category',
                CASE WHEN c.id IS NULL THEN NULL ELSE jsonb_build_object('id', c.id, 'name', c.name) END,
            'url', replace(%(url)s, '/0/', '/' || i.id || '/')) END AS summary
    FROM json_to_recordset(%(items)s) AS e(data jsonb, incident_id bigint)
    JOIN incidents_webhooksubscription AS s ON s.is_active AND %(event)s::varchar = ANY(s.event_types)
    LEFT JOIN incidents_incident AS i ON i.id = e.incident_id
    LEFT JOIN protocols_category AS c ON c.id = i.category_id
) AS x
"""


@dataclass(frozen=True)
class EventItem:
    data: dict[str, Any]
    incident_id: int | None = None


def webhook_events_emit(*, event: str, items: Sequence[EventItem]) -> int:
    """Stores a delivery for every active subscription wanting `event`, for each item, in one
    INSERT … SELECT inside the caller's transaction, and queues the sending task once it commits.
    With an incident, `data` is the incident's summary (id, title, status, priority, category, url)
    plus the item's fields for incident.* events, else the item's fields plus `incident` (that summary).
    Returns the number of deliveries stored. Costs no query when nobody subscribed (cached answer)."""
    if event not in EVENT_NAMES:
        raise ValueError(f"unknown webhook event {event!r}")
    if not items or event not in subscribed_events():
        return 0
    now = timezone.now()
    rows = [{"data": item.data, "incident_id": item.incident_id} for item in items]
    with connection.cursor() as cursor:
        cursor.execute(
            _EMIT_SQL,
            {
                "at": now.isoformat().replace("+00:00", "Z"),
                "now": now,
                "event": event,
                "flat": event.startswith("incident."),
                "url": _incident_url_template(),
                "items": json.dumps(rows, cls=DjangoJSONEncoder, separators=(",", ":")),
            },
        )
        stored = cursor.rowcount
    if stored:
        # robust: a broker that is down must not fail the caller's committed work; beat's entry finds
        # the rows within seconds anyway.
        transaction.on_commit(_queue_delivery, robust=True)
    return stored


def webhook_event_emit(*, event: str, data: dict[str, Any], incident_id: int | None = None) -> int:
    """One event (see webhook_events_emit)."""
    return webhook_events_emit(event=event, items=[EventItem(data=data, incident_id=incident_id)])


def incident_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The `changes` of an incident.updated event: {field: {"from": old, "to": new}} for what changed."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def incident_updated_emit(*, incident_id: int, before: dict[str, Any], after: dict[str, Any]) -> int:
    changes = incident_changes(before, after)
    if not changes:
        return 0
    return webhook_event_emit(
        event=WebhookEvent.INCIDENT_UPDATED, data={"changes": changes}, incident_id=incident_id
    )
