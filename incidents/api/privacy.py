"""REST endpoints for a customer's personal data (GDPR): export everything held about a platform
handle, and erase it. Legal and admins only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.permissions import ActionPermission
from incidents.api.serializers import ErrorResponse
from incidents.services.privacy import customer_data_erase, customer_data_export
from protocols.models import Platform

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorResponse, description="Only legal and admins handle personal data."),
}


class SubjectInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    handle = serializers.CharField(max_length=150, help_text="The customer's handle, with or without @.")


class EraseInput(SubjectInput):
    reason = serializers.CharField(max_length=2000, help_text="Why: the customer's request and its date.")


class ErasureResult(serializers.Serializer):
    request_id = serializers.IntegerField()
    pseudonym = serializers.CharField(help_text="What the handle reads as from now on.")
    mentions_found = serializers.IntegerField()
    mentions_erased = serializers.IntegerField()
    mentions_kept_on_hold = serializers.IntegerField()
    incidents_touched = serializers.IntegerField()
    evidence_deleted = serializers.IntegerField()
    kept_reason = serializers.CharField(help_text="Why anything was kept; empty when nothing was.")


class PersonalDataExportView(APIView):
    permission_classes = [ActionPermission]
    action_permissions = {"post": "personal_data.manage"}

    @extend_schema(
        summary="Export a customer's personal data",
        description="Everything held about the handle: mentions (with raw payloads), the incidents they are "
        "in, the brand's published replies there, survey answers, moderation and evidence. The request is "
        "recorded by a hash of the handle.",
        request=SubjectInput,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The export document."), **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = SubjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(customer_data_export(actor=request.user, **data.validated_data))


class PersonalDataEraseView(APIView):
    permission_classes = [ActionPermission]
    action_permissions = {"post": "personal_data.manage"}

    @extend_schema(
        summary="Erase a customer's personal data",
        description="Handle, name, text, URL and raw payload of their mentions, incident titles made from "
        "them, the handle in timeline notes and survey comments are replaced by a pseudonym; evidence "
        "captured from them is deleted. Statistics are kept, and so is everything tied to evidence on "
        "legal hold "
        "(`mentions_kept_on_hold`, `kept_reason`).",
        request=EraseInput,
        responses={
            200: ErasureResult,
            404: OpenApiResponse(ErrorResponse, description="Nothing is held about this handle."),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = EraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        erasure = customer_data_erase(actor=request.user, **data.validated_data)
        done = erasure.request
        return Response(
            {
                "request_id": done.pk,
                "pseudonym": done.pseudonym,
                "mentions_found": done.mentions_found,
                "mentions_erased": done.mentions_erased,
                "mentions_kept_on_hold": done.mentions_kept_on_hold,
                "incidents_touched": done.incidents_touched,
                "evidence_deleted": done.evidence_deleted,
                "kept_reason": erasure.kept_reason,
            }
        )
