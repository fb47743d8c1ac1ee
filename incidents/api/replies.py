"""REST endpoints for replies: drafts, edits, and every approval transition as a POST action. Views parse,
call one service, and answer with the reply as it now is."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ValidationFailed
from config.pagination import CursorPages
from incidents.api.serializers import ErrorResponse
from incidents.models import PublishStatus, Reply, ReplyDecision, ReplyState, ReplyVersion
from incidents.reply_selectors import approval_inbox, reply_diff_from_reviewed, reply_get, reply_list
from incidents.services import replies as reply_services
from protocols.models import Role

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorResponse, description="Your role (or being its author) does not allow this."),
    404: OpenApiResponse(ErrorResponse, description="No such reply."),
}
CONFLICT = {
    409: OpenApiResponse(
        ErrorResponse,
        description="The reply is not in a state that allows this, someone acted first, or (publish) new "
        "mentions arrived since it was written (`code` = `stale_reply`; confirm to publish anyway). "
        "Nothing changed.",
    )
}


# --- serializers -----------------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()


class ReplyVersionSerializer(serializers.ModelSerializer):
    edited_by = PersonSerializer(allow_null=True)

    class Meta:
        model = ReplyVersion
        fields = ["number", "body", "edited_by", "created_at"]


class ReplyDecisionSerializer(serializers.ModelSerializer):
    decided_by = PersonSerializer()

    class Meta:
        model = ReplyDecision
        fields = ["version", "stage", "decision", "decided_by", "note", "decided_at"]


class ApprovalStepSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_label = serializers.CharField(source="label")
    role = serializers.CharField()
    target_minutes = serializers.IntegerField()


class ReplySerializer(serializers.ModelSerializer):
    author = PersonSerializer()
    edited_by = PersonSerializer(allow_null=True)
    published_by = PersonSerializer(allow_null=True)
    account = serializers.SerializerMethodField()
    chain = ApprovalStepSerializer(many=True)

    class Meta:
        model = Reply
        fields = [
            "id",
            "incident",
            "mention",
            "account",
            "author",
            "template_name",
            "body",
            "version",
            "state",
            "chain_name",
            "chain",
            "step",
            "waiting_on_role",
            "changes_note",
            "edited_at",
            "edited_by",
            "submitted_at",
            "approved_at",
            "published_at",
            "published_by",
            "published_url",
            "publish_status",
            "publish_attempts",
            "publish_error",
            "withdrawn_at",
            "created_at",
            "updated_at",
        ]

    def get_account(self, reply: Reply) -> dict[str, Any] | None:
        if reply.account is None:
            return None
        return {
            "id": reply.account.pk,
            "name": reply.account.name,
            "platform": reply.account.platform,
            "publisher": reply.account.publisher,
        }


class DiffLineSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=[" ", "-", "+"])
    text = serializers.CharField()


class ReplyDetailSerializer(ReplySerializer):
    versions = ReplyVersionSerializer(many=True)
    decisions = ReplyDecisionSerializer(many=True)
    diff_from_reviewed = serializers.SerializerMethodField()

    class Meta(ReplySerializer.Meta):
        fields = [*ReplySerializer.Meta.fields, "versions", "decisions", "diff_from_reviewed"]

    @extend_schema_field(DiffLineSerializer(many=True, allow_null=True))
    def get_diff_from_reviewed(self, reply: Reply) -> list[dict[str, str]] | None:
        lines = reply_diff_from_reviewed(reply=reply)
        return None if lines is None else [{"op": line.op, "text": line.text} for line in lines]


class ReplyCreateInput(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1)
    body = serializers.CharField(max_length=reply_services.BODY_MAX, trim_whitespace=True)
    mention = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    account = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    template_version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    template_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VersionInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The version you looked at; a newer one answers 409.",
    )


class EditInput(VersionInput):
    body = serializers.CharField(max_length=reply_services.BODY_MAX, trim_whitespace=True)


class DecisionInput(VersionInput):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ChangesInput(VersionInput):
    note = serializers.CharField(max_length=4000, help_text="What should change (required).")


class WithdrawInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PublishInput(VersionInput):
    confirm_stale = serializers.BooleanField(
        required=False, default=False, help_text="Publish although new mentions arrived after it was written."
    )
    url = serializers.URLField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Accounts posted to by hand: the URL of the post you made.",
    )


# --- filters and pagination ------------------------------------------------------------------------------


class ReplyFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ReplyState.choices, distinct=False)
    waiting_on_role = django_filters.ChoiceFilter(
        choices=Role.choices, help_text="Replies waiting on this role."
    )
    incident = django_filters.NumberFilter(field_name="incident_id")
    author = django_filters.NumberFilter(field_name="author_id")
    publish_status = django_filters.ChoiceFilter(choices=[c for c in PublishStatus.choices if c[0]])

    class Meta:
        model = Reply
        fields: list[str] = []


class ReplyPagination(CursorPages):
    ordering = ("-id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# --- the viewset ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List replies", responses={200: ReplySerializer, **ERRORS}),
    retrieve=extend_schema(
        summary="One reply with its versions, decisions and the change since the last review",
        responses={200: ReplyDetailSerializer, **ERRORS},
    ),
)
class ReplyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReplySerializer
    filterset_class = ReplyFilter
    pagination_class = ReplyPagination
    queryset = Reply.objects.none()
    action_permissions = {
        "list": "reply.view",
        "retrieve": "reply.view",
        "inbox": "reply.view",
        "create": "reply.draft",
        "edit": "reply.draft",
        "submit": "reply.draft",
        "withdraw": "reply.draft",
        "approve": "reply.decide",
        "request_changes": "reply.decide",
        "publish": "reply.publish",
    }

    def get_queryset(self) -> QuerySet[Reply]:
        return reply_list(user=self.request.user)

    def _reply_id(self) -> int:
        raw = str(self.kwargs["pk"])
        if not raw.isdigit():
            raise ValidationFailed("id: Must be a whole number.", fields={"id": ["Must be a whole number."]})
        return int(raw)

    def _input(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, reply_id: int, code: int = status.HTTP_200_OK) -> Response:
        reply = reply_get(user=self.request.user, reply_id=reply_id)
        return Response(ReplyDetailSerializer(reply).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Start a draft reply on an incident",
        request=ReplyCreateInput,
        responses={201: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self._input(ReplyCreateInput)
        reply = reply_services.reply_create(
            actor=request.user,
            incident_id=data["incident"],
            body=data["body"],
            mention_id=data["mention"],
            account_id=data["account"],
            template_version_id=data["template_version"],
            template_name=data["template_name"],
        )
        return self._answer(reply.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit the text",
        description="A draft is edited in place; a submitted or approved reply becomes a new version, back "
        "in draft: the approval chain starts again.",
        request=EditInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def edit(self, request: Request, pk: str) -> Response:
        data = self._input(EditInput)
        reply_services.reply_edit(
            actor=request.user, reply_id=self._reply_id(), body=data["body"], expected_version=data["version"]
        )
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Submit a draft for approval",
        description="Enters the first review stage the incident's approval rule requires, or goes straight "
        "to approved when none applies.",
        request=VersionInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        data = self._input(VersionInput)
        reply_services.reply_submit(
            actor=request.user, reply_id=self._reply_id(), expected_version=data["version"]
        )
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Approve the current review stage",
        description="Only holders of the stage's role; never an author of the reply, never the person who "
        "approved another stage of the same version.",
        request=DecisionInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        data = self._input(DecisionInput)
        reply_services.reply_approve(
            actor=request.user, reply_id=self._reply_id(), expected_version=data["version"], note=data["note"]
        )
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Send the reply back to its authors with a note",
        request=ChangesInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, pk: str) -> Response:
        data = self._input(ChangesInput)
        reply_services.reply_request_changes(
            actor=request.user, reply_id=self._reply_id(), note=data["note"], expected_version=data["version"]
        )
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Withdraw the reply (its authors or a manager)",
        request=WithdrawInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        data = self._input(WithdrawInput)
        reply_services.reply_withdraw(actor=request.user, reply_id=self._reply_id(), note=data["note"])
        return self._answer(self._reply_id())

    @extend_schema(
        summary="Publish an approved reply",
        description="Accounts posted to by hand need `url` (the post you made) and are published at once. "
        "Webhook and Mastodon accounts are sent by a worker: the answer shows `publish_status` = "
        "`pending`, then `done` (state `published`) or `failed` with `publish_error`. A draft that needs "
        "no approval is approved and published in one step. 409 `stale_reply` when new mentions arrived "
        "after the text was written, unless `confirm_stale` is true.",
        request=PublishInput,
        responses={200: ReplyDetailSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        data = self._input(PublishInput)
        reply_services.reply_publish(
            actor=request.user,
            reply_id=self._reply_id(),
            confirm_stale=data["confirm_stale"],
            url=data["url"],
            expected_version=data["version"],
        )
        return self._answer(self._reply_id())

    @extend_schema(
        summary="The approval inbox: replies waiting on a decision you may take, oldest first",
        responses={200: ReplySerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["get"], pagination_class=None)  # the whole inbox, not pages
    def inbox(self, request: Request) -> Response:
        return Response(ReplySerializer(approval_inbox(user=request.user), many=True).data)
