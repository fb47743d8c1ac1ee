"""The incident page (with its Replies card, composer and possible duplicates), its POST actions
(assign, categorize, prioritize, status, edit, resolve, reopen, log a response, acknowledge, answer the
checklist) and the new-incident form. An action answers with its queue row, the page's panels, or a
redirect."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from config.errors import NotFound, PermissionRefused, ValidationFailed
from config.pages import HtmxHttpRequest, page_context, safe_next, team_view, valid_data
from incidents import checklist_selectors, forms, policies, selectors, spike_selectors, survey_selectors
from incidents.clock_selectors import incident_clocks_prefetch, incident_get_with_clocks
from incidents.evidence_selectors import evidence_list_for_incident
from incidents.models import EventKind, Incident, IncidentStatus
from incidents.presenters import (
    ClockView,
    assignee_phrase,
    clock_views,
    queue_rows,
    step_user_ids,
    timeline_entry,
)
from incidents.presenters.checklist import checklist_rows
from incidents.presenters.surge import surge_chart
from incidents.presenters.surveys import SurveyCard, survey_card
from incidents.presenters.timeline import MERGE_EVENTS
from incidents.services import checklists as checklist_services
from incidents.services import incidents as services
from incidents.services.surveys import survey_refusal
from incidents.views.queue import row_context
from incidents.views.replies.card import reply_area_context
from protocols.models import ModerationActionKind, Priority
from protocols.pir_selectors import pir_card_for
from protocols.selectors import category_list, moderation_rule_list


def _clocks(incident: Incident, events: list[Any]) -> tuple[list[ClockView], dict[int, str]]:
    """The incident's clocks (prefetched) explained, and the names of the people that their escalation
    steps and the timeline's escalation events mention."""
    clocks = list(incident.clocks.all())
    names = selectors.user_names_by_id(user_ids=step_user_ids(clocks, events))
    return clock_views(clocks, users=names), names


