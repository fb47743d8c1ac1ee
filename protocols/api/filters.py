"""Filters of the response plan's configuration lists (django-filter), so a client can find what uses what."""

from __future__ import annotations

import django_filters

from protocols.models import (
    ApprovalChain,
    ApprovalRule,
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
