"""REST endpoints for SLA policies, business calendars (with a holiday import from iCalendar files) and
escalation chains. Team roles read; only admins write, and every write goes through a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from config.errors import ValidationFailed
from config.pagination import CursorPages
from incidents.api.serializers import ErrorResponse
from protocols import selectors, services
from protocols.api import filters
from protocols.api import serializers as s
from protocols.models import BusinessCalendar, EscalationChain, SlaPolicy
from protocols.sla_checks import HolidayDay, OpeningSpan, StepSpec

ViewSetClass = TypeVar("ViewSetClass", bound=Callable[..., Any])
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


def crud_schema(
    *,
    noun: str,
    plural: str,
    output: type[Serializer],
    input: type[Serializer],
    example: OpenApiExample,
    create: str,
    update: str,
    partial_update: str,
    destroy: str,
    refused_when_in_use: bool = False,
    in_use: str = "",
) -> Callable[[ViewSetClass], ViewSetClass]:
    """The schema of a ModelViewSet's six actions: `noun`/`plural` name the one and the list; the other
    summaries are given whole; `refused_when_in_use` adds the 409 of an object a policy still uses
    (`in_use` says what else may use it instead)."""
    refusal = {409: OpenApiResponse(ErrorResponse, description=in_use)} if in_use else IN_USE
    deleted_or_refused = {204: None, **ERRORS, **NOT_FOUND, **(refusal if refused_when_in_use else {})}
    return extend_schema_view(
        list=extend_schema(summary=plural, responses={200: output(many=True), **ERRORS}),
        retrieve=extend_schema(summary=f"One {noun}", responses={200: output, **ERRORS, **NOT_FOUND}),
        create=extend_schema(
            summary=create,
            request=input,
            responses={201: output, **ERRORS, **CONFLICT},
            examples=[example],
        ),
        update=extend_schema(
            summary=update, request=input, responses={200: output, **ERRORS, **NOT_FOUND, **CONFLICT}
        ),
        partial_update=extend_schema(
            summary=partial_update,
            request=input(partial=True),
            responses={200: output, **ERRORS, **NOT_FOUND, **CONFLICT},
        ),
        destroy=extend_schema(summary=destroy, responses=deleted_or_refused),
    )


class ByNamePagination(CursorPages):
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


# Reads go through a selector; writes through the service each subclass's _save and _delete call.
class _PlanViewSet(viewsets.ModelViewSet):
    pagination_class = ByNamePagination
    action_permissions = READ_WRITE
    input_class: type[Any]

    def _save(self, object_id: int | None, data: dict[str, Any]) -> Any:
        """Creates (object_id None) or changes the object from validated input; returns it."""
        raise NotImplementedError

    def _delete(self, object_id: int) -> None:
        raise NotImplementedError

    def _input(self, *, partial: bool = False) -> dict[str, Any]:
        serializer = self.input_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, instance: Any, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self._save(None, self._input()), code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(partial=kwargs.get("partial", False))
        return self._answer(self._save(_id(kwargs["pk"]), data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._delete(_id(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


@crud_schema(
    noun="SLA policy",
    plural="SLA policies",
    output=s.SlaPolicySerializer,
    input=s.SlaPolicyInput,
    example=OpenApiExample(
        "High priority",
        request_only=True,
        value={
            "name": "High priority",
            "priority": "high",
            "first_response_minutes": 60,
            "resolution_minutes": 1440,
            "warn_at_percent": 75,
        },
    ),
    create="Create an SLA policy",
    update="Replace an SLA policy",
    partial_update="Change some fields of an SLA policy",
    destroy="Delete an SLA policy (running clocks keep what they froze)",
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

    def _save(self, policy_id: int | None, data: dict[str, Any]) -> SlaPolicy:
        if policy_id is None:
            return services.sla_policy_create(actor=self.request.user, **data)
        return services.sla_policy_update(actor=self.request.user, policy_id=policy_id, **data)

    def _delete(self, policy_id: int) -> None:
        services.sla_policy_delete(actor=self.request.user, policy_id=policy_id)


@crud_schema(
    noun="business calendar",
    plural="Business calendars",
    output=s.BusinessCalendarSerializer,
    input=s.BusinessCalendarInput,
    example=OpenApiExample(
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
    ),
    create="Create a business calendar with its opening hours and holidays",
    update="Replace a business calendar (hours and holidays as a whole)",
    partial_update="Change a business calendar; a list given replaces that list",
    destroy="Delete a business calendar no policy uses",
    refused_when_in_use=True,
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

    def _delete(self, calendar_id: int) -> None:
        services.business_calendar_delete(actor=self.request.user, calendar_id=calendar_id)

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


@crud_schema(
    noun="escalation chain",
    plural="Escalation chains",
    output=s.EscalationChainSerializer,
    input=s.EscalationChainInput,
    example=OpenApiExample(
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
    ),
    create="Create an escalation chain with its ordered steps",
    update="Replace an escalation chain and all its steps",
    partial_update="Change an escalation chain; steps given replace all steps",
    destroy="Delete an escalation chain no policy uses (running clocks keep their frozen copy)",
    refused_when_in_use=True,
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

    def _delete(self, chain_id: int) -> None:
        services.escalation_chain_delete(actor=self.request.user, chain_id=chain_id)
