"""API shapes: output serializers for reading, small input serializers for each action."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.intake import FIELD_LIMITS, LIST_MAX_ITEMS, PRODUCT_MAX, TAG_MAX
from incidents.models import Incident, Mention, TimelineEvent
from protocols.models import Category, Platform, Priority, Sentiment

User = get_user_model()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "tier", "description"]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "tier"]


class IncidentListSerializer(serializers.ModelSerializer):
    category = CategoryRefSerializer(allow_null=True)
    assignee = UserRefSerializer(allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "url",
            "title",
            "status",
            "priority",
            "category",
            "assignee",
            "assigned_role",
            "platform",
            "tags",
            "products",
            "follow_up_required",
            "mention_count",
            "created_at",
            "updated_at",
            "last_mention_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
        ]

    @extend_schema_field(serializers.URLField())
    def get_url(self, incident: Incident) -> str:
        request = self.context.get("request")
        path = f"/api/v1/incidents/{incident.pk}/"
        return request.build_absolute_uri(path) if request else path


class MentionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Mention
        fields = [
            "id",
            "platform",
            "external_id",
            "url",
            "author_handle",
            "author_name",
            "text",
            "posted_at",
            "thread_id",
            "parent_id",
            "language",
            "sentiment",
            "sentiment_is_computed",
            "tags",
            "products",
            "received_at",
        ]


class TimelineEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "actor", "before", "after", "note", "created_at"]


class IncidentDetailSerializer(IncidentListSerializer):
    mentions = MentionSerializer(many=True)
    timeline = TimelineEventSerializer(many=True)

    class Meta(IncidentListSerializer.Meta):
        fields = [*IncidentListSerializer.Meta.fields, "description", "mentions", "timeline"]


class IncidentCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX), required=False, default=list
    )
    products = serializers.ListField(
        child=serializers.CharField(max_length=PRODUCT_MAX), required=False, default=list
    )
    follow_up_required = serializers.BooleanField(required=False, default=False)


class AssignInput(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        help_text="User id, or null to unassign.",
    )


class CategorizeInput(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), allow_null=True, help_text="Category id, or null."
    )


class PriorityInput(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class BulkInput(serializers.Serializer):
    incidents = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=200
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), allow_null=True, required=False
    )


class BulkResult(serializers.Serializer):
    changed = serializers.IntegerField(help_text="How many incidents actually changed.")


# --- Intake (documentation of the wire format; validation is incidents.intake.parse_mention) ---


class MentionInputDoc(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    external_id = serializers.CharField(max_length=FIELD_LIMITS["external_id"])
    url = serializers.URLField(required=False, max_length=FIELD_LIMITS["url"])
    author_handle = serializers.CharField(max_length=FIELD_LIMITS["author_handle"])
    author_name = serializers.CharField(required=False, max_length=FIELD_LIMITS["author_name"])
    text = serializers.CharField(help_text="Up to FIREBREAK_MENTION_TEXT_MAX characters (default 10,000).")
    posted_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    thread_id = serializers.CharField(required=False, max_length=FIELD_LIMITS["thread_id"])
    parent_id = serializers.CharField(required=False, max_length=FIELD_LIMITS["parent_id"])
    language = serializers.CharField(required=False, max_length=FIELD_LIMITS["language"])
    sentiment = serializers.ChoiceField(
        choices=Sentiment.choices, required=False, help_text="Computed with VADER when absent."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX), required=False, max_length=LIST_MAX_ITEMS
    )
    products = serializers.ListField(
        child=serializers.CharField(max_length=PRODUCT_MAX), required=False, max_length=LIST_MAX_ITEMS
    )
    raw = serializers.DictField(
        required=False, help_text="The platform's original payload, kept as evidence."
    )


class IngestItemResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "invalid"])
    mention_id = serializers.IntegerField(required=False, allow_null=True)
    incident_id = serializers.IntegerField(required=False, allow_null=True)
    errors = serializers.DictField(child=serializers.CharField(), required=False)  # type: ignore[assignment]


class IngestBatchResult(serializers.Serializer):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    invalid = serializers.IntegerField()
    results = IngestItemResult(many=True)


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(help_text="Field name -> problems.")  # type: ignore[assignment]


class ErrorResponse(serializers.Serializer):
    error = ErrorDetail()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    database = serializers.CharField()
    redis = serializers.CharField()
