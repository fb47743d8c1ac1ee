"""REST endpoints of post-incident reviews: list and read them (with the incident's metrics), open one for
a qualifying incident, save the text (naming the version read), complete it, add action items and
lessons; list action items and tick them done."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.pagination import CursorPages
from incidents.api.serializers import ErrorResponse, UserRefSerializer
from protocols import pir_selectors as selectors
from protocols.api.access_views import NewestFirst
from protocols.api.views import ERRORS, NOT_FOUND, _id
from protocols.models import PirActionItem, PirState, PostIncidentReview
from protocols.pir_metrics import Outcome
from protocols.services import post_incident as services

CONFLICT = {
    409: OpenApiResponse(
        ErrorResponse, description="Changed by someone else since the version you read, or already done."
    )
}
OUTCOMES = Outcome.CHOICES


class TargetResultSerializer(serializers.Serializer):
    policy_name = serializers.CharField()
    target_seconds = serializers.IntegerField()
    business_seconds = serializers.FloatField(help_text="Business time used.")
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    breached_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOMES)


class ApprovalStepTimeSerializer(serializers.Serializer):
    reply_id = serializers.IntegerField()
    version = serializers.IntegerField()
    stage = serializers.CharField()
    role = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, help_text="Empty: still waiting.")
    seconds = serializers.FloatField(help_text="Wall-clock time spent in the step.")
    target_seconds = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=OUTCOMES)


class StageTotalSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_label = serializers.CharField(source="label")
    seconds = serializers.FloatField()
    steps = serializers.IntegerField()


class PirMetricsSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    first_responded_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    first_response_seconds = serializers.FloatField(allow_null=True)
    resolution_seconds = serializers.FloatField(allow_null=True)
    first_response = TargetResultSerializer(allow_null=True, help_text="The first-response target's clock.")
    resolution = TargetResultSerializer(allow_null=True)
    approval_steps = ApprovalStepTimeSerializer(many=True)
    stage_totals = StageTotalSerializer(many=True)


class ActionItemSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer()
    done_by = UserRefSerializer(allow_null=True)
    incident = serializers.IntegerField(source="review.incident_id")

    class Meta:
        model = PirActionItem
        fields = ["id", "review", "incident", "title", "owner", "due_on", "done_at", "done_by", "created_at"]


class LessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    schedule = serializers.IntegerField(source="schedule_id", help_text="The protocol review's id.")
    subject = serializers.CharField(source="subject_label", help_text="The plan object it is about.")
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = UserRefSerializer()


class PirSerializer(serializers.ModelSerializer):
    incident_title = serializers.CharField(source="incident.title")
    completed_by = UserRefSerializer(allow_null=True)
    open_action_count = serializers.IntegerField(help_text="Action items not done yet.")

    class Meta:
        model = PostIncidentReview
        fields = [
            "id",
            "incident",
            "incident_title",
            "state",
            "version",
            "opened_at",
            "completed_at",
            "completed_by",
            "open_action_count",
        ]


class PirDetailSerializer(serializers.ModelSerializer):
    incident_title = serializers.CharField(source="incident.title")
    opened_by = UserRefSerializer(allow_null=True, help_text="Empty: opened by the system.")
    updated_by = UserRefSerializer(allow_null=True)
    completed_by = UserRefSerializer(allow_null=True)
    action_items = ActionItemSerializer(many=True)
    lessons = LessonSerializer(many=True)
    metrics = PirMetricsSerializer(help_text="Computed from the incident's own rows when read.")

    class Meta:
        model = PostIncidentReview
        fields = [
            "id",
            "incident",
            "incident_title",
            "state",
            "version",
            "what_went_well",
            "what_did_not",
            "opened_at",
            "opened_by",
            "updated_at",
            "updated_by",
            "completed_at",
            "completed_by",
            "action_items",
            "lessons",
            "metrics",
        ]


class PirOpenInput(serializers.Serializer):
    incident = serializers.IntegerField(help_text="A resolved high-priority or crisis incident's id.")


class PirUpdateInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read; a newer one answers 409."
    )
    what_went_well = serializers.CharField(max_length=services.TEXT_MAX, allow_blank=True, required=False)
    what_did_not = serializers.CharField(max_length=services.TEXT_MAX, allow_blank=True, required=False)


class PirCompleteInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read; a newer one answers 409."
    )


class ActionItemInput(serializers.Serializer):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    owner = serializers.IntegerField(help_text="A team member's user id.")
    due_on = serializers.DateField()


class LessonInput(serializers.Serializer):
    schedule = serializers.IntegerField(
        help_text="The plan object's protocol review id (/api/v1/protocol-reviews/)."
    )
    text = serializers.CharField(max_length=services.LESSON_MAX, help_text="What should change in it.")


class PirFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=PirState.choices)
    incident = django_filters.NumberFilter(field_name="incident_id", help_text="Incident id.")

    class Meta:
        model = PostIncidentReview
        fields: list[str] = []


class ActionItemFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(method="filter_owner", help_text="A user id, or `me`.")
    is_done = django_filters.BooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)
    review = django_filters.NumberFilter(field_name="review_id", help_text="Post-incident review id.")
    due_before = django_filters.DateFilter(
        field_name="due_on", lookup_expr="lte", help_text="Due on or before."
    )

    class Meta:
        model = PirActionItem
        fields: list[str] = []

    def filter_owner(self, rows: QuerySet[PirActionItem], name: str, value: str) -> QuerySet[PirActionItem]:
        value = value.strip().lower()
        if value == "me":
            return rows.filter(owner_id=self.request.user.pk)
        return rows.filter(owner_id=int(value)) if value.isdigit() else rows.none()


class SoonestDueFirst(CursorPages):
    ordering = ("due_on", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _input(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _detail(request: Request, review_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    review = selectors.pir_with_metrics(user=request.user, review_id=review_id, now=timezone.now())
    return Response(PirDetailSerializer(review).data, status=code)


@extend_schema_view(
    list=extend_schema(summary="Post-incident reviews", responses={200: PirSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(
        summary="One post-incident review, with the incident's metrics",
        responses={200: PirDetailSerializer, **ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Open the post-incident review of an incident",
        description="Opens it now (the system opens one by itself within minutes of a qualifying incident "
        "being resolved); answers the one already open as it is. 409 `not_qualifying`: the incident is not a "
        "resolved high-priority or crisis incident.",
        request=PirOpenInput,
        responses={200: PirDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Save what went well and what did not",
        description="Send the `version` you read: if someone saved since, the answer is 409 and nothing "
        "changes.",
        request=PirUpdateInput,
        responses={200: PirDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    ),
)
class PostIncidentReviewViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """One review per resolved high-priority or crisis incident: what went well, what did not, action
    items with owners and due dates, and lessons that send plan objects back for review."""

    action_permissions = {
        "list": "pir.view",
        "retrieve": "pir.view",
        "create": "pir.edit",
        "partial_update": "pir.edit",
        "complete": "pir.complete",
        "action_items": "pir.edit",
        "lessons": "pir.edit",
    }
    serializer_class = PirSerializer
    filterset_class = PirFilter
    pagination_class = NewestFirst
    queryset = PostIncidentReview.objects.none()

    def get_queryset(self) -> QuerySet[PostIncidentReview]:
        return selectors.pir_list(user=self.request.user)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _detail(request, _id(pk))

    def create(self, request: Request) -> Response:
        incident_id = _input(request, PirOpenInput)["incident"]
        review = services.pir_open(actor=request.user, incident_id=incident_id)
        return _detail(request, review.pk)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = _input(request, PirUpdateInput)
        services.pir_save(
            actor=request.user,
            review_id=_id(pk),
            expected_version=data["version"],
            what_went_well=data.get("what_went_well"),
            what_did_not=data.get("what_did_not"),
        )
        return _detail(request, _id(pk))

    @extend_schema(
        summary="Complete a post-incident review",
        description="Records who completed it and when; its text can no longer change (action items stay "
        "tracked). Needs what went well and what did not. Send the `version` you read.",
        request=PirCompleteInput,
        responses={200: PirDetailSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        version = _input(request, PirCompleteInput)["version"]
        services.pir_complete(actor=request.user, review_id=_id(pk), expected_version=version)
        return _detail(request, _id(pk))

    @extend_schema(
        summary="Add an action item",
        description="Its owner is told now and reminded when it is due. Only while the review is a draft.",
        request=ActionItemInput,
        responses={201: ActionItemSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str) -> Response:
        data = _input(request, ActionItemInput)
        item = services.pir_action_item_add(
            actor=request.user,
            review_id=_id(pk),
            title=data["title"],
            owner_id=data["owner"],
            due_on=data["due_on"],
        )
        fresh = selectors.pir_action_item_list(user=request.user).get(pk=item.pk)
        return Response(ActionItemSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Link a lesson to a part of the response plan",
        description="Makes that plan object's review due now and tells its owner (the managers when nobody "
        "owns it). One lesson per plan object and review (409 for a second).",
        request=LessonInput,
        responses={201: LessonSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def lessons(self, request: Request, pk: str) -> Response:
        data = _input(request, LessonInput)
        lesson = services.pir_lesson_link(
            actor=request.user, review_id=_id(pk), schedule_id=data["schedule"], text=data["text"]
        )
        fresh = next(
            item
            for item in selectors.pir_get(user=request.user, review_id=_id(pk)).lessons.all()
            if item.pk == lesson.pk
        )
        return Response(LessonSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Action items of post-incident reviews",
        description="Open ones first, soonest due first.",
        responses={200: ActionItemSerializer(many=True), **ERRORS},
    )
)
class PirActionItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    action_permissions = {"list": "pir.view", "done": "pir.view"}
    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilter
    pagination_class = SoonestDueFirst
    queryset = PirActionItem.objects.none()

    def get_queryset(self) -> QuerySet[PirActionItem]:
        return selectors.pir_action_item_list(user=self.request.user)

    @extend_schema(
        summary="Tick an action item done",
        description="Its owner may, and anyone who edits reviews. Records who and when; twice answers 409.",
        request=None,
        responses={200: ActionItemSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        item = services.pir_action_item_done(actor=request.user, item_id=_id(pk))
        return Response(ActionItemSerializer(item).data)
