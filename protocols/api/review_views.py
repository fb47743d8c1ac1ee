"""REST endpoints of the review cadence: the plan objects with their owner, last review and due date
(managers and admins see all, others the ones they own), and marking one reviewed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.pagination import CursorPages
from incidents.api.serializers import ErrorResponse
from protocols import review_selectors as selectors
from protocols.api.views import ERRORS, NOT_FOUND, _id
from protocols.models import ReviewEventKind, ReviewKind, ReviewSchedule
from protocols.review_selectors import ReviewState
from protocols.services.cadence import NOT_GIVEN, NOTE_MAX, review_mark_reviewed

CONFLICT = {
    409: OpenApiResponse(ErrorResponse, description="Someone marked it reviewed first; nothing changed.")
}
STATE_CHOICES = (*ReviewState.CHOICES, ("due", "Overdue or due within 7 days"))


class ReviewPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()


class ReviewItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="schedule_id", help_text="The review schedule's id.")
    kind = serializers.ChoiceField(choices=ReviewKind.choices)
    kind_label = serializers.CharField()
    object_id = serializers.IntegerField(allow_null=True, help_text="Empty for the moderation policy.")
    name = serializers.CharField(help_text="The plan object's name.")
    owner = ReviewPersonSerializer(
        allow_null=True, help_text="Empty: nobody owns it (overdue reviews go to managers)."
    )
    interval_days = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=ReviewState.CHOICES)
    last_reviewed_at = serializers.DateTimeField(allow_null=True)
    last_reviewed_by = ReviewPersonSerializer(allow_null=True)
    edit_url = serializers.CharField(help_text="Where the object is edited (the admin).")


class ReviewEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReviewEventKind.choices)
    kind_label = serializers.CharField()
    actor = ReviewPersonSerializer(allow_null=True, help_text="Empty: the system.")
    at = serializers.DateTimeField()
    note = serializers.CharField()
    due_before = serializers.DateTimeField(allow_null=True)
    due_after = serializers.DateTimeField(allow_null=True)


class ReviewDetailSerializer(ReviewItemSerializer):
    events = ReviewEventSerializer(many=True, help_text="The latest reviews and changes, newest first.")


class ReviewedInput(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX, allow_blank=True, default="")
    last_reviewed_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The last review you saw (null: it was never reviewed). A review recorded since then "
        "answers 409. Left out: the one stored now.",
    )


class ReviewScheduleFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=STATE_CHOICES, method="filter_state")
    owner = django_filters.CharFilter(
        method="filter_owner", help_text="A user id, `me`, or `none` (no owner)."
    )
    kind = django_filters.ChoiceFilter(choices=ReviewKind.choices)

    class Meta:
        model = ReviewSchedule
        fields: list[str] = []

    def filter_state(self, rows: QuerySet[ReviewSchedule], name: str, value: str) -> QuerySet[ReviewSchedule]:
        now = timezone.now()
        if value == "due":
            return rows.filter(Q(effective_due_at__lte=now + selectors.DUE_SOON_FOR))
        return selectors.filter_by_state(rows, state=value, now=now)

    def filter_owner(self, rows: QuerySet[ReviewSchedule], name: str, value: str) -> QuerySet[ReviewSchedule]:
        return selectors.schedule_filter_owner(rows, owner=value.strip().lower(), user=self.request.user)


class SoonestDueFirst(CursorPages):
    ordering = ("effective_due_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="Protocol reviews",
        description="Every category, SLA policy, escalation and approval chain, template, FAQ and the "
        "moderation policy still in use, with its owner, last review and due date, soonest due first. "
        "Managers and admins see all; anyone else on the team the ones they own.",
        responses={200: ReviewItemSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="One protocol review, with its history",
        responses={200: ReviewDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
)
class ProtocolReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    action_permissions = {"list": "review.view", "retrieve": "review.view", "reviewed": "review.mark_own"}
    serializer_class = ReviewItemSerializer
    filterset_class = ReviewScheduleFilter
    pagination_class = SoonestDueFirst
    queryset = ReviewSchedule.objects.none()

    def get_queryset(self) -> QuerySet[ReviewSchedule]:
        return selectors.review_schedule_list(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = timezone.now()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        items = [selectors.review_item(row, now=now) for row in page]
        return self.get_paginated_response(ReviewItemSerializer(items, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_detail(request, _id(kwargs["pk"])))

    @extend_schema(
        summary="Mark a protocol review done",
        description="Records who reviewed it and when, with an optional note, and moves the next due date "
        "an interval from now. Its owner, a manager or an admin may. Send the `last_reviewed_at` you saw: "
        "if someone marked it reviewed since, the answer is 409 and nothing changes.",
        request=ReviewedInput,
        responses={200: ReviewDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reviewed(self, request: Request, pk: str) -> Response:
        serializer = ReviewedInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review_mark_reviewed(
            actor=request.user,
            schedule_id=_id(pk),
            note=data["note"],
            expected_last_reviewed_at=data.get("last_reviewed_at", NOT_GIVEN),
        )
        return Response(_detail(request, _id(pk)))


def _detail(request: Request, schedule_id: int) -> dict[str, Any]:
    row = selectors.review_schedule_get(user=request.user, schedule_id=schedule_id)
    item = selectors.review_item(row, now=timezone.now())
    events = selectors.review_event_list(schedule_id=row.pk)
    return dict(ReviewDetailSerializer({**asdict(item), "events": [asdict(e) for e in events]}).data)
