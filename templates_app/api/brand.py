"""REST endpoints for the brand guidelines (banned phrases, required elements, platform length limits,
tone notes) and the draft checker the composer calls as the user types."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from templates_app import selectors
from templates_app.api import filters
from templates_app.api import serializers as s
from templates_app.api.pagination import ByIdPagination
from templates_app.api.responses import ERRORS, NOT_FOUND, validated_input
from templates_app.brand import check_draft, platform_limit
from templates_app.models import BannedPhrase, PlatformLimit, RequiredElement, ToneNote
from templates_app.services import brand as brand_services

BRAND_READ_WRITE = {
    "list": "brand.view",
    "retrieve": "brand.view",
    "create": "brand.edit",
    "update": "brand.edit",
    "partial_update": "brand.edit",
    "destroy": "brand.edit",
}


def brand_schema(*, noun: str, plural: str, output: type[Serializer], input: type[Serializer]) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=plural, responses={200: output(many=True), **ERRORS}),
        retrieve=extend_schema(summary=f"One {noun}", responses={200: output, **ERRORS, **NOT_FOUND}),
        create=extend_schema(summary=f"Add a {noun}", request=input, responses={201: output, **ERRORS}),
        update=extend_schema(
            summary=f"Replace a {noun}", request=input, responses={200: output, **ERRORS, **NOT_FOUND}
        ),
        partial_update=extend_schema(
            summary=f"Change a {noun}",
            request=input(partial=True),
            responses={200: output, **ERRORS, **NOT_FOUND},
        ),
        destroy=extend_schema(summary=f"Delete a {noun}", responses={204: None, **ERRORS, **NOT_FOUND}),
    )


class _BrandViewSet(viewsets.ModelViewSet):
    """Reads go through a selector; writes through the service each subclass's _save and _delete call."""

    action_permissions = BRAND_READ_WRITE
    pagination_class = ByIdPagination
    lookup_value_regex = r"\d+"
    input_class: type[Serializer]

    def _save(self, row_id: int | None, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _delete(self, row_id: int) -> None:
        raise NotImplementedError

    def _answer(self, row: Any, *, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=row.pk)).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(
            self._save(None, validated_input(self.input_class, request.data)), code=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated_input(self.input_class, request.data, partial=kwargs.get("partial", False))
        return self._answer(self._save(int(kwargs["pk"]), data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._delete(int(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


@brand_schema(
    noun="banned phrase", plural="Banned phrases", output=s.BannedPhraseSerializer, input=s.BannedPhraseInput
)
class BannedPhraseViewSet(_BrandViewSet):
    """Words a reply must never use; the draft checker flags them (whole words, any case)."""

    serializer_class = s.BannedPhraseSerializer
    input_class = s.BannedPhraseInput
    filterset_class = filters.BannedPhraseFilter
    queryset = BannedPhrase.objects.none()

    def get_queryset(self) -> QuerySet[BannedPhrase]:
        return selectors.banned_phrase_list(user=self.request.user)

    def _save(self, row_id: int | None, data: dict[str, Any]) -> BannedPhrase:
        return brand_services.banned_phrase_save(actor=self.request.user, phrase_id=row_id, **data)

    def _delete(self, row_id: int) -> None:
        brand_services.banned_phrase_delete(actor=self.request.user, phrase_id=row_id)


@brand_schema(
    noun="required element",
    plural="Required elements per kind of reply",
    output=s.RequiredElementSerializer,
    input=s.RequiredElementInput,
)
class RequiredElementViewSet(_BrandViewSet):
    """What a kind of reply must contain, e.g. an apology says "sorry" or "apologise"."""

    serializer_class = s.RequiredElementSerializer
    input_class = s.RequiredElementInput
    filterset_class = filters.RequiredElementFilter
    queryset = RequiredElement.objects.none()

    def get_queryset(self) -> QuerySet[RequiredElement]:
        return selectors.required_element_list(user=self.request.user)

    def _save(self, row_id: int | None, data: dict[str, Any]) -> RequiredElement:
        return brand_services.required_element_save(actor=self.request.user, element_id=row_id, **data)

    def _delete(self, row_id: int) -> None:
        brand_services.required_element_delete(actor=self.request.user, element_id=row_id)


@brand_schema(
    noun="platform length limit",
    plural="Length limits per platform",
    output=s.PlatformLimitSerializer,
    input=s.PlatformLimitInput,
)
class PlatformLimitViewSet(_BrandViewSet):
    """How many characters a reply may have on each platform."""

    serializer_class = s.PlatformLimitSerializer
    input_class = s.PlatformLimitInput
    filterset_class = filters.PlatformLimitFilter
    queryset = PlatformLimit.objects.none()

    def get_queryset(self) -> QuerySet[PlatformLimit]:
        return selectors.platform_limit_list(user=self.request.user)

    def _save(self, row_id: int | None, data: dict[str, Any]) -> PlatformLimit:
        return brand_services.platform_limit_save(actor=self.request.user, limit_id=row_id, **data)

    def _delete(self, row_id: int) -> None:
        brand_services.platform_limit_delete(actor=self.request.user, limit_id=row_id)


@brand_schema(noun="tone note", plural="Tone notes", output=s.ToneNoteSerializer, input=s.ToneNoteInput)
class ToneNoteViewSet(_BrandViewSet):
    """How the brand sounds; shown beside the reply composer."""

    serializer_class = s.ToneNoteSerializer
    input_class = s.ToneNoteInput
    filterset_class = filters.ToneNoteFilter
    queryset = ToneNote.objects.none()

    def get_queryset(self) -> QuerySet[ToneNote]:
        return selectors.tone_note_list(user=self.request.user)

    def _save(self, row_id: int | None, data: dict[str, Any]) -> ToneNote:
        return brand_services.tone_note_save(actor=self.request.user, note_id=row_id, **data)

    def _delete(self, row_id: int) -> None:
        brand_services.tone_note_delete(actor=self.request.user, note_id=row_id)


class BrandCheckView(APIView):
    action_permissions = {"post": "brand.view"}

    @extend_schema(
        summary="Check a reply draft against the brand guidelines",
        description="Banned phrases, the platform's length limit, unfilled variables, template syntax and "
        "the elements the kind of reply must contain. Cheap enough to call as the user types.",
        request=s.BrandCheckInput,
        responses={200: s.BrandCheckResult, **ERRORS},
        examples=[
            OpenApiExample(
                "Apology on X",
                request_only=True,
                value={"text": "Please calm down, {{ customer_name }}.", "platform": "x", "kind": "apology"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated_input(s.BrandCheckInput, request.data)
        issues = check_draft(text=data["text"], platform=data["platform"], kind=data["kind"])
        result = {
            "issues": issues,
            "length": len(data["text"]),
            "limit": platform_limit(platform=data["platform"]),
        }
        return Response(s.BrandCheckResult(result).data)
