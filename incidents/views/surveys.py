"""The incident page's "Send a survey" action: the survey is created with its invitation drafted as a
reply, and the page answers with its panels, the Customer satisfaction card and the Replies card (the
new draft takes the keyboard focus, ready to be submitted or published)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.pages import HtmxHttpRequest, team_view
from incidents.services import replies as reply_services
from incidents.services import surveys as services
from incidents.views.incident import incident_context
from incidents.views.replies.card import card_context


@team_view("survey.send")
@require_POST
def survey_send(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    survey = services.survey_send(actor=request.user, incident_id=incident_id)
    message = (
        f"Survey #{survey.pk} drafted as reply #{survey.reply_id}: the link goes out when it is published."
    )
    if not request.htmx:
        messages.success(request, message)
        return redirect(
            reverse("incidents:incident_detail", args=[incident_id]) + f"#reply-{survey.reply_id}"
        )
    context = incident_context(request, incident_id, flash=[("success", message)])
    incident, mentions = context["incident"], context["mentions"]
    plan = reply_services.approval_plan_for_incident(incident=incident)
    context.update(card_context(request, incident, mentions, plan, focus=survey.reply_id), card_oob=True)
    return render(request, "incidents/_reply_update.html", context)
