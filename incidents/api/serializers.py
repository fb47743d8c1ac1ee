"""API shapes: output serializers for reading, small input serializers for each action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents import clock_presenters
from incidents.intake import FIELD_LIMITS, LIST_MAX_ITEMS, PRODUCT_MAX, TAG_MAX
from incidents.models import UNDO_WINDOW, Incident, IncidentMerge, Mention, SlaClock, TimelineEvent
from protocols.models import AnswerKind, Category, EscalationTrigger, Platform, Priority, Sentiment

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
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "sla_state",
            "sla_due_at",
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


class EscalationStepStateSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    trigger = serializers.ChoiceField(choices=EscalationTrigger.choices)
    delay_minutes = serializers.IntegerField(help_text="Minutes after the warning or the breach.")
    action = serializers.CharField()
    role = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    repeat_every_minutes = serializers.IntegerField(allow_null=True)
    repeat_times = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    fired_at = serializers.ListField(child=serializers.DateTimeField(), help_text="Each time it fired.")
    state = serializers.ChoiceField(
        choices=["pending", "fired", "cancelled"],
        help_text="pending: may still fire; fired: every repetition did; cancelled: never will now.",
    )


class ClockSerializer(serializers.ModelSerializer):
    """A response-time clock as frozen when it started, with what it means at the moment of reading."""

    paused_for_seconds = serializers.SerializerMethodField()
    consumed_seconds = serializers.SerializerMethodField()
    business_seconds_left = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    escalation_steps = serializers.SerializerMethodField()

    class Meta:
        model = SlaClock
        fields = [
            "id",
            "kind",
            "status",
            "policy_name",
            "calendar_name",
            "chain_name",
            "target_seconds",
            "started_at",
            "due_at",
            "warn_at",
            "warned_at",
            "breached_at",
            "stopped_at",
            "paused_for_seconds",
            "consumed_seconds",
            "business_seconds_left",
            "explanation",
            "escalation_steps",
        ]

    def _now(self) -> datetime:
        now: datetime | None = self.context.get("now")
        return now if now is not None else timezone.now()

    def get_paused_for_seconds(self, clock: SlaClock) -> float:
        """Wall-clock seconds paused, a pause still going on included."""
        return clock_presenters.paused_seconds(clock, now=self._now())

    def get_consumed_seconds(self, clock: SlaClock) -> float:
        """Business seconds of the target used so far."""
        return clock_presenters.consumed_seconds(clock, now=self._now())

    def get_business_seconds_left(self, clock: SlaClock) -> int | None:
        """Running: business seconds until due (negative: seconds since it was due). Paused: what was
        left when it paused. Stopped: null."""
        return clock_presenters.business_seconds_left(clock, now=self._now())

    def get_explanation(self, clock: SlaClock) -> str:
        return clock_presenters.clock_explanation(clock, now=self._now())

    @extend_schema_field(EscalationStepStateSerializer(many=True))
    def get_escalation_steps(self, clock: SlaClock) -> Any:
        return EscalationStepStateSerializer(clock_presenters.escalation_steps(clock), many=True).data


class IncidentDetailSerializer(IncidentListSerializer):
    mentions = MentionSerializer(many=True)
    timeline = TimelineEventSerializer(many=True)
    clocks = ClockSerializer(many=True, help_text="Every response-time clock, newest first per kind.")

    class Meta(IncidentListSerializer.Meta):
        fields = [*IncidentListSerializer.Meta.fields, "description", "clocks", "mentions", "timeline"]


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


class SimilarIncidentSerializer(IncidentListSerializer):
    similarity = serializers.FloatField(help_text="Trigram similarity of the titles, 0 to 1.")

    class Meta(IncidentListSerializer.Meta):
        fields = [*IncidentListSerializer.Meta.fields, "similarity"]


class MergeInput(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="The incident that survives.")


class IncidentMergeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_username", default=None, allow_null=True)
    undone_by = serializers.CharField(source="undone_by.get_username", default=None, allow_null=True)
    undoable_until = serializers.SerializerMethodField()

    class Meta:
        model = IncidentMerge
        fields = [
            "id",
            "source",
            "target",
            "actor",
            "merged_at",
            "mention_ids",
            "reply_ids",
            "source_previous_status",
            "undoable_until",
            "undone_at",
            "undone_by",
        ]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_undoable_until(self, merge: IncidentMerge) -> datetime | None:
        return None if merge.undone_at else merge.merged_at + UNDO_WINDOW


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


class IngestSingleResult(serializers.Serializer):
    """The answer to one mention sent alone (a list answers per item, with each item's index)."""

    status = serializers.ChoiceField(choices=["created", "duplicate"])
    mention_id = serializers.IntegerField()
    incident_id = serializers.IntegerField(allow_null=True)


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


class ChecklistAnswerSerializer(serializers.Serializer):
    value = serializers.JSONField(
        help_text="true/false, the choice, the text, an ISO 8601 moment or a number."
    )
    answered_by = UserRefSerializer(allow_null=True)
    answered_at = serializers.DateTimeField()


class ChecklistQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="question.pk")
    position = serializers.IntegerField(source="question.position")
    text = serializers.CharField(source="question.text")
    answer_kind = serializers.ChoiceField(source="question.answer_kind", choices=AnswerKind.choices)
    choices = serializers.ListField(source="question.choices", child=serializers.CharField())
    is_required = serializers.BooleanField(source="question.is_required")
    answer = ChecklistAnswerSerializer(allow_null=True)


class ChecklistSerializer(serializers.Serializer):
    """An incident's "Identify the problem" checklist; `applies` is false (and the list empty) unless its
    category is in the high-priority or crisis tier."""

    applies = serializers.BooleanField()
    answered_count = serializers.IntegerField(help_text="Required questions answered.")
    required_count = serializers.IntegerField(help_text="Required questions.")
    is_complete = serializers.BooleanField()
    questions = ChecklistQuestionSerializer(many=True)


class ChecklistAnswerInput(serializers.Serializer):
    question = serializers.IntegerField(min_value=1)
    value = serializers.JSONField(help_text="Checked against the question's answer kind.")
