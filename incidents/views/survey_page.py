"""The customer's survey page at /survey/<token>/: no sign-in, the customer's language, nothing of the team
shown but the brand's name and no link into the app. A token answers once; every other outcome (used,
expired, tampered, garbage input) is a polite page that changes nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.errors import Conflict, NotFound
from incidents.models import SatisfactionSurvey, SurveyState
from incidents.models.surveys import COMMENT_MAX, RATING_MAX, RATING_MIN
from incidents.services import surveys as services
from incidents.survey_selectors import survey_for_customer
from incidents.survey_texts import SURVEY_TEXTS, SurveyTexts, language_from_accept


class CommentField(forms.CharField):
    def to_python(self, value: Any) -> str:
        # Browsers send a textarea's line breaks as CRLF; its maxlength counted each as one character.
        return str(super().to_python(value)).replace("\r\n", "\n")


class SurveyAnswerForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(RATING_MIN, RATING_MAX + 1)], coerce=int
    )
    comment = CommentField(required=False, max_length=COMMENT_MAX)

    def __init__(self, *args: Any, texts: SurveyTexts, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].error_messages.update(
            required=texts.error_rating, invalid_choice=texts.error_rating
        )
        self.fields["comment"].error_messages.update(
            max_length=texts.error_comment, null_characters_not_allowed=texts.error_comment
        )


# Outcome pages: which texts, and the status each answers with.
OUTCOMES = {
    "thanks": ("thanks_title", "thanks_body"),
    "answered": ("answered_title", "answered_body"),
    "expired": ("expired_title", "expired_body"),
    "missing": ("missing_title", "missing_body"),
}


def _respond(request: HttpRequest, template: str, context: dict[str, Any], *, status: int) -> HttpResponse:
    language = context["language"]
    response = render(
        request,
        template,
        {**context, "t": SURVEY_TEXTS[language], "brand": settings.FIREBREAK_BRAND_NAME},
        status=status,
    )
    response["Content-Language"] = language
    # The token is the whole credential: never sent onwards, never indexed, never cached.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _outcome(request: HttpRequest, outcome: str, language: str, *, status: int) -> HttpResponse:
    title, body = OUTCOMES[outcome]
    texts = SURVEY_TEXTS[language]
    context = {
        "language": language,
        "outcome": outcome,
        "title": getattr(texts, title),
        "body": getattr(texts, body),
    }
    return _respond(request, "incidents/survey/outcome.html", context, status=status)


def _form(
    request: HttpRequest, survey: SatisfactionSurvey, form: SurveyAnswerForm, *, status: int
) -> HttpResponse:
    texts = SURVEY_TEXTS[survey.language]
    chosen = form.data.get("rating", "") if form.is_bound else ""
    context = {
        "language": survey.language,
        "form": form,
        "errors": [str(e) for errors in form.errors.values() for e in errors] if form.is_bound else [],
        "scale": [(str(n), label) for n, label in enumerate(texts.rating_labels, start=RATING_MIN)],
        "chosen": chosen if isinstance(chosen, str) else "",
        "comment": form.data.get("comment", "") if form.is_bound else "",
        "comment_max": COMMENT_MAX,
    }
    return _respond(request, "incidents/survey/form.html", context, status=status)


# No CSRF cookie: the signed token in the address is the only credential (there is no session to
# ride), so a forged post needs the token anyway, and the customer's browser is asked to keep nothing.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    survey_id = services.survey_id_from_token(token=token)
    survey = survey_for_customer(survey_id=survey_id) if survey_id is not None else None
    if survey is None:
        return _outcome(
            request, "missing", language_from_accept(request.headers.get("Accept-Language", "")), status=404
        )
    state = survey.state_at(timezone.now())
    if state == SurveyState.ANSWERED:
        return _outcome(request, "answered", survey.language, status=200 if request.method == "GET" else 409)
    if state == SurveyState.EXPIRED:
        return _outcome(request, "expired", survey.language, status=410)
    texts = SURVEY_TEXTS[survey.language]
    if request.method == "GET":
        return _form(request, survey, SurveyAnswerForm(texts=texts), status=200)
    form = SurveyAnswerForm(request.POST, texts=texts)
    if not form.is_valid():
        return _form(request, survey, form, status=400)
    try:
        services.survey_answer(
            survey_id=survey.pk, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
        )
    except Conflict as refused:  # answered or expired between reading the survey and answering it
        if refused.code == "survey_answered":
            return _outcome(request, "answered", survey.language, status=409)
        return _outcome(request, "expired", survey.language, status=410)
    except NotFound:  # its incident was deleted in the meantime
        return _outcome(request, "missing", survey.language, status=404)
    return _outcome(request, "thanks", survey.language, status=200)
