"""Moderating a mention under the community guidelines: hide and remove capture it as evidence first; the
action is recorded with its rule, and performed through a webhook bridge where the account has one."""

from __future__ import annotations

import json
import time
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


def moderation_body(*, action: str, mention: Mention, rule: ModerationRule) -> bytes:
    """The exact bytes that are signed and sent to the bridge."""
    payload = {
        "event": EVENT,
        "action": action,
        "mention": {"platform": mention.platform, "external_id": mention.external_id, "url": mention.url},
        "rule": {"id": rule.pk, "title": rule.title},
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _perform(*, account: SocialAccount | None, body: bytes) -> tuple[str, str]:
    """(outcome, detail): only a webhook bridge can act on others' posts; Mastodon's API cannot."""
    if account is None or account.publisher != PublisherKind.WEBHOOK:
        return ModerationOutcome.RECORDED_ONLY, BY_HAND
    if not account.webhook_url or not account.webhook_secret:
        return ModerationOutcome.FAILED, f"The account {account.name} has no webhook URL or signing secret."
    signature = sign_payload(secret=account.webhook_secret, timestamp=int(time.time()), body=body)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
    try:
        answer = transport.post(url=account.webhook_url, body=body, headers=headers)
    except PublishError as exc:
        return ModerationOutcome.FAILED, str(exc)
    host = transport.where(account.webhook_url)
    if 200 <= answer.status < 300:
        return ModerationOutcome.PERFORMED, f"The bridge at {host} did it."
    said = answer.error_text("error", "message", "detail")
    return ModerationOutcome.FAILED, f"The bridge at {host} answered HTTP {answer.status}" + (
        f": {said}" if said else "."
    )


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
    account = SocialAccount.objects.filter(platform=mention.platform, is_active=True).order_by("id").first()
    outcome, detail = _perform(
        account=account, body=moderation_body(action=action, mention=mention, rule=rule)
    )
    try:
        with transaction.atomic():
            row = ModerationAction.objects.create(
                mention=mention,
                action=action,
                rule=rule,
                actor=actor,
                actor_label=actor_label_of(actor),
                note=note,
                at=timezone.now(),
                outcome=outcome,
                outcome_detail=detail,
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
    return row