def incident_context(
    request: HttpRequest,
    incident_id: int,
    *,
    refused: dict[int, tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The incident page's panels, SLA targets, checklist, mentions (oldest first) and timeline.
    `refused` is a checklist answer just refused: the input and why, shown in its question's form."""
    user = request.user
    incident = incident_get_with_clocks(user=user, incident_id=incident_id)
    categories = list(category_list(include_inactive=True))
    names = {c.pk: c.name for c in categories}
    allowed = policies.allowed_actions(user=user)
    events = list(incident.timeline.all())
    clocks, people = _clocks(incident, events)
    similar = selectors.incident_similar_to(user=user, incident=incident) if incident.is_open else []
    # Only a timeline with merges on it can offer to undo one.
    merged = any(e.kind in MERGE_EVENTS for e in events)
    # Only a timeline with a capture on it has evidence to list (no query otherwise).
    captured = any(e.kind == EventKind.EVIDENCE_CAPTURED for e in events)
    evidence = evidence_list_for_incident(user=user, incident_id=incident.pk) if captured else []
    # Only a timeline with a moderation on it has past actions to list under its mentions.
    moderated = any(e.kind == EventKind.MODERATED for e in events)
    mention_rows = incident.mentions.all()
    if moderated:
        mention_rows = mention_rows.prefetch_related("moderation_actions__rule")
    mentions = list(mention_rows)
    undoable = selectors.merges_undoable(incident_id=incident.pk, now=timezone.now()) if merged else {}
    # Only high-priority and crisis categories ask these questions (two queries then, none otherwise).
    checklist = checklist_selectors.incident_checklist(incident_id=incident.pk, category=incident.category)
    # Only spike detection's incidents carry a volume chart and linked mentions (two queries, else none).
    surge = spike_selectors.surge_evidence(thread_key=incident.thread_key, events=events, now=timezone.now())
    return {
        **page_context(request),
        "incident": incident,
        "clocks": clocks,
        "sla_refresh_seconds": settings.FIREBREAK_QUEUE_REFRESH_SECONDS,
        "mentions": mentions,
        "moderated": moderated,
        "moderation_rules": list(moderation_rule_list())
        if mentions and "mention.moderate" in allowed
        else [],
        "moderation_actions": ModerationActionKind.choices,
        "evidence": evidence,
        "timeline": [timeline_entry(e, names, people) for e in events],
        "similar": similar,
        "checklist": checklist,
        "surge": surge,
        "surge_chart": surge_chart(surge.minutes) if surge else None,
        # Only a resolved high-priority or crisis incident has one (one query then, none otherwise).
        "pir_card": pir_card_for(incident=incident) if "pir.view" in allowed else None,
        "survey_card": _survey_card(user, incident, events, allowed),
        "checklist_rows": checklist_rows(checklist, refused=refused) if checklist else [],
        "undoable_merges": set(undoable),
        "categories": [c for c in categories if c.is_active],
        "users": list(selectors.assignable_user_list()) if "incident.assign_other" in allowed else [],
        "priorities": Priority.choices,
        "settable_statuses": [(s.value, s.label) for s in services.SETTABLE_STATUSES],
        "is_mine": incident.assignee_id == user.pk,
        "details_form": forms.DetailsForm(
            initial={name: getattr(incident, name) for name in services.EDITABLE_FIELDS},
            auto_id=f"edit-{incident.pk}-%s",
        ),
        **extra,
    }


def _survey_card(
    user: Any, incident: Incident, events: list[Any], allowed: frozenset[str]
) -> SurveyCard | None:
    """Only a timeline with a survey on it has surveys to list (no query otherwise); the customer's
    language is looked up only where a survey may be sent now."""
    if "survey.view" not in allowed:
        return None
    surveyed = any(e.kind == EventKind.SURVEY_CREATED for e in events)
    surveys = (
        survey_selectors.survey_list_for_incident(user=user, incident_id=incident.pk) if surveyed else []
    )
    may_send = "survey.send" in allowed and survey_refusal(incident=incident) is None
    return survey_card(
        incident,
        surveys,
        now=timezone.now(),
        next_language=survey_selectors.survey_language_for_incident(incident_id=incident.pk)
        if may_send
        else None,
        expiry_days=settings.FIREBREAK_SURVEY_EXPIRY_DAYS,
    )


@team_view("incident.view")
def incident_detail(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    if request.htmx and request.htmx.target == "sla-clocks":
        # The SLA card's own refresh: its clocks only, not the mentions and timeline.
        incident = (
            selectors.incident_base(user=request.user)
            .prefetch_related(incident_clocks_prefetch())
            .filter(pk=incident_id)
            .first()
        )
        if incident is None:
            raise NotFound("Incident not found.")
        context = {
            "incident": incident,
            "clocks": _clocks(incident, [])[0],
            "sla_refresh_seconds": settings.FIREBREAK_QUEUE_REFRESH_SECONDS,
        }
        response = render(request, "incidents/_incident_sla_clocks.html", context)
    else:
        page = incident_context(request, incident_id)
        if "reply.view" in page["allowed"]:
            # The Replies card and the composer come with the page, not after it.
            page.update(reply_area_context(request, page["incident"], page["mentions"]))
        response = render(request, "incidents/incident_detail.html", page)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def after_change(request: HtmxHttpRequest, incident_id: int, message: str) -> HttpResponse:
    """A queue row posts for its row, the incident page for its panels, a plain form for a redirect."""
    flash = [("success", message)]
    target = request.htmx.target if request.htmx else None
    if target and target.startswith("row-"):
        incident = selectors.incident_base(user=request.user).filter(pk=incident_id).first()
        if incident is None:
            raise NotFound("Incident not found.")
        context = {
            **page_context(request),
            **row_context(request, safe_next(request) or reverse("incidents:queue")),
            "row": queue_rows([incident], user=request.user)[0],
            "flash": flash,
        }
        return render(request, "incidents/_queue_row_update.html", context)
    if request.htmx:
        context = incident_context(request, incident_id, flash=flash)
        return render(request, "incidents/_incident_update.html", context)
    messages.success(request, message)
    return redirect(safe_next(request) or reverse("incidents:incident_detail", args=[incident_id]))


@team_view("incident.view")
@require_POST
def incident_assign(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    raw = valid_data(forms.AssignForm(request.POST))["assignee"]
    assignee = forms.chosen_assignee(raw, user=request.user)
    if not policies.can_assign(user=request.user, assignee=assignee):
        raise PermissionRefused("Your role does not allow assigning incidents to someone else.")
    services.incident_assign(actor=request.user, incident_id=incident_id, assignee=assignee)
    who = assignee_phrase(assignee, viewer=request.user)
    message = f"#{incident_id} unassigned." if assignee is None else f"#{incident_id} assigned to {who}."
    return after_change(request, incident_id, message)


@team_view("incident.categorize")
@require_POST
def incident_categorize(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    category = valid_data(forms.CategoryForm(request.POST))["category"]
    services.incident_categorize(actor=request.user, incident_id=incident_id, category=category)
    return after_change(
        request, incident_id, f"#{incident_id} category set to {category.name if category else 'none'}."
    )


@team_view("incident.prioritize")
@require_POST
def incident_prioritize(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    priority = valid_data(forms.PriorityForm(request.POST))["priority"]
    services.incident_set_priority(actor=request.user, incident_id=incident_id, priority=priority)
    return after_change(request, incident_id, f"#{incident_id} priority set to {Priority(priority).label}.")


@team_view("incident.edit")
@require_POST
def incident_status(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    status = valid_data(forms.StatusForm(request.POST))["status"]
    services.incident_set_status(actor=request.user, incident_id=incident_id, status=status)
    return after_change(
        request, incident_id, f"#{incident_id} is now {IncidentStatus(status).label.lower()}."
    )


@team_view("incident.edit")
@require_POST
def incident_edit(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    data = valid_data(forms.DetailsForm(request.POST))
    services.incident_update_details(actor=request.user, incident_id=incident_id, **data)
    return after_change(request, incident_id, f"#{incident_id} details saved.")


@team_view("incident.resolve")
@require_POST
def incident_resolve(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    note = valid_data(forms.NoteForm(request.POST))["note"]
    services.incident_resolve(actor=request.user, incident_id=incident_id, note=note)
    return after_change(request, incident_id, f"#{incident_id} resolved.")


@team_view("incident.reopen")
@require_POST
def incident_reopen(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    note = valid_data(forms.NoteForm(request.POST))["note"]
    services.incident_reopen(actor=request.user, incident_id=incident_id, note=note)
    return after_change(request, incident_id, f"#{incident_id} reopened.")


@team_view("incident.respond")
@require_POST
def incident_respond(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    note = valid_data(forms.NoteForm(request.POST))["note"]
    services.incident_respond(actor=request.user, incident_id=incident_id, note=note)
    return after_change(request, incident_id, f"Response logged on #{incident_id}.")


@team_view("incident.acknowledge")
@require_POST
def incident_acknowledge(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    services.incident_acknowledge(actor=request.user, incident_id=incident_id)
    return after_change(request, incident_id, f"#{incident_id} acknowledged; pending escalations stopped.")


@team_view("incident.identify")
@require_POST
def incident_checklist_answer(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """Answers one question of the checklist. A refused answer stores nothing and comes back in its
    question's form with the reason (htmx swaps only a 200, so a refusal answers 200 there, 400 plain)."""
    raw_question = request.POST.get("question", "")
    if not raw_question.isdigit():
        raise ValidationFailed("Question: Pick a question to answer.")
    question_id, value = int(raw_question), request.POST.get("value", "")
    try:
        checklist_services.incident_checklist_answer(
            actor=request.user, incident_id=incident_id, question_id=question_id, value=value
        )
    except ValidationFailed as exc:
        reason = str(exc.fields.get("value", [exc.message])[0])
        context = incident_context(request, incident_id, refused={question_id: (value, reason)})
        status = 200 if request.htmx else 400
        template = "incidents/_incident_checklist.html" if request.htmx else "incidents/incident_detail.html"
        return render(request, template, context, status=status)
    if not request.htmx:
        messages.success(request, "Answer saved.")
        return redirect(reverse("incidents:incident_detail", args=[incident_id]) + "#checklist")
    context = incident_context(request, incident_id, flash=[("success", "Answer saved.")])
    return render(request, "incidents/_incident_checklist_update.html", context)


@team_view("incident.create")
def incident_create(request: HtmxHttpRequest) -> HttpResponse:
    allowed = policies.allowed_actions(user=request.user)
    users = list(selectors.assignable_user_list()) if "incident.assign_other" in allowed else []
    form = forms.IncidentCreateForm(
        request.POST if request.method == "POST" else None,
        users=users,
        may_assign_self="incident.assign_self" in allowed,
    )
    if form.is_valid():
        data = dict(form.cleaned_data)
        assignee = forms.chosen_assignee(data.pop("assignee"), user=request.user)
        try:
            incident = services.incident_create(actor=request.user, assignee=assignee, **data)
        except ValidationFailed as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Incident #{incident.pk} opened.")
            return redirect("incidents:incident_detail", incident_id=incident.pk)
    context = {**page_context(request), "nav": "new", "form": form}
    return render(request, "incidents/incident_form.html", context, status=400 if form.is_bound else 200)
