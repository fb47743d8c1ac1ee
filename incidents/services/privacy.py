"""A customer's personal data on request (GDPR): everything Firebreak holds about one platform handle,
as a JSON document, and its erasure.

Erasure replaces what identifies or quotes the person (handle, name, text, URL, raw payload of their
mentions; incident titles made from them; the handle in timeline notes; survey comments) with a
pseudonym, and deletes evidence captured from those mentions, in one transaction. It keeps what the
statistics need (platform, moments, sentiment, products, every clock and decision), and everything
tied to evidence on legal hold, which nobody may change: the answer says how much was kept and why."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.utils import timezone

from config.errors import NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import (
    EventKind,
    EvidenceCapture,
    Incident,
    Mention,
    PersonalDataRequest,
    PersonalDataRequestKind,
    Reply,
    SatisfactionSurvey,
    TimelineEvent,
)
from incidents.services.evidence import evidence_delete_unheld
from incidents.services.timeline import timeline_append
from protocols.models import Platform

ERASED_TEXT = "[erased at the customer's request]"
REFUSAL = "Your role does not allow handling customers' personal data."


def _subject(*, actor: Any, platform: str, handle: str) -> tuple[str, str]:
    if not policies.can(user=actor, action="personal_data.manage"):
        raise PermissionRefused(REFUSAL)
    if platform not in Platform.values:
        raise ValidationFailed(
            f"platform: {platform!r} is not a platform Firebreak knows.",
            fields={"platform": [f"One of {', '.join(Platform.values)}."]},
        )
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValidationFailed(
            "handle: This field is required.", fields={"handle": ["This field is required."]}
        )
    return platform, handle


def subject_sha256(*, platform: str, handle: str) -> str:
    return hashlib.sha256(f"{platform}:{handle.lower()}".encode()).hexdigest()


def _mentions_of(platform: str, handle: str) -> Any:
    return Mention.objects.filter(platform=platform, author_handle__iexact=handle)


def customer_data_export(*, actor: Any, platform: str, handle: str) -> dict[str, Any]:
    """Everything held about the person behind `handle` on `platform`: their mentions, the incidents
    they are in, the brand's published replies there, survey answers, moderation and evidence. The
    request itself is recorded (by a hash of the handle)."""
    platform, handle = _subject(actor=actor, platform=platform, handle=handle)
    mentions = list(
        _mentions_of(platform, handle).prefetch_related("moderation_actions").order_by("posted_at", "id")
    )
    incident_ids = sorted({m.incident_id for m in mentions if m.incident_id is not None})
    incidents = Incident.objects.filter(pk__in=incident_ids).order_by("id")
    replies = Reply.objects.filter(incident_id__in=incident_ids, published_at__isnull=False).order_by("id")
    surveys = SatisfactionSurvey.objects.filter(incident_id__in=incident_ids, answered_at__isnull=False)
    captures = EvidenceCapture.objects.filter(mention__in=mentions).order_by("id")
    now = timezone.now()
    PersonalDataRequest.objects.create(
        kind=PersonalDataRequestKind.EXPORT,
        platform=platform,
        subject_sha256=subject_sha256(platform=platform, handle=handle),
        requested_by=actor,
        requested_at=now,
        mentions_found=len(mentions),
        incidents_touched=len(incident_ids),
    )
    return {
        "generated_at": now.isoformat(),
        "platform": platform,
        "handle": handle,
        "mentions": [
            {
                "id": m.pk,
                "external_id": m.external_id,
                "url": m.url,
                "author_handle": m.author_handle,
                "author_name": m.author_name,
                "text": m.text,
                "posted_at": m.posted_at.isoformat(),
                "language": m.language,
                "sentiment": m.sentiment,
                "products": m.products,
                "incident_id": m.incident_id,
                "raw": m.raw,
                "moderation": [
                    {"action": a.action, "at": a.at.isoformat(), "outcome": a.outcome}
                    for a in m.moderation_actions.all()
                ],
            }
            for m in mentions
        ],
        "incidents": [
            {"id": i.pk, "title": i.title, "status": i.status, "created_at": i.created_at.isoformat()}
            for i in incidents
        ],
        "replies_published_to_them": [
            {"incident_id": r.incident_id, "text": r.body, "published_at": r.published_at.isoformat()}
            for r in replies
            if r.published_at is not None
        ],
        "survey_answers": [
            {
                "incident_id": s.incident_id,
                "rating": s.rating,
                "comment": s.comment,
                "answered_at": s.answered_at.isoformat() if s.answered_at else None,
            }
            for s in surveys
        ],
        "evidence": [
            {
                "id": c.pk,
                "mention_id": c.mention_id,
                "captured_at": c.captured_at.isoformat(),
                "sha256": c.sha256,
                "on_legal_hold": c.is_held,
            }
            for c in captures
        ],
    }


@dataclass(frozen=True)
class Erasure:
    request: PersonalDataRequest
    kept_reason: str  # empty when nothing was kept


@transaction.atomic
def customer_data_erase(*, actor: Any, platform: str, handle: str, reason: str) -> Erasure:
    platform, handle = _subject(actor=actor, platform=platform, handle=handle)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "reason: Say why (the customer's request, its date).", fields={"reason": ["Required."]}
        )
    mentions = list(_mentions_of(platform, handle).select_for_update().order_by("id"))
    if not mentions:
        raise NotFound(f"Nothing is held about @{handle} on {Platform(platform).label}.")
    held = set(
        EvidenceCapture.objects.filter(mention__in=mentions, is_held=True).values_list(
            "mention_id", flat=True
        )
    )
    erase = [m for m in mentions if m.pk not in held]
    digest = subject_sha256(platform=platform, handle=handle)
    pseudonym = f"erased-{digest[:10]}"
    # An incident with a held mention keeps its title and notes: the evidence must still read true.
    kept_incidents = {m.incident_id for m in mentions if m.pk in held}
    incident_ids = sorted({m.incident_id for m in erase if m.incident_id is not None} - kept_incidents)

    evidence_deleted = evidence_delete_unheld(mention_ids=[m.pk for m in erase])
    Mention.objects.filter(pk__in=[m.pk for m in erase]).update(
        author_handle=pseudonym, author_name="", text=ERASED_TEXT, url="", raw={}
    )
    quoted = re.compile(rf"@{re.escape(handle)}\b", re.IGNORECASE)
    label = Platform(platform).label
    renamed = [
        i for i in Incident.objects.filter(pk__in=incident_ids).only("id", "title") if quoted.match(i.title)
    ]
    for incident in renamed:
        incident.title = f"@{pseudonym} on {label}: {ERASED_TEXT}"
    Incident.objects.bulk_update(renamed, ["title"])
    Incident.objects.filter(pk__in=incident_ids).update(
        search_vector=SearchVector("title", "description", config="english")
    )
    SatisfactionSurvey.objects.filter(incident_id__in=incident_ids).exclude(comment="").update(comment="")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL firebreak.erasure = 'on'")
        events = TimelineEvent.objects.filter(
            incident_id__in=incident_ids, note__iregex=rf"@{re.escape(handle)}"
        )
        rewritten = list(events.only("id", "note"))
        for event in rewritten:
            event.note = quoted.sub(f"@{pseudonym}", event.note)
        TimelineEvent.objects.bulk_update(rewritten, ["note"])
        cursor.execute("SET LOCAL firebreak.erasure = 'off'")
    request = PersonalDataRequest.objects.create(
        kind=PersonalDataRequestKind.ERASE,
        platform=platform,
        subject_sha256=digest,
        pseudonym=pseudonym,
        reason=reason,
        requested_by=actor,
        requested_at=timezone.now(),
        mentions_found=len(mentions),
        mentions_erased=len(erase),
        mentions_kept_on_hold=len(mentions) - len(erase),
        incidents_touched=len(incident_ids),
        evidence_deleted=evidence_deleted,
    )
    for incident_id in incident_ids:
        timeline_append(
            incident_id=incident_id,
            kind=EventKind.PERSONAL_DATA_ERASED,
            actor=actor,
            after={"request_id": request.pk, "pseudonym": pseudonym},
            note="The customer's personal data was erased on request; the figures are kept.",
        )
    kept = ""
    if held:
        kept = (
            f"{len(held)} mention{'s' if len(held) != 1 else ''} kept as they are: evidence captured from "
            "them is on legal hold, which nobody may change. Erase again once the hold is released."
        )
    return Erasure(request=request, kept_reason=kept)
