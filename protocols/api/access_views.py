"""REST endpoints for who has access to the brand's accounts: grants per account, revoking one,
offboarding a user, the checklists offboarding leaves and the audit trail. Admins only."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import NotFound
from config.filters import UtcIsoDateTimeFilter
from config.pagination import CursorPages
from incidents.api.serializers import ErrorResponse, UserRefSerializer
from protocols import selectors, services
from protocols.api.views import ERRORS, NOT_FOUND
from protocols.models import (
    AccessAuditAction,
    AccessAuditEvent,
    OffboardingChecklist,
    OffboardingItem,
    SocialAccount,
    SocialAccountAccess,
)

MANAGE = "access.manage"
CONFLICT = {409: OpenApiResponse(ErrorResponse, description="Already done by someone else; nothing changed.")}


class NewestFirst(CursorPages):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class AccountAccessSerializer(serializers.ModelSerializer):
    user = UserRefSerializer()
    granted_by = UserRefSerializer(allow_null=True)
    revoked_by = UserRefSerializer(allow_null=True)
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = SocialAccountAccess
        fields = [
            "id",
            "account",
            "user",
            "granted_at",
            "granted_by",
            "revoked_at",
            "revoked_by",
            "note",
            "is_live",
        ]

    def get_is_live(self, grant: SocialAccountAccess) -> bool:
        return grant.revoked_at is None


class GrantInput(serializers.Serializer):
    user = serializers.IntegerField(help_text="The user's id.")
    note = serializers.CharField(max_length=300, allow_blank=True, default="")


class RevokeInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, allow_blank=True, default="")


class OffboardInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class OffboardingItemSerializer(serializers.ModelSerializer):
    ticked_by = UserRefSerializer(allow_null=True)
    account_name = serializers.CharField(source="account.name")

    class Meta:
        model = OffboardingItem
        fields = ["id", "checklist", "account", "account_name", "kind", "text", "ticked_at", "ticked_by"]


class OffboardingChecklistSerializer(serializers.ModelSerializer):
    user = UserRefSerializer()
    started_by = UserRefSerializer()
    is_complete = serializers.BooleanField()
    items = OffboardingItemSerializer(many=True)

    class Meta:
        model = OffboardingChecklist
        fields = ["id", "user", "started_by", "reason", "created_at", "completed_at", "is_complete", "items"]


class AccessAuditSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer()
    subject = UserRefSerializer(allow_null=True)

    class Meta:
        model = AccessAuditEvent
        fields = ["id", "at", "actor", "action", "subject", "account", "details"]


class OffboardingChecklistFilter(django_filters.FilterSet):
    user = django_filters.NumberFilter(field_name="user_id", help_text="The offboarded user's id.")
    is_complete = django_filters.BooleanFilter(field_name="completed_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = OffboardingChecklist
        fields: list[str] = []


class AccessAuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AccessAuditAction.choices)
    actor = django_filters.NumberFilter(field_name="actor_id", help_text="Who acted (user id).")
    subject = django_filters.NumberFilter(field_name="subject_id", help_text="Whose access (user id).")
    account = django_filters.ModelChoiceFilter(queryset=SocialAccount.objects.all(), help_text="Account id.")
    at_after = UtcIsoDateTimeFilter(field_name="at", lookup_expr="gte")
    at_before = UtcIsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AccessAuditEvent
        fields: list[str] = []


class SocialAccountAccessView(GenericAPIView):
    """Who has (and had) access to one account, and granting it to another user."""

    action_permissions = {"get": MANAGE, "post": MANAGE}
    serializer_class = AccountAccessSerializer
    pagination_class = NewestFirst
    queryset = SocialAccountAccess.objects.none()

    @extend_schema(
        summary="Who has access to an account (revoked grants included)",
        responses={200: AccountAccessSerializer(many=True), **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, account_id: int) -> Response:
        if not SocialAccount.objects.filter(pk=account_id).exists():
            raise NotFound("Social account not found.")
        page = self.paginate_queryset(selectors.social_account_access_list(account_id=account_id))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Grant a user access to an account",
        request=GrantInput,
        responses={201: AccountAccessSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request: Request, account_id: int) -> Response:
        data = _input(request, GrantInput)
        grant = services.social_account_access_grant(
            actor=request.user, account_id=account_id, user_id=data["user"], note=data["note"]
        )
        fresh = selectors.social_account_access_list(account_id=account_id).get(pk=grant.pk)
        return Response(AccountAccessSerializer(fresh).data, status=status.HTTP_201_CREATED)


class AccountAccessRevokeView(GenericAPIView):
    action_permissions = {"post": MANAGE}
    serializer_class = AccountAccessSerializer

    @extend_schema(
        summary="Revoke a user's access to an account",
        request=RevokeInput,
        responses={200: AccountAccessSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request: Request, access_id: int) -> Response:
        note = _input(request, RevokeInput)["note"]
        grant = services.social_account_access_revoke(actor=request.user, access_id=access_id, note=note)
        fresh = selectors.social_account_access_list(account_id=grant.account_id).get(pk=grant.pk)
        return Response(AccountAccessSerializer(fresh).data)


class UserOffboardView(GenericAPIView):
    action_permissions = {"post": MANAGE}
    serializer_class = OffboardingChecklistSerializer

    @extend_schema(
        summary="Offboard a user",
        description="Deactivates the user at once: their sessions end, their API tokens answer 401, their "
        "account grants are revoked. Answers the checklist of credentials to rotate and accounts to hand "
        "over. A user already deactivated answers 409.",
        request=OffboardInput,
        responses={201: OffboardingChecklistSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request: Request, user_id: int) -> Response:
        reason = _input(request, OffboardInput)["reason"]
        checklist = services.user_offboard(actor=request.user, user_id=user_id, reason=reason)
        fresh = selectors.offboarding_checklist_list().get(pk=checklist.pk)
        return Response(OffboardingChecklistSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Offboarding checklists", responses={200: OffboardingChecklistSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One offboarding checklist",
        responses={200: OffboardingChecklistSerializer, **ERRORS, **NOT_FOUND},
    ),
)
class OffboardingChecklistViewSet(viewsets.ReadOnlyModelViewSet):
    """What is left after each offboarding; complete when every item is ticked."""

    action_permissions = {"list": MANAGE, "retrieve": MANAGE}
    serializer_class = OffboardingChecklistSerializer
    filterset_class = OffboardingChecklistFilter
    pagination_class = NewestFirst
    queryset = OffboardingChecklist.objects.none()

    def get_queryset(self) -> QuerySet[OffboardingChecklist]:
        return selectors.offboarding_checklist_list()


class OffboardingItemTickView(GenericAPIView):
    action_permissions = {"post": MANAGE}
    serializer_class = OffboardingItemSerializer

    @extend_schema(
        summary="Tick an offboarding item done",
        description="Records who ticked it and when; the last tick completes the checklist. An item already "
        "ticked answers 409.",
        request=None,
        responses={200: OffboardingItemSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = services.offboarding_item_tick(actor=request.user, item_id=item_id)
        fresh = OffboardingItem.objects.select_related("account", "ticked_by").get(pk=item.pk)
        return Response(OffboardingItemSerializer(fresh).data)


@extend_schema_view(
    list=extend_schema(
        summary="Access audit trail", responses={200: AccessAuditSerializer(many=True), **ERRORS}
    )
)
class AccessAuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every grant, revocation, offboarding and tick, newest first. Append-only."""

    action_permissions = {"list": MANAGE}
    serializer_class = AccessAuditSerializer
    filterset_class = AccessAuditFilter
    pagination_class = NewestFirst
    queryset = AccessAuditEvent.objects.none()

    def get_queryset(self) -> QuerySet[AccessAuditEvent]:
        return selectors.access_audit_list()


def _input(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
