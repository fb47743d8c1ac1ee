"""Browser actions on evidence: capture a mention (with an optional screenshot), put a capture on legal
hold or release it, and download its zip export. Each answers like the incident page's other actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.pages import HtmxHttpRequest, team_view
from incidents.services import evidence as services
from incidents.views.incident import after_change


def _answer(request: HtmxHttpRequest, incident_id: int | None, message: str) -> HttpResponse:
    if incident_id is not None:
        return after_change(request, incident_id, message)
    # A mention outside any incident has no page to refresh.
    messages.success(request, message)
    return redirect(reverse("incidents:queue"))


@team_view("evidence.capture")
@require_POST
def evidence_capture(request: HtmxHttpRequest, mention_id: int) -> HttpResponse:
    capture = services.evidence_capture(
        actor=request.user,
        mention_id=mention_id,
        note=request.POST.get("note", ""),
        screenshots=request.FILES.getlist("screenshots"),
    )
    message = f"Evidence captured (SHA-256 {capture.sha256[:12]}…)."
    return _answer(request, capture.incident_id, message)


@team_view("evidence.hold")
@require_POST
def evidence_hold(request: HtmxHttpRequest, capture_id: int) -> HttpResponse:
    capture = services.evidence_hold(actor=request.user, capture_id=capture_id)
    return _answer(request, capture.incident_id, "Evidence put on legal hold.")


@team_view("evidence.hold")
@require_POST
def evidence_release(request: HtmxHttpRequest, capture_id: int) -> HttpResponse:
    capture = services.evidence_release(actor=request.user, capture_id=capture_id)
    return _answer(request, capture.incident_id, "Legal hold released.")


@team_view("evidence.view")
@require_GET
def evidence_export(request: HtmxHttpRequest, capture_id: int) -> HttpResponse:
    data = services.evidence_export(actor=request.user, capture_id=capture_id)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="evidence-{capture_id}.zip"'
    return response
