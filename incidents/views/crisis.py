"""The crisis-mode page: whether it is on and why, and for managers the forms that switch it on (from an
incident or on its own), renew it and end it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.pages import HtmxHttpRequest, page_context, team_view, valid_data
from incidents import policies
from incidents.models import CrisisMode, Incident
from incidents.services import crisis as services
from protocols.models import Role
from templates_app.models import ResponseTemplate, TemplateKind

PUBLISHER_CHOICES = [(r.value, r.label) for r in Role if r not in (Role.INTEGRATION, Role.ADMIN)]


class StartForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    incident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    hours = forms.IntegerField(min_value=1, max_value=services.MAX_HOURS, initial=services.DEFAULT_HOURS)
    publisher_roles = forms.MultipleChoiceField(
        choices=PUBLISHER_CHOICES,
        initial=[Role.SPOKESPERSON, Role.PR],
        widget=forms.CheckboxSelectMultiple,
        label="Who may still publish",
    )
    stay_silent = forms.BooleanField(required=False, label="Stay silent: only the holding statement")
    holding_template = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Holding statement"
    )
    status_update_minutes = forms.IntegerField(min_value=5, max_value=24 * 60, initial=60)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        holding = ResponseTemplate.objects.filter(
            kind=TemplateKind.HOLDING_STATEMENT, current_version__isnull=False
        ).order_by("name")
        field = self.fields["holding_template"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "None"), *((t.pk, t.name) for t in holding)]


class RenewForm(forms.Form):
    hours = forms.IntegerField(min_value=1, max_value=services.MAX_HOURS, initial=services.DEFAULT_HOURS)


class EndForm(forms.Form):
    reason = forms.CharField(max_length=2000, required=False)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    incident_id = request.GET.get("incident", "")
    about = Incident.objects.filter(pk=int(incident_id)).first() if incident_id.isdigit() else None
    return {
        **page_context(request),
        "nav": "crisis",
        "about": about,
        "start_form": StartForm(initial={"incident": about.pk if about else None}),
        "renew_form": RenewForm(),
        "end_form": EndForm(),
        "may_manage": policies.can(user=request.user, action="crisis.manage"),
        "past": list(CrisisMode.objects.filter(ended_at__isnull=False).select_related("incident")[:10]),
        **extra,
    }


@team_view("crisis.view")
def crisis_page(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "incidents/crisis.html", _context(request))


@team_view("crisis.manage")
@require_POST
def crisis_start(request: HtmxHttpRequest) -> HttpResponse:
    form = StartForm(request.POST)
    if not form.is_valid():
        return render(request, "incidents/crisis.html", _context(request, start_form=form), status=400)
    data = form.cleaned_data
    crisis = services.crisis_start(
        actor=request.user,
        reason=data["reason"],
        incident_id=data["incident"],
        hours=data["hours"],
        stay_silent=data["stay_silent"],
        publisher_roles=data["publisher_roles"],
        holding_template_id=data["holding_template"],
        status_update_minutes=data["status_update_minutes"],
    )
    messages.success(request, "Crisis mode is on.")
    return redirect(reverse("incidents:incident_detail", args=[crisis.incident_id]))


@team_view("crisis.manage")
@require_POST
def crisis_renew(request: HtmxHttpRequest) -> HttpResponse:
    services.crisis_renew(actor=request.user, hours=valid_data(RenewForm(request.POST))["hours"])
    messages.success(request, "Crisis mode renewed.")
    return redirect(reverse("incidents:crisis"))


@team_view("crisis.manage")
@require_POST
def crisis_end(request: HtmxHttpRequest) -> HttpResponse:
    services.crisis_end(actor=request.user, reason=valid_data(EndForm(request.POST))["reason"])
    messages.success(request, "Crisis mode is off.")
    return redirect(reverse("incidents:crisis"))
