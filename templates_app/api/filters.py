"""Filters of the template, FAQ and brand guideline lists (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from protocols.models import Category, Platform
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    FaqKind,
    PlatformLimit,
    RequiredElement,
    ResponseTemplate,
    TemplateKind,
    TemplateStatus,
    ToneNote,
)
from templates_app.selectors import faq_search


class TemplateFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(choices=TemplateKind.choices)
    status = django_filters.ChoiceFilter(choices=TemplateStatus.choices)
    category = django_filters.ModelChoiceFilter(
        field_name="categories", queryset=Category.objects.all(), help_text="Category id."
    )
    platform = django_filters.ChoiceFilter(
        choices=Platform.choices, method="filter_platform", help_text="Templates made for this platform."
    )
    language = django_filters.CharFilter(lookup_expr="iexact")
    owner = django_filters.NumberFilter(field_name="owner_id", help_text="User id.")
    review_due_before = django_filters.DateFilter(
        field_name="review_due_on", lookup_expr="lte", help_text="Review due on or before this date."
    )
    has_draft = django_filters.BooleanFilter(
        field_name="draft_version_id",
        lookup_expr="isnull",
        exclude=True,
        help_text="A draft awaits approval.",
    )

    class Meta:
        model = ResponseTemplate
        fields: list[str] = []

    def filter_platform(
        self, qs: QuerySet[ResponseTemplate], name: str, value: str
    ) -> QuerySet[ResponseTemplate]:
        return qs.filter(platforms__contains=[value])


class FaqFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", help_text='Full-text search: words, "a phrase", -not.')
    kind = django_filters.ChoiceFilter(choices=FaqKind.choices)
    category = django_filters.ModelChoiceFilter(
        field_name="categories", queryset=Category.objects.all(), help_text="Category id."
    )
    product = django_filters.CharFilter(method="filter_product", help_text="A product tag.")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = FaqEntry
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[FaqEntry], name: str, value: str) -> QuerySet[FaqEntry]:
        return faq_search(qs, query=value) if value.strip() else qs

    def filter_product(self, qs: QuerySet[FaqEntry], name: str, value: str) -> QuerySet[FaqEntry]:
        return qs.filter(products__contains=[value.strip().lower()])


class BannedPhraseFilter(django_filters.FilterSet):
    phrase = django_filters.CharFilter(lookup_expr="icontains")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = BannedPhrase
        fields: list[str] = []


class RequiredElementFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=TemplateKind.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = RequiredElement
        fields: list[str] = []


class PlatformLimitFilter(django_filters.FilterSet):
    platform = django_filters.ChoiceFilter(choices=Platform.choices)

    class Meta:
        model = PlatformLimit
        fields: list[str] = []


class ToneNoteFilter(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ToneNote
        fields: list[str] = []
