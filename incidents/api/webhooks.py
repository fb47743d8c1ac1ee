"""REST endpoints for outbound webhooks (admins): subscriptions (the secret only in the create answer),
each one's delivery log, and replaying a delivery (same id, same payload)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ValidationFailed
from incidents.api.serializers import ErrorResponse
from incidents.models import DeliveryState, WebhookDelivery, WebhookEvent, WebhookSubscription
from incidents.services import webhooks as services
from incidents.webhook_selectors import (
    webhook_delivery_list,
    webhook_subscription_get,
    webhook_subscription_list,
)

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorResponse, description="Only admins manage outbound webhooks."),
}
READ_ERRORS = {401: ERRORS[401], 403: ERRORS[403]}
NOT_FOUND = {404: OpenApiResponse(ErrorResponse, description="No such subscription.")}


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    created_by = serializers.SerializerMethodField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    is_failing = serializers.SerializerMethodField(
        help_text="A delivery ran out of attempts since the last one that got through."
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "is_active",
            "is_failing",
            "failing_since",
            "last_error",
            "created_by",
            "created_at",
            "deactivated_at",
        ]

    def get_created_by(self, subscription: WebhookSubscription) -> str | None:
        return subscription.created_by.get_username() if subscription.created_by else None

    def get_is_failing(self, subscription: WebhookSubscription) -> bool:
        return subscription.failing_since is not None


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        help_text="The HMAC-SHA256 key for X-Firebreak-Signature. Shown only in this answer: store it now."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class WebhookSubscriptionInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(
        max_length=500,
        help_text="https:// (plain http only to localhost/127.0.0.1 unless the server allows it)",
    )
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40),
        help_text="One or more of: " + ", ".join(WebhookEvent.values),
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.ChoiceField(choices=WebhookEvent.choices)
    state = serializers.ChoiceField(choices=DeliveryState.choices)
    payload = serializers.JSONField(help_text="The envelope as sent: id, type, created_at, data.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event",
            "state",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "replayed_at",
            "created_at",
            "incident",
            "payload",
        ]


class DeliveryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


def _subscription_id(raw: Any) -> int:
    if not str(raw).isdigit():
        raise ValidationFailed("id: Must be a whole number.", fields={"id": ["Not a number."]})
    return int(raw)


@extend_schema_view(
    list=extend_schema(
        summary="Outbound webhook subscriptions",
        description="Secrets are never listed: they are shown once, when a subscription is created.",
        responses={200: WebhookSubscriptionSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One outbound webhook subscription",
        responses={200: WebhookSubscriptionSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
)
class WebhookSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WebhookSubscriptionSerializer
    pagination_class = None
    queryset = WebhookSubscription.objects.none()
    action_permissions = {
        "list": "webhook.manage",
        "retrieve": "webhook.manage",
        "create": "webhook.manage",
        "deactivate": "webhook.manage",
        "deliveries": "webhook.manage",
    }

    def get_queryset(self) -> Any:
        return webhook_subscription_list(user=self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = webhook_subscription_get(
            user=request.user, subscription_id=_subscription_id(self.kwargs["pk"])
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Subscribe a URL to events",
        description=(
            "Answers 201 with the subscription and its `secret` (shown only here). Every event the "
            "subscription wants is POSTed to `url` as JSON with `X-Firebreak-Event`, "
            "`X-Firebreak-Delivery` (a UUID: de-duplicate by it), `X-Firebreak-Timestamp` (Unix seconds) "
            "and `X-Firebreak-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' with the secret>`. "
            "An unknown event, an empty list or a URL that is not https answers 400 naming the field, "
            "and nothing is stored."
        ),
        request=WebhookSubscriptionInput,
        responses={201: WebhookSubscriptionCreatedSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Subscribe",
                value={
                    "name": "Ticketing",
                    "url": "https://tickets.example.com/hooks/firebreak",
                    "event_types": ["incident.created", "sla.breached"],
                },
                request_only=True,
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = WebhookSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.webhook_subscription_create(actor=request.user, **data.validated_data)
        body = {**WebhookSubscriptionSerializer(issued.subscription).data, "secret": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Switch a subscription off",
        description="New events no longer reach it; deliveries still pending fail. The body is ignored.",
        request=None,
        responses={
            200: WebhookSubscriptionSerializer,
            **READ_ERRORS,
            **NOT_FOUND,
            409: OpenApiResponse(ErrorResponse, description="Already switched off."),
        },
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        subscription = services.webhook_subscription_deactivate(
            actor=request.user, subscription_id=_subscription_id(pk)
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="The subscription's delivery log",
        description="Newest first (cursor pagination), each with its state, attempts, last answer, payload.",
        responses={200: WebhookDeliverySerializer(many=True), **READ_ERRORS, **NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=DeliveryPagination)
    def deliveries(self, request: Request, pk: str) -> Response:
        rows = webhook_delivery_list(user=request.user, subscription_id=_subscription_id(pk))
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryReplayView(APIView):
    action_permissions = {"post": "webhook.manage"}

    @extend_schema(
        summary="Send a delivery again",
        description=(
            "The same delivery is sent again: the same `X-Firebreak-Delivery` id and the same payload (a "
            "receiver that already processed it can skip it), reset to pending with a fresh set of retries; "
            "the attempts made so far stay counted. The body is ignored."
        ),
        request=None,
        responses={
            200: WebhookDeliverySerializer,
            **READ_ERRORS,
            404: OpenApiResponse(ErrorResponse, description="No such delivery."),
            409: OpenApiResponse(
                ErrorResponse, description="Still being sent, or its subscription is switched off."
            ),
        },
    )
    def post(self, request: Request, delivery_id: Any) -> Response:
        delivery = services.webhook_delivery_replay(actor=request.user, delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data)
