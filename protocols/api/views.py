"""REST endpoints for SLA policies, business calendars (with a holiday import from iCalendar files) and
escalation chains. Team roles read; only admins write, and every write goes through a service."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ValidationFailed
from incidents.api.serializers import ErrorResponse
from protocols import selectors, services
from protocols.api import filters
from protocols.api import serializers as s
from protocols.models import BusinessCalendar, EscalationChain, SlaPolicy
from protocols.sla_checks import HolidayDay, OpeningSpan, StepSpec

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorResponse, description="Your role does not allow this (writes: admins only)."),
}
NOT_FOUND = {404: OpenApiResponse(ErrorResponse, description="No such object.")}
IN_USE = {409: OpenApiResponse(ErrorResponse, description="An SLA policy uses it; nothing was deleted.")}
CONFLICT = {409: OpenApiResponse(ErrorResponse, description="A concurrent save got there first.")}
READ_WRITE = {
    "list": "sla.view",
    "retrieve": "sla.view",
    "create": "sla.manage",
    "update": "sla.manage",
    "partial_update": "sla.manage",
    "destroy": "sla.manage",
}


class ByNamePagination(CursorPagination):
    ordering = "name"  # unique on every model here, so the cursor never skips or repeats a row
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ICalendarParser(BaseParser):
    """A raw `text/calendar` body, handed on as bytes (holidays_from_ical reads it)."""

    media_type = "text/calendar"

    # The stubs expect a mapping; DRF itself hands on whatever a parser returns as request.data.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        if stream is None:
            return b""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data: bytes = stream.read(limit + 1)
        if len(data) > limit:
            raise ParseError(f"The calendar file is larger than {limit} bytes.")
        return data


def _id(raw: Any) -> int:
    if not str(raw).isdigit():
        raise ValidationFailed("id: Must be a whole number.", fields={"id": ["Must be a whole number."]})
    return int(raw)


# Reads go through a selector; each subclass's create/update/destroy calls a service.
class _PlanViewSet(viewsets.ModelViewSet):
    pagination_class = ByNamePagination
    action_permissions = READ_WRITE
    input_class: type[Any]

    def _input(self, *, partial: bool = False) -> dict[str, Any]:
        serializer = self.input_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, instance: Any, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data, status=code)


@extend_schema_view(
    list=extend_schema(summary="SLA policies", responses={200: s.SlaPolicySerializer(many=True), **ERRORS}),
    retrieve=extend_schema(
        summary="One SLA policy", responses={200: s.SlaPolicySerializer, **ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create an SLA policy",
        request=s.SlaPolicyInput,
        responses={201: s.SlaPolicySerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "High priority",
                request_only=True,
                value={
                    "name": "High priority",
                    "priority": "high",
                    "first_response_minutes": 60,
                    "resolution_minutes": 1440,
                    "warn_at_percent": 75,
                },
            )
        ],
    ),
    update=extend_schema(
        summary="Replace an SLA policy",
        request=s.SlaPolicyInput,
        responses={200: s.SlaPolicySerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an SLA policy",
        request=s.SlaPolicyInput(partial=True),
        responses={200: s.SlaPolicySerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete an SLA policy (running clocks keep what they froze)",
        responses={204: None, **ERRORS, **NOT_FOUND},
    ),
)
class SlaPolicyViewSet(_PlanViewSet):
    """Response-time targets per category and priority; the most specific active policy wins. Clocks
    freeze the policy when they start, so a change applies to clocks started afterwards."""

    serializer_class = s.SlaPolicySerializer
    input_class = s.SlaPolicyInput
    filterset_class = filters.SlaPolicyFilter
    queryset = SlaPolicy.objects.none()

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return selectors.sla_policy_list()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = services.sla_policy_create(actor=request.user, **self._input())
        return self._answer(policy, code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        changes = self._input(partial=kwargs.get("partial", False))
        policy = services.sla_policy_update(actor=request.user, policy_id=_id(kwargs["pk"]), **changes)
        return self._answer(policy)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.sla_policy_delete(actor=request.user, policy_id=_id(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Business calendars", responses={200: s.BusinessCalendarSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One business calendar", responses={200: s.BusinessCalendarSerializer, **ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a business calendar with its opening hours and holidays",
        request=s.BusinessCalendarInput,
        responses={201: s.BusinessCalendarSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Office hours",
                request_only=True,
                value={
                    "name": "Stockholm office",
                    "time_zone": "Europe/Stockholm",
                    "opening_hours": [
                        {"weekday": day, "opens_at": "09:00", "closes_at": "17:00"} for day in range(5)
                    ],
                    "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
                },
            )
        ],
    ),
    update=extend_schema(
        summary="Replace a business calendar (hours and holidays as a whole)",
        request=s.BusinessCalendarInput,
        responses={200: s.BusinessCalendarSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change a business calendar; a list given replaces that list",
        request=s.BusinessCalendarInput(partial=True),
        responses={200: s.BusinessCalendarSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete a business calendar no policy uses",
        responses={204: None, **ERRORS, **NOT_FOUND, **IN_USE},
    ),
)
class BusinessCalendarViewSet(_PlanViewSet):
    """When response-time clocks run: a time zone, weekly opening hours (local time; closing at 00:00
    means midnight) and holidays. A policy without a calendar counts 24/7."""

    serializer_class = s.BusinessCalendarSerializer
    input_class = s.BusinessCalendarInput
    filterset_class = filters.BusinessCalendarFilter
    queryset = BusinessCalendar.objects.none()
    action_permissions = {**READ_WRITE, "import_holidays": "sla.manage"}

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return selectors.business_calendar_list()

    def _save(self, calendar_id: int | None, data: dict[str, Any]) -> BusinessCalendar:
        if "opening_hours" in data:
            data["opening_hours"] = [OpeningSpan(**row) for row in data["opening_hours"]]
        if "holidays" in data:
            data["holidays"] = [HolidayDay(**row) for row in data["holidays"]]
        return services.business_calendar_save(actor=self.request.user, calendar_id=calendar_id, **data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self._save(None, self._input()), code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(partial=kwargs.get("partial", False))
        return self._answer(self._save(_id(kwargs["pk"]), data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.business_calendar_delete(actor=request.user, calendar_id=_id(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Import holidays from an iCalendar (.ics) file",
        description=(
            "Send the file as multipart form data (`file`) or as a raw `text/calendar` body (up to 1 MiB). "
            "Every day an event covers becomes a holiday; days the calendar already has are skipped."
        ),
        request={"multipart/form-data": s.HolidayImportUpload, "text/calendar": OpenApiTypes.BINARY},
        responses={200: s.HolidayImportResult, **ERRORS, **NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-holidays",
        parser_classes=[MultiPartParser, ICalendarParser],
    )
    def import_holidays(self, request: Request, pk: str) -> Response:
        if isinstance(request.data, bytes):
            data = request.data
        else:
            upload = request.FILES.get("file")
            if upload is None:
                problem = "Attach the .ics file as `file`, or send it as a text/calendar body."
                raise ValidationFailed(f"file: {problem}", fields={"file": [problem]})
            if upload.size is not None and upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                problem = f"The file is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
                raise ValidationFailed(f"file: {problem}", fields={"file": [problem]})
            data = upload.read()
        result = services.business_calendar_import_holidays(
            actor=request.user, calendar_id=_id(pk), data=data
        )
        return Response(s.HolidayImportResult(result).data)


@extend_schema_view(
    list=extend_schema(
        summary="Escalation chains", responses={200: s.EscalationChainSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One escalation chain", responses={200: s.EscalationChainSerializer, **ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create an escalation chain with its ordered steps",
        request=s.EscalationChainInput,
        responses={201: s.EscalationChainSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Warn PR, then page the manager",
                request_only=True,
                value={
                    "name": "High priority",
                    "steps": [
                        {"trigger": "warning", "action": "notify_role", "role": "pr"},
                        {
                            "trigger": "breach",
                            "action": "notify_management",
                            "repeat_every_minutes": 10,
                            "repeat_times": 2,
                        },
                        {"trigger": "breach", "delay_minutes": 30, "action": "raise_priority"},
                    ],
                },
            )
        ],
    ),
    update=extend_schema(
        summary="Replace an escalation chain and all its steps",
        request=s.EscalationChainInput,
        responses={200: s.EscalationChainSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change an escalation chain; steps given replace all steps",
        request=s.EscalationChainInput(partial=True),
        responses={200: s.EscalationChainSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete an escalation chain no policy uses (running clocks keep their frozen copy)",
        responses={204: None, **ERRORS, **NOT_FOUND, **IN_USE},
    ),
)
class EscalationChainViewSet(_PlanViewSet):
    """Ordered steps run after a warning or a breach: notify a role or user, reassign, raise priority,
    notify management, open crisis mode; a step may repeat until someone acts."""

    serializer_class = s.EscalationChainSerializer
    input_class = s.EscalationChainInput
    filterset_class = filters.EscalationChainFilter
    queryset = EscalationChain.objects.none()

    def get_queryset(self) -> QuerySet[EscalationChain]:
        return selectors.escalation_chain_list()

    def _save(self, chain_id: int | None, data: dict[str, Any]) -> EscalationChain:
        if "steps" in data:
            data["steps"] = [StepSpec(**row) for row in data["steps"]]
        return services.escalation_chain_save(actor=self.request.user, chain_id=chain_id, **data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self._save(None, self._input()), code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(partial=kwargs.get("partial", False))
        return self._answer(self._save(_id(kwargs["pk"]), data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.escalation_chain_delete(actor=request.user, chain_id=_id(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)
