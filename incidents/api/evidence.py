"""REST endpoints for evidence: capture a mention (multipart, with optional screenshots), read a
capture, put it on legal hold or release it, export it as a zip, delete it when not held."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.parsers import StrictJSONParser
from incidents.api import serializers as s
from incidents.evidence_selectors import evidence_get, evidence_with_items
from incidents.models import EvidenceCapture
from incidents.services import evidence as services

ERRORS = {
    401: OpenApiResponse(s.ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(s.ErrorResponse, description="Your role does not allow this."),
    404: OpenApiResponse(s.ErrorResponse, description="No such evidence (or mention)."),
}


class EvidenceItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()


class EvidenceCaptureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mention_id = serializers.IntegerField()
    incident_id = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    captured_by = serializers.CharField(source="captured_by_label")
    captured_at = serializers.DateTimeField()
    sha256 = serializers.CharField()
    is_held = serializers.BooleanField()
    hold_changed_at = serializers.DateTimeField(allow_null=True)
    hold_changed_by = serializers.CharField(source="hold_changed_by_label")
    items = EvidenceItemSerializer(many=True)


class EvidenceCaptureInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    screenshots = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="PNG, JPEG or WebP images."
    )


def _body(capture: EvidenceCapture) -> dict[str, Any]:
    """The answer to a service call, which already checked the actor's role for what it did."""
    return dict(EvidenceCaptureSerializer(evidence_with_items(capture_id=capture.pk)).data)


class EvidenceCaptureView(APIView):
    action_permissions = {"post": "evidence.capture"}
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]

    @extend_schema(
        summary="Capture a mention as evidence",
        description=(
            "Stores the mention's text, author, URL, timestamps and raw payload, plus optional "
            "screenshots (PNG, JPEG or WebP, each at most FIREBREAK_EVIDENCE_MAX_BYTES), with the "
            "SHA-256 of each item and of the whole capture. A bad upload stores nothing (400)."
        ),
        request={"multipart/form-data": EvidenceCaptureInputSerializer},
        responses={
            201: EvidenceCaptureSerializer,
            400: OpenApiResponse(s.ErrorResponse, description="A bad upload; `fields` names it."),
            **ERRORS,
        },
    )
    def post(self, request: Request, mention_id: int) -> Response:
        note = request.data.get("note", "") if hasattr(request.data, "get") else ""
        screenshots = request.FILES.getlist("screenshots") or request.FILES.getlist("screenshots[]")
        capture = services.evidence_capture(
            actor=request.user,
            mention_id=mention_id,
            note=note if isinstance(note, str) else "",
            screenshots=screenshots,
        )
        return Response(_body(capture), status=status.HTTP_201_CREATED)


class EvidenceDetailView(APIView):
    action_permissions = {"get": "evidence.view", "delete": "evidence.delete"}

    @extend_schema(
        summary="Read a capture and its hashes", responses={200: EvidenceCaptureSerializer, **ERRORS}
    )
    def get(self, request: Request, capture_id: int) -> Response:
        capture = evidence_get(user=request.user, capture_id=capture_id)
        return Response(EvidenceCaptureSerializer(capture).data)

    @extend_schema(
        summary="Delete a capture that is not on legal hold",
        responses={
            204: None,
            **ERRORS,
            409: OpenApiResponse(s.ErrorResponse, description="On legal hold; nothing was deleted."),
        },
    )
    def delete(self, request: Request, capture_id: int) -> Response:
        services.evidence_delete(actor=request.user, capture_id=capture_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EvidenceHoldView(APIView):
    action_permissions = {"post": "evidence.hold"}

    @extend_schema(
        summary="Put a capture on legal hold",
        request=None,
        responses={
            200: EvidenceCaptureSerializer,
            **ERRORS,
            409: OpenApiResponse(s.ErrorResponse, description="Already on hold."),
        },
    )
    def post(self, request: Request, capture_id: int) -> Response:
        capture = services.evidence_hold(actor=request.user, capture_id=capture_id)
        return Response(_body(capture))


class EvidenceReleaseView(APIView):
    action_permissions = {"post": "evidence.hold"}

    @extend_schema(
        summary="Release a capture's legal hold",
        request=None,
        responses={
            200: EvidenceCaptureSerializer,
            **ERRORS,
            409: OpenApiResponse(s.ErrorResponse, description="Not on hold."),
        },
    )
    def post(self, request: Request, capture_id: int) -> Response:
        capture = services.evidence_release(actor=request.user, capture_id=capture_id)
        return Response(_body(capture))


class EvidenceExportView(APIView):
    action_permissions = {"get": "evidence.view"}

    @extend_schema(
        summary="Export a capture as a zip",
        description="The items as files, `manifest.json` (names, SHA-256s, capture hash) and `SHA256SUMS`.",
        responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS},
    )
    def get(self, request: Request, capture_id: int) -> HttpResponse:
        data = services.evidence_export(actor=request.user, capture_id=capture_id)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="evidence-{capture_id}.zip"'
        return response
