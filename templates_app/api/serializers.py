"""API shapes of templates, FAQs and brand guidelines: output serializers for reading, input serializers
that check types and sizes (the rules themselves live in checks and services)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from incidents.api.serializers import UserRefSerializer
from protocols.models import Category, Platform
from templates_app.checks import MAX_BODY_LENGTH, MAX_DEFAULT_LENGTH, MAX_LABEL_LENGTH, MAX_VARIABLES
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    FaqKind,
    PlatformLimit,
    RequiredElement,
    ResponseTemplate,
    TemplateEvent,
    TemplateKind,
    TemplateVersion,
    ToneNote,
)
from templates_app.rendering import MAX_NAME_LENGTH, NAME_PATTERN

User = get_user_model()
MAX_VALUES = 50
MAX_VALUE_LENGTH = 2000
MAX_TAGS = 50
MAX_CATEGORIES = 100


class VariableSerializer(serializers.Serializer):
    name = serializers.RegexField(
        rf"^{NAME_PATTERN}$",
        max_length=MAX_NAME_LENGTH,
        help_text="Used as {{ name }} in the body: letters, digits, underscores.",
    )
    # "label" and "default" are also attributes of every DRF field; the metaclass moves these into fields.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=MAX_LABEL_LENGTH, allow_blank=True, default=""
    )
    default = serializers.CharField(
        max_length=MAX_DEFAULT_LENGTH,
        allow_blank=True,
        default="",
        help_text="Used when no value is given; empty = a value is required.",
    )


# --- Templates ----------------------------------------------------------------------------------------


class VersionRefSerializer(serializers.ModelSerializer):
    variables = VariableSerializer(many=True)

    class Meta:
        model = TemplateVersion
        fields = ["id", "number", "status", "body", "variables", "approved_at"]


class VersionSerializer(serializers.ModelSerializer):
    variables = VariableSerializer(many=True)
    created_by = UserRefSerializer()
    approved_by = UserRefSerializer(allow_null=True)

    class Meta:
        model = TemplateVersion
        fields = [
            "id",
            "number",
            "status",
            "revision",
            "body",
            "variables",
            "created_by",
            "created_at",
            "updated_at",
            "approved_by",
            "approved_at",
            "retired_at",
        ]


class TemplateEventSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(allow_null=True)
    version_number = serializers.IntegerField(source="version.number", allow_null=True, default=None)

    class Meta:
        model = TemplateEvent
        fields = ["kind", "version_number", "actor", "at"]


class TemplateSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer()
    current_version = VersionRefSerializer(
        allow_null=True, help_text="The approved wording offered in replies; null until one is approved."
    )
    version_count = serializers.IntegerField()
    draft_version_id = serializers.IntegerField(
        allow_null=True, help_text="The draft waiting for approval, if any."
    )

    class Meta:
        model = ResponseTemplate
        fields = [
            "id",
            "name",
            "kind",
            "status",
            "categories",
            "platforms",
            "language",
            "owner",
            "review_due_on",
            "current_version",
            "draft_version_id",
            "version_count",
            "created_at",
            "updated_at",
        ]


class TemplateDetailSerializer(TemplateSerializer):
    versions = VersionSerializer(many=True)
    events = TemplateEventSerializer(many=True)

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "versions", "events"]


class TemplateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=TemplateKind.choices)
    body = serializers.CharField(
        max_length=MAX_BODY_LENGTH,
        trim_whitespace=False,
        help_text="Plain text with {{ variable }} placeholders of declared variables only.",
    )
    variables = serializers.ListField(child=VariableSerializer(), max_length=MAX_VARIABLES, default=list)
    categories = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        many=True,
        default=list,
        help_text="Category ids; none = suits every category.",
    )
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices),
        max_length=MAX_TAGS,
        default=list,
        help_text="None = suits every platform.",
    )
    language = serializers.CharField(max_length=16, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="User id; you when left out.",
    )
    review_due_on = serializers.DateField(required=False, help_text="A year from today when left out.")


class ApproveInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="Id of the draft version you read.")
    revision = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The draft's revision you read; if it was edited since, the answer is 409.",
    )


class RenderInput(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.CharField(max_length=MAX_VALUE_LENGTH, allow_blank=True, trim_whitespace=False),
        default=dict,
        help_text="Variable name -> text.",
    )
    platform = serializers.ChoiceField(
        choices=Platform.choices,
        allow_blank=True,
        default="",
        help_text="Checks that platform's length limit.",
    )
    version = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="A version id; default current."
    )

    def validate_values(self, values: dict[str, str]) -> dict[str, str]:
        if len(values) > MAX_VALUES:
            raise serializers.ValidationError(f"At most {MAX_VALUES} values.")
        return values


class BrandIssueSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["banned_phrase", "too_long", "unfilled_variable", "missing_required", "invalid_placeholder"]
    )
    message = serializers.CharField()


class RenderResult(serializers.Serializer):
    template = serializers.IntegerField(source="template_id")
    version = serializers.IntegerField(source="version_id")
    version_number = serializers.IntegerField()
    is_approved = serializers.BooleanField(help_text="Only approved wording may be used in a reply.")
    text = serializers.CharField(source="rendered.text")
    missing = serializers.ListField(
        child=serializers.CharField(), source="rendered.missing", help_text="Variables still to fill in."
    )
    unknown = serializers.ListField(
        child=serializers.CharField(), source="rendered.unknown", help_text="Placeholders nobody declared."
    )
    invalid = serializers.ListField(
        child=serializers.CharField(), source="rendered.invalid", help_text="Template syntax left as text."
    )
    issues = BrandIssueSerializer(many=True)
    can_send = serializers.BooleanField()


# --- FAQs and talking points ----------------------------------------------------------------------------


class FaqSerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqEntry
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "categories",
            "products",
            "is_active",
            "created_at",
            "updated_at",
        ]


class FaqInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FaqKind.choices, default=FaqKind.FAQ)
    title = serializers.CharField(max_length=300)
    body = serializers.CharField(max_length=10_000)
    categories = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), many=True, default=list, help_text="Category ids; none = everywhere."
    )
    products = serializers.ListField(
        child=serializers.CharField(max_length=80),
        max_length=MAX_TAGS,
        default=list,
        help_text="Product tags.",
    )
    is_active = serializers.BooleanField(default=True)


# --- Brand guidelines -----------------------------------------------------------------------------------


class BannedPhraseSerializer(serializers.ModelSerializer):
    class Meta:
        model = BannedPhrase
        fields = ["id", "phrase", "suggestion", "is_active", "updated_at"]


class BannedPhraseInput(serializers.Serializer):
    phrase = serializers.CharField(max_length=200, help_text="Matched case-insensitively, whole words only.")
    suggestion = serializers.CharField(max_length=300, allow_blank=True, default="")
    is_active = serializers.BooleanField(default=True)


class RequiredElementSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequiredElement
        fields = ["id", "kind", "label", "alternatives", "is_active", "updated_at"]


class RequiredElementInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TemplateKind.choices)
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=120, help_text='What is required, e.g. "an apology".'
    )
    alternatives = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        max_length=MAX_TAGS,
        help_text="Any one of these (case-insensitive) is enough.",
    )
    is_active = serializers.BooleanField(default=True)


class PlatformLimitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlatformLimit
        fields = ["id", "platform", "max_characters", "updated_at"]


class PlatformLimitInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    max_characters = serializers.IntegerField(min_value=1, max_value=100_000)


class ToneNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToneNote
        fields = ["id", "title", "body", "position", "updated_at"]


class ToneNoteInput(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    body = serializers.CharField(max_length=5000)
    position = serializers.IntegerField(min_value=0, max_value=10_000, default=100)


class BrandCheckInput(serializers.Serializer):
    text = serializers.CharField(max_length=20_000, allow_blank=True, trim_whitespace=False)
    platform = serializers.ChoiceField(choices=Platform.choices, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=TemplateKind.choices,
        allow_blank=True,
        default="",
        help_text="Checks that kind's required elements.",
    )


class BrandCheckResult(serializers.Serializer):
    issues = BrandIssueSerializer(many=True)
    length = serializers.IntegerField(help_text="Characters in the text.")
    limit = serializers.IntegerField(allow_null=True, help_text="The platform's limit, if it has one.")
