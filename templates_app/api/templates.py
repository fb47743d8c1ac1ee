"""REST endpoints for response templates: list, read, create and edit, and the approve, retire and
render actions. Views parse, call a service or selector, and answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from templates_app import selectors
from templates_app.api import filters
from templates_app.api import serializers as s
from templates_app.api.pagination import ByNamePagination
from templates_app.api.responses import CONFLICT, ERRORS, NOT_FOUND, validated_input
from templates_app.models import ResponseTemplate
from templates_app.rendering import VariableSpec
from templates_app.services import templates as template_services


@extend_schema_view(
    list=extend_schema(
        summary="Response templates",
        description="Every template with its current approved version; filter by kind, status, category...",
        responses={200: s.TemplateSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="One template with its version history",
        responses={200: s.TemplateDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
)
class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Versioned reply templates. Only approved wording is offered in replies; editing an approved
    template starts a new draft version that a manager or admin (not one of its authors) approves."""

    serializer_class = s.TemplateSerializer
    filterset_class = filters.TemplateFilter
    pagination_class = ByNamePagination
    queryset = ResponseTemplate.objects.none()
    lookup_value_regex = r"\d+"
    action_permissions = {
        "list": "template.view",
        "retrieve": "template.view",
        "render": "template.view",
        "create": "template.edit",
        "update": "template.edit",
        "partial_update": "template.edit",
        "approve": "template.approve",
        "retire": "template.approve",
    }

    def get_queryset(self) -> QuerySet[ResponseTemplate]:
        return selectors.template_list(user=self.request.user)

    def _detail(self, template_id: int, *, code: int = status.HTTP_200_OK) -> Response:
        template = selectors.template_get(user=self.request.user, template_id=template_id)
        return Response(s.TemplateDetailSerializer(template).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(int(kwargs["pk"]))

    @extend_schema(
        summary="Create a template (its first version is a draft)",
        request=s.TemplateInput,
        responses={201: s.TemplateDetailSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Apology",
                request_only=True,
                value={
                    "name": "Late delivery apology",
                    "kind": "apology",
                    "body": "Hi {{ customer_name }}, we're so sorry order {{ order_number }} is late. "
                    "— {{ agent_first_name }}",
                    "variables": [
                        {"name": "customer_name", "label": "Customer's name", "default": "there"},
                        {"name": "order_number", "label": "Order number"},
                        {"name": "agent_first_name", "label": "Your first name"},
                    ],
                    "platforms": ["x", "instagram"],
                },
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated_input(s.TemplateInput, request.data)
        data["variables"] = [VariableSpec.of(raw) for raw in data["variables"]]
        template = template_services.template_create(actor=request.user, **data)
        return self._detail(template.pk, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replace a template's details and wording",
        description="New wording edits the draft, or starts a new draft version when the latest is approved.",
        request=s.TemplateInput,
        responses={200: s.TemplateDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated_input(s.TemplateInput, request.data, partial=kwargs.get("partial", False))
        if "variables" in data:
            data["variables"] = [VariableSpec.of(raw) for raw in data["variables"]]
        template_services.template_update(actor=request.user, template_id=int(kwargs["pk"]), **data)
        return self._detail(int(kwargs["pk"]))

    @extend_schema(
        summary="Change some of a template's details or its wording",
        description="New wording edits the draft, or starts a new draft version when the latest is approved.",
        request=s.TemplateInput(partial=True),
        responses={200: s.TemplateDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Approve a draft version (managers and admins; not its author)",
        description="The version becomes the template's current wording, offered in replies.",
        request=s.ApproveInput,
        responses={200: s.TemplateDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
        examples=[OpenApiExample("Approve", request_only=True, value={"version": 12, "revision": 3})],
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        data = validated_input(s.ApproveInput, request.data)
        template_services.template_version_approve(
            actor=request.user, version_id=data["version"], template_id=int(pk), revision=data["revision"]
        )
        return self._detail(int(pk))

    @extend_schema(
        summary="Retire a template (no longer offered in replies)",
        request=None,
        responses={200: s.TemplateDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        template_services.template_retire(actor=request.user, template_id=int(pk))
        return self._detail(int(pk))

    @extend_schema(
        summary="Fill in a template and check it against the brand guidelines",
        description=(
            "Only declared `{{ name }}` placeholders are filled, as plain text; other template syntax is "
            "never evaluated and is listed in `invalid`. Unfilled variables stay visible and are listed."
        ),
        request=s.RenderInput,
        responses={200: s.RenderResult, **ERRORS, **NOT_FOUND},
        examples=[
            OpenApiExample(
                "Fill in",
                request_only=True,
                value={"values": {"customer_name": "Ana", "order_number": "A-1001"}, "platform": "x"},
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def render(self, request: Request, pk: str) -> Response:
        data = validated_input(s.RenderInput, request.data)
        preview = selectors.template_render(
            user=request.user,
            template_id=int(pk),
            values=data["values"],
            platform=data["platform"],
            version_id=data["version"],
        )
        return Response(s.RenderResult(preview).data)
