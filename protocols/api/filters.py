"""Filters of the response plan's configuration lists (django-filter), so a client can find what uses what,
and of the audit log (its page, its CSV and its API share one)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from protocols.audit_tables import table_choices
from protocols.models import (
    ApprovalChain,
    ApprovalRule,
    AuditAction,
    AuditEvent,
    AuditKind,
    BusinessCalendar,
    Category,
    EscalationChain,
    Platform,
    Priority,
    PublisherKind,
    SlaPolicy,
    SocialAccount,
    Tier,
)


class SlaPolicyFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), help_text="Category id.")
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    calendar = django_filters.ModelChoiceFilter(
        queryset=BusinessCalendar.objects.all(), help_text="Business calendar id."
    )
    escalation_chain = django_filters.ModelChoiceFilter(
        queryset=EscalationChain.objects.all(), help_text="Escalation chain id."
    )
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = SlaPolicy
        fields: list[str] = []


class BusinessCalendarFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    time_zone = django_filters.CharFilter()
    always_open = django_filters.BooleanFilter()

    class Meta:
        model = BusinessCalendar
        fields: list[str] = []


class EscalationChainFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = EscalationChain
        fields: list[str] = []


class SocialAccountFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    platform = django_filters.ChoiceFilter(choices=Platform.choices)
    publisher = django_filters.ChoiceFilter(choices=PublisherKind.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = SocialAccount
        fields: list[str] = []


class ApprovalChainFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ApprovalChain
        fields: list[str] = []


class ApprovalRuleFilter(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    chain = django_filters.ModelChoiceFilter(
        queryset=ApprovalChain.objects.all(), help_text="Approval chain id."
    )

    class Meta:
        model = ApprovalRule
        fields: list[str] = []


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AuditKind.choices, empty_label="Any")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any")
    actor = django_filters.NumberFilter(field_name="actor_id", help_text="Who acted (user id).")
    actor_name = django_filters.CharFilter(
        field_name="actor_name", lookup_expr="iexact", label="Actor", help_text="Who acted (username)."
    )
    table = django_filters.ChoiceFilter(
        field_name="table_name",
        choices=table_choices,
        empty_label="Anything",
        label="What",
        help_text="The changed table.",
    )
    object_id = django_filters.CharFilter(help_text="The changed row's id (with `table`).")
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label="From",
        help_text="On or after this day (server time zone).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label="To",
        help_text="On or before this day (server time zone).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    # Whole days as a range of moments, so the index on `at` answers.
    def filter_date_from(self, queryset: QuerySet[AuditEvent], name: str, value: date) -> QuerySet[Any]:
        return queryset.filter(at__gte=_day_start(value))

    def filter_date_to(self, queryset: QuerySet[AuditEvent], name: str, value: date) -> QuerySet[Any]:
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1)))
