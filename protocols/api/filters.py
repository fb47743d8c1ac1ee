"""Filters of the SLA configuration lists (django-filter), so a client can find what uses what."""

from __future__ import annotations

import django_filters

from protocols.models import BusinessCalendar, Category, EscalationChain, Priority, SlaPolicy


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
