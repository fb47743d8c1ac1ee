"""The notification outbox, both halves: drafts for users and roles enqueued with dedupe, and the delivery
step that claims due email and chat-webhook rows, sends them outside any transaction and retries."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import Notification, NotificationChannel, NotificationStatus
from incidents.services.recipients import NotificationDraft
from protocols.models import WebhookEndpoint, WebhookFlavor

logger = logging.getLogger(__name__)

IN_APP = NotificationChannel.IN_APP
EMAIL = NotificationChannel.EMAIL
WEBHOOK = NotificationChannel.WEBHOOK
_DEDUPE_KEY_MAX = Notification._meta.get_field("dedupe_key").max_length or 200
_SUBJECT_MAX = Notification._meta.get_field("subject").max_length or 200
_LAST_ERROR_MAX = 500
# A claimed row stays invisible to other workers for this long plus the time its batch may take to send,
# so a worker that dies mid-batch only delays its rows: they fall due again when the lease runs out.
_CLAIM_LEASE_FOR = timedelta(seconds=60)


# --- Enqueue -------------------------------------------------------------------------------------


def _queue_delivery() -> None:
    # Imported here because the tasks module imports this one.
    from incidents.tasks import notifications_deliver_due

    notifications_deliver_due.delay()


_ENQUEUE_SQL = """
INSERT INTO incidents_notification (recipient_id, channel, endpoint_id, incident_id, kind, subject, body,
    link, dedupe_key, status, delivered_at, next_attempt_at, attempts, last_error, created_at)
SELECT r, c, e, i, k, s, b, l, d, st, da, na, 0, '', %s
FROM unnest(%s::int[], %s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::text[],
    %s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[], %s::timestamptz[])
    AS t(r, c, e, i, k, s, b, l, d, st, da, na)
ON CONFLICT (dedupe_key) DO NOTHING
"""


def notifications_enqueue(*, items: Sequence[NotificationDraft]) -> int:
    """Stores the drafts in the caller's transaction; a draft whose dedupe key is already stored is
    skipped. In-app messages are delivered by being stored; the others are due now and the delivery task
    is queued once the transaction commits. Returns the number of drafts."""
    if not items:
        return 0
    now = timezone.now()
    # One statement whatever the number of drafts (a sweep can fan out to thousands): the columns travel
    # as arrays, so no model objects are built and PostgreSQL plans a single INSERT.
    in_app = [item.channel == IN_APP for item in items]
    with connection.cursor() as cursor:
        cursor.execute(
            _ENQUEUE_SQL,
            [
                now,
                [item.recipient_id for item in items],
                [item.channel for item in items],
                [item.endpoint_id for item in items],
                [item.incident_id for item in items],
                [item.kind for item in items],
                [item.subject[:_SUBJECT_MAX] for item in items],
                [item.body for item in items],
                [item.link for item in items],
                [item.dedupe_key for item in items],
                [NotificationStatus.DELIVERED if done else NotificationStatus.PENDING for done in in_app],
                [now if done else None for done in in_app],
                [None if done else now for done in in_app],
            ],
        )
    if any(item.channel != IN_APP for item in items):
        # robust: a broker that is down must not fail the caller's committed work; the beat entry of the
        # delivery task finds the rows within seconds anyway.
        transaction.on_commit(_queue_delivery, robust=True)
    return len(items)


# --- Delivery ------------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A send that did not go through. `message` is what admins read in last_error; a permanent failure
    (no address, endpoint switched off) is not retried; an unreachable target (timeout, refused) is not
    tried again in the same batch."""

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.unreachable = unreachable


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect answers as a failure: following it would drop the POST body or send it elsewhere."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


_OPENER = urllib.request.build_opener(_RefuseRedirects())


def _absolute(link: str) -> str:
    if not link or urlsplit(link).scheme:
        return link
    return f"{settings.FIREBREAK_BASE_URL.rstrip('/')}/{link.lstrip('/')}"


def _network_error(reason: object, *, where: str, timeout: float | None) -> str:
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout}s" if timeout else f"timed out talking to {where}"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve {where}"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error with {where}: {reason.reason or reason}"
    return f"could not reach {where}: {reason}"


