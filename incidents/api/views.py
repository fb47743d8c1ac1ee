"""REST endpoints for incidents, categories and mention intake. Views parse, call a service or a
selector, and shape the answer; the rules live in services and policies."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import error_body
from config.errors import NotFound, PermissionRefused, ValidationFailed
from config.throttles import IntakePerAddressThrottle, IntakePerTokenThrottle
from incidents import policies, selectors
from incidents.api import serializers as s
from incidents.api.pagination import KeysetPagination
from incidents.checklist_selectors import Checklist, incident_checklist
from incidents.clock_selectors import incident_get_with_clocks
from incidents.filters import IncidentFilter
from incidents.models import Incident
from incidents.services import incidents as incident_services
from incidents.services import merge as merge_services
from incidents.services.checklists import incident_checklist_answer
from incidents.services.ingestion import mentions_ingest
from protocols.models import Category, IntakeSource
from protocols.selectors import category_list

ERRORS = {
    400: OpenApiResponse(s.ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(s.ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(s.ErrorResponse, description="Your role does not allow this."),
}
NOT_FOUND = {404: OpenApiResponse(s.ErrorResponse, description="No such incident.")}
CONFLICT = {
    409: OpenApiResponse(s.ErrorResponse, description="Someone else changed it first; nothing changed.")
}


def _detail(request: Request, incident_id: int) -> Response:
    incident = incident_get_with_clocks(user=request.user, incident_id=incident_id)
    # One "now" for the whole answer, so every clock's time left is measured from the same moment.
    context = {"request": request, "now": timezone.now()}
    return Response(s.IncidentDetailSerializer(incident, context=context).data)


def _checklist_body(checklist: Checklist | None) -> dict[str, Any]:
    if checklist is None:
        return {
            "applies": False,
            "answered_count": 0,
            "required_count": 0,
            "is_complete": True,
            "questions": [],
        }
    return {
        "applies": True,
        "answered_count": checklist.answered_count,
        "required_count": checklist.required_count,
        "is_complete": checklist.is_complete,
        "questions": checklist.items,
    }


@extend_schema_view(
    list=extend_schema(
        summary="List incidents (the triage queue)", responses={200: s.IncidentListSerializer, **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One incident with its response-time clocks, mentions and timeline",
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.IncidentListSerializer
    filterset_class = IncidentFilter
    pagination_class = KeysetPagination
    queryset = Incident.objects.none()
    action_permissions = {
        "list": "incident.view",
        "retrieve": "incident.view",
        "create": "incident.create",
        "assign": "incident.assign_self",  # assigning to others is checked again by the service
        "categorize": "incident.categorize",
        "prioritize": "incident.prioritize",
        "resolve": "incident.resolve",
        "reopen": "incident.reopen",
        "respond": "incident.respond",
        "acknowledge": "incident.acknowledge",
        "bulk_assign": "incident.assign_self",
        "bulk_categorize": "incident.categorize",
        "similar": "incident.view",
        "merge": "incident.merge",
        # reading it needs incident.view; answering checks incident.identify in the service (403)
        "checklist": "incident.view",
    }

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_base(user=self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _detail(request, self._incident_id())

    def _incident_id(self) -> int:
        raw = self.kwargs["pk"]
        if not str(raw).isdigit():
            raise ValidationFailed("id: Must be a whole number.")
        return int(raw)

    def _input(self, serializer_class: type[Any]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Open an incident by hand",
        request=s.IncidentCreateInput,
        responses={201: s.IncidentDetailSerializer, **ERRORS},
    )
    def create(self, request: Request) -> Response:
        data = self._input(s.IncidentCreateInput)
        incident = incident_services.incident_create(actor=request.user, **data)
        response = _detail(request, incident.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(
        summary="Assign (or unassign with null)",
        request=s.AssignInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
        examples=[OpenApiExample("Assign", value={"assignee": 7}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        data = self._input(s.AssignInput)
        incident_services.incident_assign(
            actor=request.user, incident_id=self._incident_id(), assignee=data["assignee"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Set the category",
        request=s.CategorizeInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def categorize(self, request: Request, pk: str) -> Response:
        data = self._input(s.CategorizeInput)
        incident_services.incident_categorize(
            actor=request.user, incident_id=self._incident_id(), category=data["category"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Set the priority",
        request=s.PriorityInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def prioritize(self, request: Request, pk: str) -> Response:
        data = self._input(s.PriorityInput)
        incident_services.incident_set_priority(
            actor=request.user, incident_id=self._incident_id(), priority=data["priority"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Resolve",
        request=s.NoteInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        data = self._input(s.NoteInput)
        incident_services.incident_resolve(
            actor=request.user, incident_id=self._incident_id(), note=data["note"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Reopen a resolved incident",
        request=s.NoteInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        data = self._input(s.NoteInput)
        incident_services.incident_reopen(
            actor=request.user, incident_id=self._incident_id(), note=data["note"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Record that the team answered the customer",
        description=(
            "Meets the first-response target (the first time) and any running next-response target, and "
            "stops the escalation steps still pending. A new or triaged incident moves to in progress."
        ),
        request=s.NoteInput,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
        examples=[OpenApiExample("Replied", value={"note": "Answered on X"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def respond(self, request: Request, pk: str) -> Response:
        data = self._input(s.NoteInput)
        incident_services.incident_respond(
            actor=request.user, incident_id=self._incident_id(), note=data["note"]
        )
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Acknowledge: someone has it in hand",
        description=(
            "Cancels the escalation steps still pending on the incident's clocks; the targets keep running. "
            "The body is ignored."
        ),
        request=None,
        responses={200: s.IncidentDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        incident_services.incident_acknowledge(actor=request.user, incident_id=self._incident_id())
        return _detail(request, self._incident_id())

    @extend_schema(
        summary="Possible duplicates: open incidents with a shared product and a similar title",
        responses={200: s.SimilarIncidentSerializer(many=True), **ERRORS, **NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=None)  # a short list, not pages
    def similar(self, request: Request, pk: str) -> Response:
        similar = selectors.incident_similar(user=request.user, incident_id=self._incident_id())
        return Response(s.SimilarIncidentSerializer(similar, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Merge this incident (a duplicate) into another",
        description=(
            "Moves its mentions and replies into `into`, closes it as merged, stops its targets; the "
            "survivor's first-response and resolution clocks count from the earlier start of the two. "
            "Undo within a day with `POST /api/v1/merges/{id}/undo/`."
        ),
        request=s.MergeInput,
        responses={201: s.IncidentMergeSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
        examples=[OpenApiExample("Merge", value={"into": 42}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        data = self._input(s.MergeInput)
        merge = merge_services.incident_merge(
            actor=request.user, source_id=self._incident_id(), target_id=data["into"]
        )
        return Response(s.IncidentMergeSerializer(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary='The "Identify the problem" checklist with its answers',
        responses={200: s.ChecklistSerializer, **ERRORS, **NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary="Answer (or change the answer to) one checklist question",
        description=(
            "The value must fit the question's kind: `true`/`false` for yes/no, one of `choices`, "
            "non-empty text, an ISO 8601 moment (no offset means the server's time zone) or a number. "
            "Each answer or change is recorded on the timeline with the value before and after. "
            "409 when the incident's category has no such question. Needs the incident.identify action."
        ),
        request=s.ChecklistAnswerInput,
        responses={200: s.ChecklistSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
        examples=[OpenApiExample("Answer", value={"question": 3, "value": "Contractor"}, request_only=True)],
    )
    @action(detail=True, methods=["get", "post"])
    def checklist(self, request: Request, pk: str) -> Response:
        incident_id = self._incident_id()
        if request.method == "POST":
            # Refuse a role that may not answer before looking at what it sent.
            if not policies.can(user=request.user, action="incident.identify"):
                raise PermissionRefused("Your role does not allow answering the checklist.")
            data = self._input(s.ChecklistAnswerInput)
            incident_checklist_answer(
                actor=request.user, incident_id=incident_id, question_id=data["question"], value=data["value"]
            )
        incident = self.get_queryset().filter(pk=incident_id).first()
        if incident is None:
            raise NotFound("Incident not found.")
        checklist = incident_checklist(incident_id=incident.pk, category=incident.category)
        return Response(s.ChecklistSerializer(_checklist_body(checklist)).data)

    @extend_schema(
        summary="Assign many incidents at once (up to 200)",
        request=s.BulkInput,
        responses={200: s.BulkResult, **ERRORS, **NOT_FOUND},
    )
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request: Request) -> Response:
        data = self._input(s.BulkInput)
        if "assignee" not in data:
            raise ValidationFailed("assignee: This field is required.", fields={"assignee": ["Required."]})
        changed = incident_services.incidents_bulk_assign(
            actor=request.user, incident_ids=data["incidents"], assignee=data["assignee"]
        )
        return Response({"changed": changed})

    @extend_schema(
        summary="Categorise many incidents at once (up to 200)",
        request=s.BulkInput,
        responses={200: s.BulkResult, **ERRORS, **NOT_FOUND},
    )
    @action(detail=False, methods=["post"], url_path="bulk-categorize")
    def bulk_categorize(self, request: Request) -> Response:
        data = self._input(s.BulkInput)
        if "category" not in data:
            raise ValidationFailed("category: This field is required.", fields={"category": ["Required."]})
        changed = incident_services.incidents_bulk_categorize(
            actor=request.user, incident_ids=data["incidents"], category=data["category"]
        )
        return Response({"changed": changed})


class MergeUndoView(APIView):
    action_permissions = {"post": "incident.merge"}

    @extend_schema(
        summary="Undo a merge (within a day)",
        description="Moves back exactly what the merge moved and reopens the duplicate. The body is ignored.",
        request=None,
        responses={
            200: s.IncidentMergeSerializer,
            **ERRORS,
            404: OpenApiResponse(s.ErrorResponse, description="No such merge."),
            409: OpenApiResponse(s.ErrorResponse, description="Already undone, too late, or changed since."),
        },
    )
    def post(self, request: Request, merge_id: int) -> Response:
        merge = merge_services.incident_merge_undo(actor=request.user, merge_id=merge_id)
        return Response(s.IncidentMergeSerializer(merge).data)


@extend_schema_view(
    list=extend_schema(
        summary="Active incident categories", responses={200: s.CategorySerializer(many=True), **ERRORS}
    )
)
class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.CategorySerializer
    pagination_class = None
    filter_backends: list[Any] = []
    action_permissions = {"list": "category.view"}

    def get_queryset(self) -> QuerySet[Category]:
        return category_list()


def _read_json_body(request: Any) -> Any:
    """Reads the raw body with the limits spelled out, so every failure is a JSON 4xx."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > limit:
        raise _TooLarge()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _TooLarge() from None
    if len(body) > limit:
        raise _TooLarge()
    content_type = request.META.get("CONTENT_TYPE", "")
    if not content_type.split(";")[0].strip().lower() == "application/json":
        raise ValidationFailed("Content-Type must be application/json.", code="unsupported_media_type")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"Body is not valid UTF-8 (byte {exc.start}).", code="invalid_encoding"
        ) from None
    try:
        return json.loads(text), body
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.", code="malformed_json"
        ) from None


