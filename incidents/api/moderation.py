"""REST endpoint for moderating a mention under the community guidelines: hide, remove, report to the
platform or the police, block the author; hide and remove capture the mention as evidence first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ValidationFailed
from incidents.api import serializers as s
from incidents.models import ModerationOutcome
from incidents.services import moderation as services
from protocols.models import ModerationActionKind


class ModerationInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ModerationActionKind.choices)
    rule = serializers.IntegerField(help_text="The id of the active community-guidelines rule applied.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ModerationActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mention_id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=ModerationActionKind.choices)
    rule_id = serializers.IntegerField()
    actor = serializers.CharField(source="actor_label")
    note = serializers.CharField()
    at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=ModerationOutcome.choices)
    outcome_detail = serializers.CharField()
    evidence_id = serializers.IntegerField(allow_null=True)


class MentionModerateView(APIView):
    action_permissions = {"post": "mention.moderate"}

    @extend_schema(
        summary="Moderate a mention",
        description=(
            "Records the action under a rule of the community guidelines. Hide and remove capture the "
            "mention as evidence first. A webhook account's bridge is asked to do it after the request "
            "commits: the answer says `pending`, and the action's outcome becomes `performed` or `failed` "
            "(retried with backoff on timeouts, 429 and 5xx; each POST carries `Idempotency-Key: "
            "firebreak-moderation-<id>`); other accounts get `recorded_only`: do it on the platform by hand."
        ),
        request=ModerationInputSerializer,
        responses={
            201: ModerationActionSerializer,
            400: OpenApiResponse(s.ErrorResponse, description="A bad action or rule; `fields` names it."),
            401: OpenApiResponse(s.ErrorResponse, description="Missing or invalid credentials."),
            403: OpenApiResponse(s.ErrorResponse, description="Your role does not allow this."),
            404: OpenApiResponse(s.ErrorResponse, description="No such mention."),
            409: OpenApiResponse(s.ErrorResponse, description="Already done to this mention."),
        },
    )
    def post(self, request: Request, mention_id: int) -> Response:
        form = ModerationInputSerializer(data=request.data)
        if not form.is_valid():
            fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
            raise ValidationFailed(f"{', '.join(fields)}: invalid.", fields=fields)
        data = form.validated_data
        row = services.mention_moderate(
            actor=request.user,
            mention_id=mention_id,
            action=data["action"],
            rule_id=data["rule"],
            note=data["note"],
        )
        return Response(ModerationActionSerializer(row).data, status=status.HTTP_201_CREATED)
