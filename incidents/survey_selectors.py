"""Reading satisfaction surveys: an incident's surveys for the team, the one row the customer's page
needs, and the language a new survey of an incident would be written in."""

from __future__ import annotations

from typing import Any

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import Incident, Mention, SatisfactionSurvey
from incidents.survey_texts import language_or_english


def survey_list_for_incident(*, user: Any, incident_id: int) -> list[SatisfactionSurvey]:
    """Newest first, with who sent each; empty for a role that may not read ratings."""
    if not policies.can(user=user, action="survey.view"):
        return []
    return list(
        SatisfactionSurvey.objects.filter(incident_id=incident_id)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def survey_list(*, user: Any, incident_id: int) -> list[SatisfactionSurvey]:
    """The API's list: refused without the role, not found without the incident."""
    if not policies.can(user=user, action="survey.view"):
        raise PermissionRefused("Your role does not allow this action.")
    if not Incident.objects.filter(pk=incident_id).exists():
        raise NotFound("Incident not found.")
    return survey_list_for_incident(user=user, incident_id=incident_id)


def survey_for_customer(*, survey_id: int) -> SatisfactionSurvey | None:
    """Only what the survey page needs: no incident, no team member, nothing else is read."""
    return (
        SatisfactionSurvey.objects.only("id", "incident_id", "language", "expires_at", "answered_at")
        .filter(pk=survey_id)
        .first()
    )


def survey_language_for_incident(*, incident_id: int) -> str:
    """The language of the incident's latest mention that names one, when it is offered; else English."""
    tag = (
        Mention.objects.filter(incident_id=incident_id)
        .exclude(language="")
        .order_by("-posted_at", "-id")
        .values_list("language", flat=True)
        .first()
    )
    return language_or_english(tag or "")
