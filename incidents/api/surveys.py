"""REST endpoints for customer-satisfaction surveys: an incident's surveys with their state and answer,
and sending a new one once the incident is resolved (its invitation is drafted as a reply)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api import serializers as s
from incidents.models import SatisfactionSurvey, SurveyLanguage, SurveyState
from incidents.services import surveys as services
from incidents.survey_selectors import survey_list

ERRORS = {
    401: OpenApiResponse(s.ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(s.ErrorResponse, description="Your role does not allow this."),
    404: OpenApiResponse(s.ErrorResponse, description="No such incident."),
}


class SurveySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident_id = serializers.IntegerField()
    state = serializers.SerializerMethodField(
        help_text="waiting (the link works), answered, or expired (unanswered and past expires_at)."
    )
    language = serializers.ChoiceField(choices=SurveyLanguage.choices)
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    rating = serializers.IntegerField(allow_null=True, min_value=1, max_value=5)
    comment = serializers.CharField()
    reply_id = serializers.IntegerField(allow_null=True, help_text="The drafted reply that carries the link.")
    url = serializers.SerializerMethodField(help_text="The customer's link: no sign-in, works once.")

    @extend_schema_field(serializers.ChoiceField(choices=SurveyState.choices))
    def get_state(self, survey: SatisfactionSurvey) -> str:
        return str(survey.state_at(self.context["now"]).value)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, survey: SatisfactionSurvey) -> str | None:
        return survey.created_by.get_username() if survey.created_by else None

    def get_url(self, survey: SatisfactionSurvey) -> str:
        return services.survey_url(survey_id=survey.pk)


class IncidentSurveysView(APIView):
    action_permissions = {"get": "survey.view", "post": "survey.send"}

    @extend_schema(
        summary="An incident's satisfaction surveys",
        description="Newest first, each with its state and, once answered, the rating (1-5) and comment.",
        responses={200: SurveySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, id: int) -> Response:
        surveys = survey_list(user=request.user, incident_id=id)
        return Response(SurveySerializer(surveys, many=True, context={"now": timezone.now()}).data)

    @extend_schema(
        summary="Send a satisfaction survey",
        description=(
            "Only for a resolved or closed incident. Creates the survey (its link works once, for "
            "FIREBREAK_SURVEY_EXPIRY_DAYS) and drafts a reply inviting the customer, in the language of "
            "their latest mention (English, Swedish or Croatian; else English). Publish that reply to "
            "send the link. The body is ignored."
        ),
        request=None,
        responses={
            201: SurveySerializer,
            **ERRORS,
            409: OpenApiResponse(
                s.ErrorResponse, description="The incident is not resolved (or was merged); nothing stored."
            ),
        },
    )
    def post(self, request: Request, id: int) -> Response:
        survey = services.survey_send(actor=request.user, incident_id=id)
        body = SurveySerializer(survey, context={"now": timezone.now()}).data
        return Response(body, status=status.HTTP_201_CREATED)