class _TooLarge(Exception):
    pass


def _ingest_response(payload: Any, *, actor: Any, actor_label: str) -> Response:
    batch_max = settings.FIREBREAK_MENTION_BATCH_MAX
    if isinstance(payload, list):
        if not payload:
            raise ValidationFailed(
                "Send one mention object or a list of 1 to 500.", fields={"non_field_errors": ["Empty list."]}
            )
        if len(payload) > batch_max:
            raise ValidationFailed(
                f"A batch holds at most {batch_max} mentions (got {len(payload)}).",
                fields={"non_field_errors": [f"At most {batch_max} items."]},
                code="batch_too_large",
            )
        results = mentions_ingest(items=payload, actor=actor, actor_label=actor_label)
        counts = {"created": 0, "duplicate": 0, "invalid": 0}
        for result in results:
            counts[result.status] += 1
        return Response({**counts, "results": [r.as_dict() for r in results]}, status=status.HTTP_200_OK)
    if not isinstance(payload, dict):
        raise ValidationFailed("Send one mention object or a list of them.")
    (result,) = mentions_ingest(items=[payload], actor=actor, actor_label=actor_label)
    if result.status == "invalid":
        errors = result.errors or {}
        field, problem = next(iter(errors.items()))
        return Response(
            error_body("invalid", f"{field}: {problem}", {k: [v] for k, v in errors.items()}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    body = result.as_dict()
    body.pop("index")
    return Response(
        body, status=status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
    )


def _too_large_response() -> Response:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return Response(
        error_body("too_large", f"Request body is larger than {limit} bytes."),
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


INTAKE_DESCRIPTION = (
    "Send one mention object, or a JSON list of up to 500. A mention already stored (same platform and "
    "external_id) is not an error: it answers `duplicate` with the existing ids. A list answers per item; "
    "an invalid item never blocks the others. Single mention: 201 created, 200 duplicate, 400 invalid."
)


INGEST_OK = PolymorphicProxySerializer(
    component_name="IngestOk",
    serializers=[s.IngestBatchResult, s.IngestSingleResult],
    resource_type_field_name=None,
)
RATE_LIMITED = OpenApiResponse(
    s.ErrorResponse,
    description=(
        "Over the rate limit (per token and per client address, requests per minute): `code` `throttled`; "
        "the `Retry-After` header gives the seconds to wait."
    ),
)


class MentionIntakeView(APIView):
    action_permissions = {"post": "mention.ingest"}
    throttle_classes = [IntakePerTokenThrottle, IntakePerAddressThrottle]

    @extend_schema(
        summary="Push mentions in",
        description=INTAKE_DESCRIPTION,
        request=PolymorphicProxySerializer(
            component_name="MentionIntake",
            serializers=[s.MentionInputDoc(), s.MentionInputDoc(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: OpenApiResponse(s.IngestSingleResult, description="Single mention stored."),
            200: OpenApiResponse(INGEST_OK, description="Batch result, or a single duplicate."),
            413: OpenApiResponse(s.ErrorResponse, description="Body over 1 MiB."),
            429: RATE_LIMITED,
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "One mention",
                request_only=True,
                value={
                    "platform": "x",
                    "external_id": "1790000000001",
                    "url": "https://x.com/ana/status/1790000000001",
                    "author_handle": "ana",
                    "text": "My order #4411 arrived broken and nobody answers.",
                    "posted_at": "2026-11-22T09:30:00Z",
                    "products": ["blender-x2"],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        try:
            payload, _ = _read_json_body(request._request)
        except _TooLarge:
            return _too_large_response()
        label = f"api:{request.user.get_username()}"
        return _ingest_response(payload, actor=request.user, actor_label=label)


SIGNATURE_HEADER = "HTTP_X_FIREBREAK_SIGNATURE"
TIMESTAMP_HEADER = "HTTP_X_FIREBREAK_TIMESTAMP"
SOURCE_HEADER = "HTTP_X_FIREBREAK_SOURCE"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `<timestamp>.<raw body>` with the source's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class MentionWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []  # authenticated by the HMAC signature below instead
    throttle_classes = [IntakePerAddressThrottle]

    @extend_schema(
        summary="Signed webhook intake for social listening tools",
        description=(
            INTAKE_DESCRIPTION
            + " Headers: `X-Firebreak-Source` (the source's slug), `X-Firebreak-Timestamp` (Unix seconds), "
            "`X-Firebreak-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' with the source's "
            "secret>`. Requests more than 5 minutes old (or ahead) or with a bad signature get 401 and "
            "store nothing."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Firebreak-Source", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Firebreak-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Firebreak-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            201: OpenApiResponse(s.IngestSingleResult, description="Single mention stored."),
            200: OpenApiResponse(INGEST_OK, description="Batch result, or a single duplicate."),
            400: ERRORS[400],
            401: ERRORS[401],
            413: OpenApiResponse(s.ErrorResponse, description="Body over 1 MiB."),
            429: RATE_LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        raw_request = request._request
        meta = raw_request.META
        source = IntakeSource.objects.filter(slug=meta.get(SOURCE_HEADER, ""), is_active=True).first()
        timestamp = meta.get(TIMESTAMP_HEADER, "")
        signature = meta.get(SIGNATURE_HEADER, "")
        if source is None or not timestamp or not signature:
            return _unauthorized("Missing or unknown X-Firebreak-Source, timestamp or signature.")
        if (
            not timestamp.isdigit()
            or abs(time.time() - int(timestamp)) > settings.FIREBREAK_WEBHOOK_MAX_AGE_SECONDS
        ):
            return _unauthorized("Timestamp is outside the 5-minute replay window.")
        try:
            body = raw_request.body
        except RequestDataTooBig:
            return _too_large_response()
        expected = webhook_signature(source.secret, timestamp, body)
        if not hmac.compare_digest(expected, signature):
            return _unauthorized("Signature does not match.")
        try:
            payload, _ = _read_json_body(raw_request)
        except _TooLarge:
            return _too_large_response()
        return _ingest_response(payload, actor=None, actor_label=f"webhook:{source.slug}")


def _unauthorized(message: str) -> Response:
    return Response(error_body("not_authenticated", message), status=status.HTTP_401_UNAUTHORIZED)
