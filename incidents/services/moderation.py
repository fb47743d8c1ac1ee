"""Moderating a mention under the community guidelines: hide and remove capture it as evidence first; the
action is recorded with its rule, and performed through a webhook bridge where the account has one. The
bridge is called after the request commits, by a task with a lease, retries and an idempotency key,
so a slow bridge never holds the mention's lock and a retry after a lost answer does not act twice."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import ONCE_ONLY_ACTIONS, EventKind, Mention, ModerationAction, ModerationOutcome
from incidents.publishing import transport
from incidents.publishing.posts import PublishError
from incidents.publishing.signing import SIGNATURE_HEADER, sign_payload
from incidents.services.evidence import evidence_capture
from incidents.services.timeline import actor_label_of, timeline_append
from protocols.models import ModerationActionKind, ModerationRule, PublisherKind, SocialAccount

EVENT = "mention.moderate"
CAPTURED_FIRST = (ModerationActionKind.HIDE, ModerationActionKind.REMOVE)
BY_HAND = "Do it on the platform by hand: the account has no bridge that can."
PERFORM_LEASE = timedelta(minutes=2)  # longer than the bridge's timeout
PERFORM_MAX_ATTEMPTS = 6


def moderation_idempotency_key(action_id: int) -> str:
    return f"firebreak-moderation-{action_id}"


def moderation_body(*, row: ModerationAction) -> bytes:
    """The exact bytes that are signed and sent to the bridge."""
    mention, rule = row.mention, row.rule
    payload = {
        "event": EVENT,
        "action": row.action,
        "mention": {"platform": mention.platform, "external_id": mention.external_id, "url": mention.url},
        "rule": {"id": rule.pk, "title": rule.title},
        "idempotency_key": moderation_idempotency_key(row.pk),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _bridge_of(mention: Mention) -> tuple[SocialAccount | None, str, str]:
    """(bridged account, outcome, detail) when nothing is sent, or (account, pending, detail)."""
    account = SocialAccount.objects.filter(platform=mention.platform, is_active=True).order_by("id").first()
    if account is None or account.publisher != PublisherKind.WEBHOOK:
        return None, ModerationOutcome.RECORDED_ONLY, BY_HAND
    if not account.webhook_url or not account.webhook_secret:
        problem = f"The account {account.name} has no webhook URL or signing secret."
        return None, ModerationOutcome.FAILED, problem
    host = transport.where(account.webhook_url)
    return account, ModerationOutcome.PENDING, f"Being sent to the bridge at {host}."


def _send(*, account: SocialAccount, row: ModerationAction) -> tuple[str, str, bool]:
    """(outcome, detail, worth retrying) of one POST to the bridge."""
    body = moderation_body(row=row)
    signature = sign_payload(secret=account.webhook_secret, timestamp=int(time.time()), body=body)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature,
        "Idempotency-Key": moderation_idempotency_key(row.pk),
    }
    try:
        answer = transport.post(url=account.webhook_url, body=body, headers=headers)
    except PublishError as exc:
        return ModerationOutcome.FAILED, str(exc), exc.retryable
    host = transport.where(account.webhook_url)
    if 200 <= answer.status < 300:
        return ModerationOutcome.PERFORMED, f"The bridge at {host} did it.", False
    said = answer.error_text("error", "message", "detail")
    detail = f"The bridge at {host} answered HTTP {answer.status}" + (f": {said}" if said else ".")
    return ModerationOutcome.FAILED, detail, transport.is_retryable_status(answer.status)


@transaction.atomic
def mention_moderate(
    *, actor: Any, mention_id: int, action: str, rule_id: int, note: str = ""
) -> ModerationAction:
    if not policies.can(user=actor, action="mention.moderate"):
        raise PermissionRefused("Your role does not allow this action.")
    if action not in ModerationActionKind.values:
        raise ValidationFailed("action: not a moderation action.", fields={"action": ["Not a valid action."]})
    rule = ModerationRule.objects.filter(pk=rule_id, is_active=True).first()
    if rule is None:
        raise ValidationFailed("rule: no such active rule.", fields={"rule": ["No such active rule."]})
    # Locking the mention makes a second hide wait, then find the first one's row.
    mention = Mention.objects.select_for_update().filter(pk=mention_id).first()
    if mention is None:
        raise NotFound("Mention not found.")
    if (
        action in ONCE_ONLY_ACTIONS
        and ModerationAction.objects.filter(mention=mention, action=action).exists()
    ):
        raise Conflict(f"This mention was already moderated ({action}); nothing changed.")
    note = note.strip()
    capture = None
    if action in CAPTURED_FIRST:
        capture = evidence_capture(actor=actor, mention_id=mention.pk, note=note)
    account, outcome, detail = _bridge_of(mention)
    now = timezone.now()
    try:
        with transaction.atomic():
            row = ModerationAction.objects.create(
                mention=mention,
                action=action,
                rule=rule,
                actor=actor,
                actor_label=actor_label_of(actor),
                note=note,
                at=now,
                outcome=outcome,
                outcome_detail=detail,
                next_attempt_at=now if outcome == ModerationOutcome.PENDING else None,
                evidence=capture,
            )
    except IntegrityError:
        raise Conflict(f"This mention was already moderated ({action}); nothing changed.") from None
    if mention.incident_id is not None:
        timeline_append(
            incident_id=mention.incident_id,
            kind=EventKind.MODERATED,
            actor=actor,
            after={
                "mention_id": mention.pk,
                "action": action,
                "rule_id": rule.pk,
                "rule": rule.title,
                "outcome": outcome,
                "capture_id": capture.pk if capture else None,
            },
            note=note,
        )
    if account is not None:
        from incidents.tasks import moderation_perform_attempt

        row_id = row.pk
        transaction.on_commit(lambda: moderation_perform_attempt.delay(row_id), robust=True)
    return row


def moderation_perform_due(*, now: datetime, limit: int = 20) -> list[int]:
    """Bridged actions whose next attempt is due (the beat's safety net if a queued task was lost)."""
    return list(
        ModerationAction.objects.filter(outcome=ModerationOutcome.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def _retry_after(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def moderation_perform_attempt(*, action_id: int) -> str:
    """One attempt to have the bridge perform a recorded action: claimed with a lease (a second worker
    does not send it at the same time), sent outside any transaction, its result stored only if the
    lease is still ours. Returns performed, failed, retry or nothing."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            ModerationAction.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mention", "rule")
            .filter(pk=action_id, outcome=ModerationOutcome.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if row is None:
            return "nothing"
        lease = now + PERFORM_LEASE
        attempts = row.attempts + 1
        ModerationAction.objects.filter(pk=row.pk).update(next_attempt_at=lease, attempts=attempts)
    account, _, problem = _bridge_of(row.mention)
    if account is None:  # the bridge was removed or unconfigured since: say so rather than guess
        outcome, detail, retryable = str(ModerationOutcome.FAILED), problem, False
    else:
        outcome, detail, retryable = _send(account=account, row=row)
    with transaction.atomic():
        ours = ModerationAction.objects.filter(
            pk=row.pk, outcome=ModerationOutcome.PENDING, next_attempt_at=lease
        )
        if outcome == ModerationOutcome.FAILED and retryable and attempts < PERFORM_MAX_ATTEMPTS:
            retry_at = timezone.now() + _retry_after(attempts)
            retrying = f"{detail} Trying again at {retry_at:%H:%M} UTC."
            ours.update(next_attempt_at=retry_at, outcome_detail=retrying)
            return "retry"
        if not ours.update(outcome=outcome, outcome_detail=detail, next_attempt_at=None):
            return "nothing"
        if row.mention.incident_id is not None:
            timeline_append(
                incident_id=row.mention.incident_id,
                kind=EventKind.MODERATION_RESULT,
                actor=None,
                actor_label="moderation bridge",
                after={
                    "mention_id": row.mention_id,
                    "action": row.action,
                    "moderation_id": row.pk,
                    "outcome": outcome,
                    "attempts": attempts,
                },
                note=detail,
            )
    return outcome
