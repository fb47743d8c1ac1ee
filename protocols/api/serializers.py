"""API shapes of the response plan's SLA side: output serializers for policies, business calendars and
escalation chains, and input serializers that check types and ranges (the rules live in sla_checks)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from protocols.models import (
    BusinessCalendar,
    Category,
    EscalationAction,
    EscalationChain,
    EscalationStep,
    EscalationTrigger,
    Holiday,
    OpeningHours,
    Priority,
    Role,
    SlaPolicy,
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


class OpeningHoursSerializer(serializers.ModelSerializer):
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
    opens_at = serializers.TimeField(help_text="Local time in the calendar's zone, e.g. 09:00.")
    closes_at = serializers.TimeField(
        help_text="After opens_at, or 00:00 for midnight at the end of the day."
    )


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


class EscalationChainInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, default="", max_length=2000)
    steps = serializers.ListField(
        child=EscalationStepInput(),
        max_length=MAX_STEPS,
        default=list,
        help_text="In order; replaces every step of the chain. Running clocks keep the steps they froze.",
    )
