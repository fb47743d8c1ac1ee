"""REST endpoints for FAQs and talking points: searchable lists, writes, and the composer's suggestions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ValidationFailed
from templates_app import selectors
from templates_app.api import filters
from templates_app.api import serializers as s
from templates_app.api.pagination import ByTitlePagination
from templates_app.api.responses import ERRORS, NOT_FOUND, validated_input
from templates_app.models import FaqEntry
from templates_app.services import faqs as faq_services


@extend_schema_view(
    list=extend_schema(
        summary="FAQs and talking points", responses={200: s.FaqSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One FAQ or talking point", responses={200: s.FaqSerializer, **ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add an FAQ or talking point", request=s.FaqInput, responses={201: s.FaqSerializer, **ERRORS}
    ),
    update=extend_schema(
        summary="Replace an FAQ or talking point",
        request=s.FaqInput,
        responses={200: s.FaqSerializer, **ERRORS, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change an FAQ or talking point",
        request=s.FaqInput(partial=True),
        responses={200: s.FaqSerializer, **ERRORS, **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete an FAQ or talking point", responses={204: None, **ERRORS, **NOT_FOUND}
    ),
)
class FaqViewSet(viewsets.ModelViewSet):
    """Answers and talking points shown beside the reply composer, searchable with `?q=`."""

    serializer_class = s.FaqSerializer
    filterset_class = filters.FaqFilter
    pagination_class = ByTitlePagination
    queryset = FaqEntry.objects.none()
    lookup_value_regex = r"\d+"
    action_permissions = {
        "list": "faq.view",
        "retrieve": "faq.view",
        "suggested": "faq.view",
        "create": "faq.edit",
        "update": "faq.edit",
        "partial_update": "faq.edit",
        "destroy": "faq.edit",
    }

    def get_queryset(self) -> QuerySet[FaqEntry]:
        return selectors.faq_list(user=self.request.user)

    def _answer(self, faq_id: int, *, code: int = status.HTTP_200_OK) -> Response:
        return Response(s.FaqSerializer(self.get_queryset().get(pk=faq_id)).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = faq_services.faq_create(actor=request.user, **validated_input(s.FaqInput, request.data))
        return self._answer(entry.pk, code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated_input(s.FaqInput, request.data, partial=kwargs.get("partial", False))
        faq_services.faq_update(actor=request.user, faq_id=int(kwargs["pk"]), **data)
        return self._answer(int(kwargs["pk"]))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        faq_services.faq_delete(actor=request.user, faq_id=int(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The most relevant FAQs and talking points for a reply",
        description="Those linked to the category first, then general ones; best text match first.",
        parameters=[
            OpenApiParameter("category", int, description="The incident's category id."),
            OpenApiParameter("q", str, description="Words to search for."),
            OpenApiParameter("limit", int, description=f"At most this many (1-{selectors.MAX_SUGGESTIONS})."),
        ],
        filters=False,
        responses={200: s.FaqSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def suggested(self, request: Request) -> Response:
        params = request.query_params
        problems = {
            name: ["Must be a whole number."]
            for name in ("category", "limit")
            if params.get(name) and not params[name].isdigit()
        }
        if problems:
            field = next(iter(problems))
            raise ValidationFailed(f"{field}: Must be a whole number.", fields=problems)
        entries = selectors.faqs_for(
            user=request.user,
            category_id=int(params["category"]) if params.get("category") else None,
            query=params.get("q", ""),
            limit=int(params.get("limit") or 10),
        )
        return Response(s.FaqSerializer(entries, many=True).data)
