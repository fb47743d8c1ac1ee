"""Browser actions for duplicates: merge this incident into a suggested one, and undo a merge from the
timeline. Each answers with the page to look at next (an htmx request is told to go there)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, team_view
from incidents.services import merge as services


def _go(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    url = reverse("incidents:incident_detail", args=[incident_id])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@team_view("incident.merge")
@require_POST
def incident_merge(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    raw = request.POST.get("into", "")
    if not raw.isdigit():
        raise ValidationFailed("Choose the incident to merge into.")
    merge = services.incident_merge(actor=request.user, source_id=incident_id, target_id=int(raw))
    messages.success(request, f"#{merge.source_id} merged into #{merge.target_id}. Undo from the timeline.")
    return _go(request, merge.target_id)


@team_view("incident.merge")
@require_POST
def merge_undo(request: HtmxHttpRequest, merge_id: int) -> HttpResponse:
    merge = services.incident_merge_undo(actor=request.user, merge_id=merge_id)
    messages.success(request, f"Merge undone: #{merge.source_id} is separate from #{merge.target_id} again.")
    return _go(request, merge.source_id)
