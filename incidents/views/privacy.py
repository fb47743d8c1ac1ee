"""The personal-data page (legal and admins): export what is held about a customer's handle as JSON,
or erase it, and the record of earlier requests (by pseudonym and counts, never the handle)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from config.pages import HtmxHttpRequest, page_context, team_view
from incidents.models import PersonalDataRequest
from incidents.services.privacy import customer_data_erase, customer_data_export
from protocols.models import Platform

REQUESTS_SHOWN = 20


class SubjectForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices)
    handle = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"placeholder": "@handle"}))


class EraseForm(SubjectForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The customer's request and its date, as you will need to show it later.",
    )
    confirm = forms.BooleanField(label="I understand this cannot be undone")


def _page(request: HtmxHttpRequest, *, status: int = 200, **forms_and_result: Any) -> HttpResponse:
    context = {
        **page_context(request),
        "nav": "privacy",
        "export_form": forms_and_result.get("export_form") or SubjectForm(prefix="export"),
        "erase_form": forms_and_result.get("erase_form") or EraseForm(prefix="erase"),
        "erasure": forms_and_result.get("erasure"),
        "requests": list(PersonalDataRequest.objects.select_related("requested_by")[:REQUESTS_SHOWN]),
    }
    return render(request, "incidents/privacy.html", context, status=status)


@team_view("personal_data.manage")
def privacy(request: HtmxHttpRequest) -> HttpResponse:
    return _page(request)


@team_view("personal_data.manage")
@require_POST
def privacy_export(request: HtmxHttpRequest) -> HttpResponse:
    form = SubjectForm(request.POST, prefix="export")
    if not form.is_valid():
        return _page(request, status=400, export_form=form)
    document = customer_data_export(actor=request.user, **form.cleaned_data)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json"
    )
    name = f"firebreak-personal-data-{document['platform']}-{document['handle']}.json"
    response["Content-Disposition"] = (
        f'attachment; filename="{"".join(c for c in name if c.isalnum() or c in "-_.")}"'
    )
    return response


@team_view("personal_data.manage")
@require_POST
def privacy_erase(request: HtmxHttpRequest) -> HttpResponse:
    form = EraseForm(request.POST, prefix="erase")
    if not form.is_valid():
        return _page(request, status=400, erase_form=form)
    data = form.cleaned_data
    erasure = customer_data_erase(
        actor=request.user, platform=data["platform"], handle=data["handle"], reason=data["reason"]
    )
    messages.success(request, f"Erased: the handle now reads @{erasure.request.pseudonym}.")
    return _page(request, erasure=erasure)
