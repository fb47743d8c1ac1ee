"""Browser pages of the templates app: the team's template list, and the htmx partials the reply composer
embeds (the brand check as the user types, and the FAQ panel)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from config.pages import page_context, team_view, valid_data
from protocols.models import Category, Platform
from templates_app import selectors
from templates_app.brand import check_draft, platform_limit
from templates_app.models import TemplateKind, TemplateStatus

MAX_DRAFT_LENGTH = 20_000


class TemplateListFilter(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *TemplateStatus.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *TemplateKind.choices], required=False)


class BrandCheckForm(forms.Form):
    text = forms.CharField(max_length=MAX_DRAFT_LENGTH, required=False, strip=False)
    platform = forms.ChoiceField(choices=[("", "Any"), *Platform.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any"), *TemplateKind.choices], required=False)


class FaqPanelForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)
    q = forms.CharField(max_length=200, required=False)


@require_GET
@team_view("template.view")
def template_list(request: HttpRequest) -> HttpResponse:
    filters = TemplateListFilter(request.GET)
    chosen = valid_data(filters)
    templates = selectors.template_list(user=request.user).order_by("name")
    if chosen.get("status"):
        templates = templates.filter(status=chosen["status"])
    if chosen.get("kind"):
        templates = templates.filter(kind=chosen["kind"])
    context = {
        **page_context(request),
        "nav": "templates",
        "filters": filters,
        "templates": list(templates),
        "today": timezone.localdate(),
    }
    return render(request, "templates_app/template_list.html", context)


@require_POST
@team_view("brand.view")
def brand_check(request: HttpRequest) -> HttpResponse:
    """The issues of a draft as a small list, for the composer to swap in while the user types."""
    data = valid_data(BrandCheckForm(request.POST))
    context = {
        "issues": check_draft(text=data["text"], platform=data["platform"], kind=data["kind"]),
        "length": len(data["text"]),
        "limit": platform_limit(platform=data["platform"]),
    }
    return render(request, "templates_app/_brand_issues.html", context)


@require_GET
@team_view("faq.view")
def faq_panel(request: HttpRequest) -> HttpResponse:
    """FAQs and talking points for the composer's side panel: the category's first, then general ones."""
    data = valid_data(FaqPanelForm(request.GET))
    category = data.get("category")
    entries = selectors.faqs_for(
        user=request.user, category_id=category.pk if category else None, query=data.get("q") or ""
    )
    return render(
        request, "templates_app/_faq_panel.html", {"entries": entries, "query": data.get("q") or ""}
    )