def _webhook_payload(notification: Notification, flavor: str) -> dict[str, Any]:
    link = _absolute(notification.link)
    if flavor == WebhookFlavor.TEAMS:
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": notification.subject,
            "title": notification.subject,
            "text": notification.body,
        }
        if link:
            card["potentialAction"] = [
                {"@type": "OpenUri", "name": "Open in Firebreak", "targets": [{"os": "default", "uri": link}]}
            ]
        return card
    return {"text": "\n".join(part for part in (notification.subject, notification.body, link) if part)}


def _post_webhook(notification: Notification) -> None:
    endpoint = notification.endpoint
    if endpoint is None or not endpoint.is_active:
        raise DeliveryFailed("the webhook endpoint is switched off", permanent=True)
    parts = urlsplit(endpoint.url)
    try:
        # Only the host ever goes into an error: chat webhook URLs carry their secret in the path.
        where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        raise DeliveryFailed("the webhook URL has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed("the webhook URL is not an http(s) URL")
    timeout = settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        endpoint.url,
        data=json.dumps(_webhook_payload(notification, endpoint.flavor)).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Firebreak",
            "X-Firebreak-Notification": str(notification.pk),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryFailed(f"HTTP {exc.code} from {where}") from None
    except urllib.error.URLError as exc:
        message = _network_error(exc.reason, where=where, timeout=timeout)
        raise DeliveryFailed(message, unreachable=True) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(_network_error(exc, where=where, timeout=timeout), unreachable=True) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {where}")


class _Mailer:
    """One mail-server connection for a whole delivery batch, opened on the first email: a storm of
    notifications after an outage would otherwise pay a TCP (and TLS) handshake per message."""

    def __init__(self) -> None:
        self.backend: Any = None

    def get(self) -> Any:
        if self.backend is None:
            self.backend = get_connection()
            self.backend.open()
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            # the server may have gone away mid-batch; the outcomes are already recorded
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.backend.close()
            self.backend = None


def _send_email(notification: Notification, mailer: _Mailer) -> None:
    recipient = notification.recipient
    if recipient is None or not recipient.is_active:
        raise DeliveryFailed("the recipient's account is deactivated", permanent=True)
    if not recipient.email:
        raise DeliveryFailed("the recipient has no email address", permanent=True)
    email = EmailMessage(
        # A header cannot hold a line break (Django refuses it); a subject is one line anyway.
        subject=" ".join(notification.subject.split()),
        body="\n\n".join(part for part in (notification.body, _absolute(notification.link)) if part),
        to=[recipient.email],
        headers={"X-Firebreak-Notification": str(notification.pk)},
    )
    where = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}" if settings.EMAIL_HOST else "the mail backend"
    try:
        email.connection = mailer.get()
        email.send()
    except smtplib.SMTPException as exc:
        mailer.close()  # the session may be unusable; the next email opens a new one
        raise DeliveryFailed(f"email not sent: {where} answered {exc}") from None
    except OSError as exc:
        mailer.close()
        message = f"email not sent: {_network_error(exc, where=where, timeout=settings.EMAIL_TIMEOUT)}"
        raise DeliveryFailed(message, unreachable=True) from None
    except ValueError as exc:  # e.g. an address Django cannot put in a header
        raise DeliveryFailed(f"email not sent: {exc}", permanent=True) from None


def _send(notification: Notification, mailer: _Mailer) -> None:
    if notification.channel == EMAIL:
        _send_email(notification, mailer)
    elif notification.channel == WEBHOOK:
        _post_webhook(notification)
    else:
        raise DeliveryFailed(f"nothing sends the {notification.channel} channel", permanent=True)


def _retry_after(*, attempts_before: int) -> timedelta:
    base = settings.FIREBREAK_NOTIFY_RETRY_BASE_SECONDS
    cap = settings.FIREBREAK_NOTIFY_RETRY_CAP_SECONDS
    return timedelta(seconds=min(base * 2 ** min(attempts_before, 30), cap))


def _lease_for(count: int) -> timedelta:
    per_send = max(settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS, settings.EMAIL_TIMEOUT or 0) + 1
    return _CLAIM_LEASE_FOR + count * timedelta(seconds=per_send)


def _settle(notification: Notification, *, lease_until: datetime, changes: dict[str, Any]) -> bool:
    """Records the outcome only if the row is still ours: pending, with the attempts and the lease we
    claimed it with. A worker whose lease ran out and was taken over changes nothing."""
    return bool(
        Notification.objects.filter(
            pk=notification.pk,
            status=NotificationStatus.PENDING,
            attempts=notification.attempts,
            next_attempt_at=lease_until,
        ).update(**changes)
    )


