"""Customer-satisfaction surveys: sending one for a resolved incident (a signed link, in a drafted reply
that goes out through the usual sign-off and publishing) and taking the customer's one answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import EventKind, Incident, IncidentStatus, Mention, SatisfactionSurvey
from incidents.models.surveys import COMMENT_MAX, RATING_MAX, RATING_MIN
from incidents.services import replies as reply_services
from incidents.services.timeline import timeline_append
from incidents.survey_selectors import survey_language_for_incident
from incidents.survey_texts import SURVEY_TEXTS

# Its own salt: no other signed value of the app (sessions, cookies) can pass for a survey token.
TOKEN_SALT = "firebreak.incidents.survey"  # noqa: S105 - a salt, not a secret
TOKEN_MAX_LENGTH = 200
SURVEYED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
# How the timeline names whoever answers through the link (there is no account).
CUSTOMER = "customer"


def survey_token(*, survey_id: int) -> str:
    """The survey's id, signed (HMAC with the secret key): altering any character breaks the signature.
    How long it works and whether it was used are the row's business, not the token's."""
    return signing.Signer(salt=TOKEN_SALT).sign_object(survey_id)


def survey_id_from_token(*, token: str) -> int | None:
    """The survey id a genuine token carries; None for a tampered, truncated or foreign token."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        value = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    return value if type(value) is int and value > 0 else None


def survey_url(*, survey_id: int) -> str:
    """The link the customer opens (no sign-in): the public address plus the signed token."""
    path = reverse("incidents:survey_page", args=[survey_token(survey_id=survey_id)])
    return settings.FIREBREAK_BASE_URL.rstrip("/") + path


def survey_refusal(*, incident: Incident) -> str | None:
    """Why no survey may be sent for this incident now, or None. The incident page asks too, to offer
    the button only where it works."""
    if incident.status not in SURVEYED_STATUSES:
        label = IncidentStatus(incident.status).label.lower()
        return f"The incident is {label}: a survey goes out once it is resolved."
    if incident.merged_into_id is not None:
        return f"This incident was merged into #{incident.merged_into_id}: send the survey from there."
    return None


@transaction.atomic
def survey_send(*, actor: Any, incident_id: int) -> SatisfactionSurvey:
    """Creates a survey for a resolved (or closed) incident and drafts the reply that invites the
    customer, in their language, with the link; the reply answers the incident's latest mention."""
    if not policies.can(user=actor, action="survey.send"):
        raise PermissionRefused("Your role does not allow this action.")
    # Locked: a reopen racing this send either sees the survey or refuses it, never half of each.
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("Incident not found.")
    refusal = survey_refusal(incident=incident)
    if refusal is not None:
        raise Conflict(refusal)
    now = timezone.now()
    language = survey_language_for_incident(incident_id=incident.pk)
    survey = SatisfactionSurvey.objects.create(
        incident=incident,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=settings.FIREBREAK_SURVEY_EXPIRY_DAYS),
        language=language,
    )
    answering = (
        Mention.objects.filter(incident_id=incident.pk)
        .order_by("-posted_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    reply = reply_services.reply_create(
        actor=actor,
        incident_id=incident.pk,
        body=SURVEY_TEXTS[language].invitation.format(url=survey_url(survey_id=survey.pk)),
        mention_id=answering,
        after_resolution=True,
    )
    SatisfactionSurvey.objects.filter(pk=survey.pk).update(reply=reply)
    survey.reply = reply
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.SURVEY_CREATED,
        actor=actor,
        after={
            "survey_id": survey.pk,
            "reply_id": reply.pk,
            "language": language,
            "expires_at": survey.expires_at.isoformat(),
        },
    )
    return survey


def survey_clean_answer(*, rating: Any, comment: Any) -> tuple[int, str]:
    """The rating as a whole number from 1 to 5 and the comment trimmed, or ValidationFailed naming each
    problem (the survey page has its own form; this is the rule every caller meets)."""
    problems: dict[str, list[str]] = {}
    if type(rating) is not int or not RATING_MIN <= rating <= RATING_MAX:
        problems["rating"] = [f"A whole number from {RATING_MIN} to {RATING_MAX}."]
    text = comment.strip() if isinstance(comment, str) else None
    if text is None or "\x00" in text:
        problems["comment"] = ["Text only."]
    elif len(text) > COMMENT_MAX:
        problems["comment"] = [f"At most {COMMENT_MAX} characters."]
    if problems:
        field, reasons = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {reasons[0]}", fields=problems)
    return rating, text or ""


@transaction.atomic
def survey_answer(*, survey_id: int, rating: Any, comment: Any) -> SatisfactionSurvey:
    """The customer's answer. Stored only by the compare-and-set on an unanswered, unexpired survey, so
    a link works once: a second answer (or a late one) changes nothing and is a Conflict whose code
    says why ("survey_answered" or "survey_expired")."""
    rating, comment = survey_clean_answer(rating=rating, comment=comment)
    now = timezone.now()
    answered = SatisfactionSurvey.objects.filter(
        pk=survey_id, answered_at__isnull=True, expires_at__gt=now
    ).update(rating=rating, comment=comment, answered_at=now)
    survey = SatisfactionSurvey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("Survey not found.")
    if answered != 1:
        if survey.answered_at is not None:
            raise Conflict("This survey was already answered; nothing changed.", code="survey_answered")
        raise Conflict("This survey has expired; nothing changed.", code="survey_expired")
    timeline_append(
        incident_id=survey.incident_id,
        kind=EventKind.SURVEY_ANSWERED,
        actor=None,
        actor_label=CUSTOMER,
        after={"survey_id": survey.pk, "rating": rating},
        note=comment,
    )
    return survey
