"""The incident page's "Customer satisfaction" card: each survey sent with its state and, once answered,
the rating and comment; and whether (and in which language) another may be sent. Pure formatting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.models import Incident, SatisfactionSurvey, SurveyLanguage, SurveyState
from incidents.presenters.wording import user_label
from incidents.survey_texts import SURVEY_TEXTS

LANGUAGE_LABELS = dict(SurveyLanguage.choices)


@dataclass(frozen=True)
class SurveyRow:
    survey: SatisfactionSurvey
    state: str
    state_label: str
    language_label: str
    sent_by: str
    rating_label: str  # the words the customer picked, in English

    @property
    def is_waiting(self) -> bool:
        return self.state == SurveyState.WAITING


@dataclass(frozen=True)
class SurveyCard:
    rows: list[SurveyRow]
    may_send: bool
    language_label: str  # of the next survey
    expiry_days: int


def survey_rows(surveys: Sequence[SatisfactionSurvey], *, now: datetime) -> list[SurveyRow]:
    english = SURVEY_TEXTS[SurveyLanguage.ENGLISH].rating_labels
    rows = []
    for survey in surveys:
        state = survey.state_at(now)
        rows.append(
            SurveyRow(
                survey=survey,
                state=state,
                state_label=str(state.label),
                language_label=str(LANGUAGE_LABELS.get(survey.language, survey.language)),
                sent_by=user_label(survey.created_by) if survey.created_by else "someone since removed",
                rating_label=english[survey.rating - 1] if survey.rating else "",
            )
        )
    return rows


def survey_card(
    incident: Incident,
    surveys: Sequence[SatisfactionSurvey],
    *,
    now: datetime,
    next_language: str | None,
    expiry_days: int,
) -> SurveyCard | None:
    """None while an incident is open and was never surveyed (the page shows no card). `next_language`
    is None when the viewer may not send a survey for it now."""
    if incident.is_open and not surveys:
        return None
    return SurveyCard(
        rows=survey_rows(surveys, now=now),
        may_send=next_language is not None,
        language_label=str(LANGUAGE_LABELS.get(next_language or "", "")),
        expiry_days=expiry_days,
    )
