"""API shapes of the response plan: output serializers for SLA policies, business calendars, escalation
chains, social accounts (secrets never shown), approval chains and rules, and input serializers that check
types and ranges (the rules live in sla_checks and the approval services)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from protocols.models import (
    STAGE_ORDER,
    ApprovalChain,
    ApprovalRule,
    ApprovalStage,
    ApprovalStep,
    BusinessCalendar,
    Category,
    EscalationAction,
    EscalationChain,
    EscalationStep,
    EscalationTrigger,
    Holiday,
    OpeningHours,
    Platform,
    Priority,
    PublisherKind,
    Role,
    SlaPolicy,
    SocialAccount,
    Tier,
    Weekday,
)
from protocols.sla_checks import MAX_STEP_REPEATS

User = get_user_model()
# A year of business minutes is already far beyond any response plan; bigger numbers are typos.
MAX_MINUTES = 366 * 24 * 60
MAX_OPENING_INTERVALS = 100
MAX_HOLIDAYS = 2000
MAX_STEPS = 50


def _minutes(help_text: str, *, min_value: int = 1) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=min_value, max_value=MAX_MINUTES, allow_null=True, default=None, help_text=help_text
    )


# --- SLA policies ----------------------------------------------------------------------------------


class SlaPolicySerializer(serializers.ModelSerializer):
    calendar_name = serializers.CharField(source="calendar.name", allow_null=True, default=None)
    escalation_chain_name = serializers.CharField(
        source="escalation_chain.name", allow_null=True, default=None
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "category",
            "priority",
            "calendar",
            "calendar_name",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warn_at_percent",
            "warn_before_minutes",
            "escalation_chain",
            "escalation_chain_name",
            "is_active",
            "updated_at",
        ]


class SlaPolicyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, default=None, help_text="Category id; null = any."
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, default="", help_text="Empty = any priority."
    )
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), allow_null=True, default=None, help_text="null = 24/7."
    )
    first_response_minutes = _minutes("Business minutes to the first response.")
    next_response_minutes = _minutes("Business minutes to answer each later customer message.")
    resolution_minutes = _minutes("Business minutes to resolve.")
    warn_at_percent = serializers.IntegerField(
        min_value=1,
        max_value=99,
        allow_null=True,
        default=None,
        help_text="Warn at this share of the target.",
    )
    warn_before_minutes = _minutes("Or warn this many business minutes before the deadline.")
    escalation_chain = serializers.PrimaryKeyRelatedField(
        queryset=EscalationChain.objects.all(), allow_null=True, default=None
    )
    is_active = serializers.BooleanField(default=True)


# --- Business calendars ----------------------------------------------------------------------------


@extend_schema_field(
    {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$", "example": "09:00:00"}
)
class WallClockTimeField(serializers.TimeField):
    """A time of day on the calendar's own clock, without a zone ("09:00"). OpenAPI's `time` format
    is RFC 3339's, which requires an offset, so the schema gives the pattern instead."""


class OpeningHoursSerializer(serializers.ModelSerializer):
    opens_at = WallClockTimeField()
    closes_at = WallClockTimeField()

    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens_at", "closes_at"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


class BusinessCalendarSerializer(serializers.ModelSerializer):
    opening_hours = OpeningHoursSerializer(many=True)
    holidays = HolidaySerializer(many=True)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "time_zone",
            "always_open",
            "opening_hours",
            "holidays",
            "created_at",
            "updated_at",
        ]


class OpeningHoursInput(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=Weekday.choices, help_text="0 = Monday ... 6 = Sunday.")
    opens_at = WallClockTimeField(help_text="Local time in the calendar's zone, e.g. 09:00.")
    closes_at = WallClockTimeField(help_text="After opens_at, or 00:00 for midnight at the end of the day.")


class HolidayInput(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=200, allow_blank=True, default="")


class BusinessCalendarInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    time_zone = serializers.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Stockholm."
    )
    always_open = serializers.BooleanField(
        default=False, help_text="24/7: opening hours and holidays ignored."
    )
    opening_hours = serializers.ListField(
        child=OpeningHoursInput(),
        max_length=MAX_OPENING_INTERVALS,
        default=list,
        help_text="The whole week; replaces the calendar's opening hours.",
    )
    holidays = serializers.ListField(
        child=HolidayInput(), max_length=MAX_HOLIDAYS, default=list, help_text="Replaces the holidays."
    )


class HolidayImportUpload(serializers.Serializer):
    file = serializers.FileField(help_text="An iCalendar (.ics) file, e.g. a country's public holidays.")


class HolidayImportResult(serializers.Serializer):
    added = serializers.IntegerField(help_text="Days added as holidays.")
    already_present = serializers.IntegerField(help_text="Days in the file the calendar already had.")


# --- Escalation chains -----------------------------------------------------------------------------


class EscalationStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationStep
        fields = [
            "position",
            "trigger",
            "delay_minutes",
            "action",
            "role",
            "user",
            "repeat_every_minutes",
            "repeat_times",
        ]


class EscalationChainSerializer(serializers.ModelSerializer):
    steps = EscalationStepSerializer(many=True)

    class Meta:
        model = EscalationChain
        fields = ["id", "name", "description", "steps", "created_at", "updated_at"]


class EscalationStepInput(serializers.Serializer):
    trigger = serializers.ChoiceField(choices=EscalationTrigger.choices, default=EscalationTrigger.BREACH)
    delay_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_MINUTES, default=0, help_text="Minutes after the warning or breach."
    )
    action = serializers.ChoiceField(choices=EscalationAction.choices)
    role = serializers.ChoiceField(
        choices=Role.choices, allow_blank=True, default="", help_text="For notify_role and reassign_role."
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        default=None,
        help_text="For notify_user.",
    )
    repeat_every_minutes = _minutes("Minutes between repeats; required when repeat_times > 0.")
    repeat_times = serializers.IntegerField(
        min_value=0,
        max_value=MAX_STEP_REPEATS,
        default=0,
        help_text="Extra times to repeat until someone acts.",
    )


class WholeRowsField(serializers.ListField):
    """A list of `row` objects, each checked whole, also in a PATCH: a PATCH that gives the list replaces
    every row, so a row missing a required field is an error, not a partial row."""

    def __init__(self, *, row: type[serializers.Serializer], **kwargs: Any) -> None:
        self.row = row
        super().__init__(child=row(), **kwargs)

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        rows: list[Any] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(data):
            serializer = self.row(data=item)  # a root of its own: never partial
            if serializer.is_valid():
                rows.append(serializer.validated_data)
            else:
                errors[str(index)] = serializer.errors
        if errors:
            raise serializers.ValidationError(errors)
        return rows


class EscalationChainInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, default="", max_length=2000)
    steps = WholeRowsField(
        row=EscalationStepInput,
        max_length=MAX_STEPS,
        default=list,
        help_text="In order; replaces every step of the chain. Running clocks keep the steps they froze.",
    )


# --- Social accounts, approval chains, approval rules ------------------------------------------------------

WRITE_ONLY_HELP = (
    "Write-only: never returned. Omit to keep the stored one; send an empty string to remove it."
)
MAX_APPROVAL_STEPS = 10


class SocialAccountSerializer(serializers.ModelSerializer):
    """An account with its secrets left out: only whether each is set."""

    has_webhook_secret = serializers.SerializerMethodField()
    has_access_token = serializers.SerializerMethodField()

    class Meta:
        model = SocialAccount
        fields = [
            "id",
            "name",
            "platform",
            "handle",
            "publisher",
            "webhook_url",
            "has_webhook_secret",
            "mastodon_base_url",
            "has_access_token",
            "is_active",
            "created_at",
            "updated_at",
        ]

    def get_has_webhook_secret(self, account: SocialAccount) -> bool:
        return bool(account.webhook_secret)

    def get_has_access_token(self, account: SocialAccount) -> bool:
        return bool(account.mastodon_access_token)


class SocialAccountInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    platform = serializers.ChoiceField(choices=Platform.choices)
    handle = serializers.CharField(max_length=150, allow_blank=True, default="")
    publisher = serializers.ChoiceField(
        choices=PublisherKind.choices,
        default=PublisherKind.MANUAL,
        help_text="manual: a person posts and pastes the URL; webhook: a signed POST to a bridge; "
        "mastodon: the Mastodon REST API.",
    )
    webhook_url = serializers.URLField(
        max_length=1000, allow_blank=True, default="", help_text="webhook: the bridge's URL."
    )
    webhook_secret = serializers.CharField(
        max_length=200,
        allow_blank=True,
        required=False,
        help_text=f"webhook: the signing secret. {WRITE_ONLY_HELP}",
    )
    mastodon_base_url = serializers.URLField(
        max_length=300,
        allow_blank=True,
        default="",
        help_text="mastodon: the instance, e.g. https://mastodon.social.",
    )
    mastodon_access_token = serializers.CharField(
        max_length=200,
        allow_blank=True,
        required=False,
        help_text=f"mastodon: a token with the write:statuses scope. {WRITE_ONLY_HELP}",
    )
    is_active = serializers.BooleanField(default=True)


class ApprovalChainStepSerializer(serializers.ModelSerializer):
    calendar_name = serializers.CharField(source="calendar.name", allow_null=True, default=None)
    escalation_chain_name = serializers.CharField(
        source="escalation_chain.name", allow_null=True, default=None
    )

    class Meta:
        model = ApprovalStep
        fields = [
            "stage",
            "role",
            "target_minutes",
            "warn_at_percent",
            "calendar",
            "calendar_name",
            "escalation_chain",
            "escalation_chain_name",
        ]


class ApprovalChainSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalChain
        fields = ["id", "name", "description", "steps", "created_at", "updated_at"]

    @extend_schema_field(ApprovalChainStepSerializer(many=True))
    def get_steps(self, chain: ApprovalChain) -> Any:
        ordered = sorted(chain.steps.all(), key=lambda step: STAGE_ORDER[ApprovalStage(step.stage)])
        return ApprovalChainStepSerializer(ordered, many=True).data


class ApprovalChainStepInput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=ApprovalStage.choices)
    role = serializers.ChoiceField(choices=Role.choices, help_text="The team role that decides this stage.")
    target_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_MINUTES, help_text="Business minutes allowed for the decision."
    )
    warn_at_percent = serializers.IntegerField(
        min_value=1, max_value=99, allow_null=True, default=75, help_text="null: no warning."
    )
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), allow_null=True, default=None, help_text="null = 24/7."
    )
    escalation_chain = serializers.PrimaryKeyRelatedField(
        queryset=EscalationChain.objects.all(), allow_null=True, default=None
    )


class ApprovalChainInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, default="", max_length=2000)
    steps = WholeRowsField(
        row=ApprovalChainStepInput,
        max_length=MAX_APPROVAL_STEPS,
        default=list,
        help_text="At least one; each stage once (they run legal review first, then management approval). "
        "Replaces every step of the chain; replies already in review keep the chain they froze.",
    )


class ApprovalRuleSerializer(serializers.ModelSerializer):
    chain_name = serializers.CharField(source="chain.name", allow_null=True, default=None)

    class Meta:
        model = ApprovalRule
        fields = ["id", "tier", "priority", "chain", "chain_name", "updated_at"]


class ApprovalRuleInput(serializers.Serializer):
    tier = serializers.ChoiceField(
        choices=Tier.choices, allow_blank=True, default="", help_text="Empty = any tier."
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, default="", help_text="Empty = any priority."
    )
    chain = serializers.PrimaryKeyRelatedField(
        queryset=ApprovalChain.objects.all(),
        allow_null=True,
        default=None,
        help_text="Approval chain id; null = replies matching this rule need no approval.",
    )