def _deliver_one(
    notification: Notification,
    *,
    now: datetime,
    lease_until: datetime,
    unreachable: dict[Any, str],
    mailer: _Mailer,
) -> None:
    endpoint = notification.endpoint
    # The mail server, or one chat endpoint: once it timed out or refused, the rest of the batch for it
    # backs off without waiting out the timeout again, row after row.
    target = (notification.channel, notification.endpoint_id)
    try:
        if target in unreachable:
            raise DeliveryFailed(unreachable[target])
        _send(notification, mailer)
    except DeliveryFailed as exc:
        error, permanent = exc.message, exc.permanent
        if exc.unreachable:
            unreachable[target] = exc.message
    except Exception as exc:
        # A bug must cost one attempt of one message, not the rest of the batch.
        logger.exception("Delivering notification %s failed unexpectedly", notification.pk)
        error, permanent = f"unexpected error: {type(exc).__name__}", False
    else:
        changes = {"status": NotificationStatus.DELIVERED, "delivered_at": now, "last_error": ""}
        if _settle(notification, lease_until=lease_until, changes=changes) and endpoint is not None:
            # Read now, not from the claim: another worker may have marked the channel failing meanwhile.
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        return

    error = error[:_LAST_ERROR_MAX]
    attempts = notification.attempts + 1
    gives_up = permanent or attempts >= settings.FIREBREAK_NOTIFY_MAX_ATTEMPTS
    if gives_up:
        changes = {
            "status": NotificationStatus.FAILED,
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": None,
        }
    else:
        changes = {
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now + _retry_after(attempts_before=notification.attempts),
        }
    settled = _settle(notification, lease_until=lease_until, changes=changes)
    # A channel that exhausted its retries is shown to admins; one that was switched off is not failing.
    if settled and gives_up and endpoint is not None and endpoint.is_active:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=Coalesce(F("failing_since"), Value(now)), last_error=error
        )
    logger.info(
        "Notification %s not delivered (attempt %s%s): %s",
        notification.pk,
        attempts,
        ", giving up" if gives_up else "",
        error,
    )


def notifications_deliver_batch(*, now: datetime, limit: int = 50) -> int:
    """One delivery step: claims up to `limit` due email and webhook rows (skipping rows another worker
    holds), sends each outside the transaction and records the outcome with a compare-and-set. A failure
    is retried with exponential backoff until the last attempt. Returns the number of rows processed."""
    with transaction.atomic():
        # The claim must walk the due index in order and stop at `limit`. Right after a storm the
        # table's statistics still say it is nearly empty, and the planner then prefers a bitmap scan
        # that reads and sorts every due row (measured: 0.4 s per claim with 100,000 waiting).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "endpoint")
            .filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now, channel__in=[EMAIL, WEBHOOK])
            .order_by("next_attempt_at", "id")[:limit]
        )
        if not claimed:
            return 0
        lease_until = now + _lease_for(len(claimed))
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(next_attempt_at=lease_until)
    unreachable: dict[Any, str] = {}
    mailer = _Mailer()
    try:
        for notification in claimed:
            _deliver_one(
                notification, now=now, lease_until=lease_until, unreachable=unreachable, mailer=mailer
            )
    finally:
        mailer.close()
    return len(claimed)


# --- The inbox -----------------------------------------------------------------------------------


def _require_inbox(user: Any) -> None:
    if not policies.can(user=user, action="notification.view"):
        raise PermissionRefused("Your role does not allow reading notifications.")


def notification_mark_read(*, user: Any, notification_id: int) -> bool:
    """Marks one of the user's own in-app notifications read; another user's reads as missing. Returns
    whether it was unread (marking twice is harmless)."""
    _require_inbox(user)
    own = Notification.objects.filter(pk=notification_id, recipient_id=user.pk, channel=IN_APP)
    if own.filter(read_at__isnull=True).update(read_at=timezone.now()):
        return True
    if not own.exists():
        raise NotFound("Notification not found.")
    return False


def notifications_mark_all_read(*, user: Any) -> int:
    """Marks all of the user's unread in-app notifications read; returns how many there were."""
    _require_inbox(user)
    return Notification.objects.filter(recipient_id=user.pk, channel=IN_APP, read_at__isnull=True).update(
        read_at=timezone.now()
    )
