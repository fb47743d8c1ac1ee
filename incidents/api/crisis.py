"""REST endpoints for crisis mode: read whether it is on, switch it on, renew it, end it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.permissions import ActionPermission
from incidents.api.serializers import ErrorResponse
from incidents.models import CrisisMode
from incidents.services import crisis as crisis_services
from protocols.models import Role

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    403: OpenApiResponse(ErrorResponse, description="Only managers (and admins) switch crisis mode."),
    409: OpenApiResponse(ErrorResponse, description="Already on (start) or not on (renew, end)."),
}


class CrisisSerializer(serializers.ModelSerializer):
    class Meta:
        model = CrisisMode
        fields = [
            "id",
            "incident",
            "reason",
            "started_by",
            "started_at",
            "expires_at",
            "publisher_roles",
            "stay_silent",
            "holding_template_id",
            "holding_template_name",
            "status_update_minutes",
            "ended_at",
            "ended_by",
            "end_reason",
        ]


class CrisisStateSerializer(serializers.Serializer):
    on = serializers.BooleanField()
    crisis = CrisisSerializer(allow_null=True)


class CrisisStartInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    incident = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The incident it is about; empty opens a critical 'Crisis: <reason>' incident.",
    )
    hours = serializers.IntegerField(min_value=1, max_value=crisis_services.MAX_HOURS, default=24)
    stay_silent = serializers.BooleanField(default=False)
    publisher_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices),
        required=False,
        default=None,
        allow_null=True,
        help_text="Who may still publish (default: spokesperson and PR).",
    )
    holding_template = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    status_update_minutes = serializers.IntegerField(min_value=5, max_value=24 * 60, default=60)


class RenewInput(serializers.Serializer):
    hours = serializers.IntegerField(min_value=1, max_value=crisis_services.MAX_HOURS, default=24)


class EndInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _state() -> Response:
    current = crisis_services.crisis_current()
    return Response(
        {"on": current is not None, "crisis": CrisisSerializer(current).data if current else None}
    )


def _input(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CrisisView(APIView):
    permission_classes = [ActionPermission]
    action_permissions = {"get": "crisis.view", "post": "crisis.manage"}

    @extend_schema(summary="Is crisis mode on?", responses={200: CrisisStateSerializer})
    def get(self, request: Request) -> Response:
        return _state()

    @extend_schema(
        summary="Switch crisis mode on",
        description="While on, only the publisher roles may publish, every reply needs the full approval "
        "chain, and with `stay_silent` only the holding statement may be published. It ends at expiry "
        "or by hand.",
        request=CrisisStartInput,
        responses={201: CrisisStateSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _input(request, CrisisStartInput)
        crisis_services.crisis_start(
            actor=request.user,
            reason=data["reason"],
            incident_id=data["incident"],
            hours=data["hours"],
            stay_silent=data["stay_silent"],
            publisher_roles=data["publisher_roles"],
            holding_template_id=data["holding_template"],
            status_update_minutes=data["status_update_minutes"],
        )
        response = _state()
        response.status_code = status.HTTP_201_CREATED
        return response


class CrisisRenewView(APIView):
    permission_classes = [ActionPermission]
    action_permissions = {"post": "crisis.manage"}

    @extend_schema(
        summary="Renew crisis mode (expiry = now + hours)",
        request=RenewInput,
        responses={200: CrisisStateSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        crisis_services.crisis_renew(actor=request.user, hours=_input(request, RenewInput)["hours"])
        return _state()


class CrisisEndView(APIView):
    permission_classes = [ActionPermission]
    action_permissions = {"post": "crisis.manage"}

    @extend_schema(
        summary="End crisis mode", request=EndInput, responses={200: CrisisStateSerializer, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        crisis_services.crisis_end(actor=request.user, reason=_input(request, EndInput)["reason"])
        return _state()
