"""Browser pages of post-incident reviews: /reviews/incidents/<id>/ shows the incident's timeline,
checklist answers and metrics read-only, then the review itself (what went well, what did not, action
items, lessons), each part saved by its own htmx form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import NotFound
from config.pages import HtmxHttpRequest, page_context, team_view, valid_data
from incidents import policies
from protocols.models import PirState, ReviewKind
from protocols.pir_selectors import pir_get, pir_id_for_incident, pir_page
from protocols.review_selectors import review_schedule_base
from protocols.services.post_incident import (
    LESSON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    pir_action_item_add,
    pir_action_item_done,
    pir_lesson_link,
    pir_open,
    pir_save,
    pir_save_and_complete,
)


class TextForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    what_went_well = forms.CharField(max_length=TEXT_MAX, required=False, strip=False)
    what_did_not = forms.CharField(max_length=TEXT_MAX, required=False, strip=False)
    action = forms.ChoiceField(choices=[("save", "Save"), ("complete", "Save and complete")], required=False)


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    owner = forms.IntegerField(label="Owner")
    due_on = forms.DateField(label="Due on")


class LessonForm(forms.Form):
    schedule = forms.IntegerField(label="Plan object")
    text = forms.CharField(max_length=LESSON_MAX, label="What should change")


def _review_id(incident_id: int) -> int:
    review_id = pir_id_for_incident(incident_id=incident_id)
    if review_id is None:
        raise NotFound("This incident has no post-incident review yet.")
    return review_id


def _team_members() -> list[Any]:
    roles = policies.ACTION_ROLES["pir.view"]
    return list(
        get_user_model()
        ._default_manager.filter(is_active=True, role_assignments__role__in=roles)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _plan_objects() -> list[tuple[str, list[Any]]]:
    """The live plan objects a lesson can name, grouped by kind, for the lesson form's select."""
    rows = list(review_schedule_base().order_by("kind", F("subject_name").asc(), "id"))
    return [
        (str(label), [row for row in rows if row.kind == kind])
        for kind, label in ReviewKind.choices
        if any(row.kind == kind for row in rows)
    ]


def _parts(request: HtmxHttpRequest, review_id: int) -> dict[str, Any]:
    """What the review's own parts (text, action items, lessons) need to render."""
    review = pir_get(user=request.user, review_id=review_id)
    allowed = policies.allowed_actions(user=request.user)
    is_draft = review.state == PirState.DRAFT
    return {
        "review": review,
        "incident_id": review.incident_id,
        "allowed": allowed,
        "may_edit": is_draft and "pir.edit" in allowed,
        "may_complete": is_draft and "pir.complete" in allowed,
        "today": timezone.localdate(),
    }


@team_view("pir.view")
def pir_page_view(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    page = pir_page(user=request.user, incident_id=incident_id, now=timezone.now())
    context: dict[str, Any] = {**page_context(request), "page": page, "incident": page.incident}
    if page.review is not None:
        context.update(_parts(request, page.review.pk))
        if context["may_edit"]:
            context.update({"members": _team_members(), "plan_objects": _plan_objects()})
    return render(request, "protocols/pir_page.html", context)


@team_view("pir.edit")
@require_POST
def pir_open_view(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    pir_open(actor=request.user, incident_id=incident_id)
    messages.success(request, f"Post-incident review of #{incident_id} opened.")
    return redirect("protocols:pir_page", incident_id=incident_id)


def _answer(request: HtmxHttpRequest, incident_id: int, template: str, message: str) -> HttpResponse:
    """htmx gets the part again (with a toast); a plain form post goes back to the page."""
    if not request.htmx:
        messages.success(request, message)
        return redirect("protocols:pir_page", incident_id=incident_id)
    context = {**_parts(request, _review_id(incident_id)), "flash": [("success", message)]}
    if context["may_edit"]:
        context.update({"members": _team_members(), "plan_objects": _plan_objects()})
    return render(request, template, context)


@team_view("pir.edit")
@require_POST
def pir_save_view(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """Saves the text; "Save and complete" then completes it (managers), and the page reloads read-only."""
    data = valid_data(TextForm(request.POST))
    text = {
        "actor": request.user,
        "review_id": _review_id(incident_id),
        "expected_version": data["version"],
        "what_went_well": data["what_went_well"],
        "what_did_not": data["what_did_not"],
    }
    if data["action"] != "complete":
        pir_save(**text)
        return _answer(request, incident_id, "protocols/_pir_text_update.html", "Review saved.")
    pir_save_and_complete(**text)
    messages.success(request, f"Post-incident review of #{incident_id} completed.")
    page = reverse("protocols:pir_page", args=[incident_id])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = page
        return response
    return redirect(page)


@team_view("pir.edit")
@require_POST
def pir_action_add_view(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    data = valid_data(ActionItemForm(request.POST))
    item = pir_action_item_add(
        actor=request.user,
        review_id=_review_id(incident_id),
        title=data["title"],
        owner_id=data["owner"],
        due_on=data["due_on"],
    )
    owner = item.owner.get_full_name() or item.owner.get_username()
    return _answer(
        request, incident_id, "protocols/_pir_actions_update.html", f"Action item added for {owner}."
    )


@team_view("pir.view")
@require_POST
def pir_action_done_view(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    item = pir_action_item_done(actor=request.user, item_id=item_id)
    incident_id = item.review.incident_id
    return _answer(request, incident_id, "protocols/_pir_actions_update.html", f"Done: {item.title}.")


@team_view("pir.edit")
@require_POST
def pir_lesson_add_view(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    data = valid_data(LessonForm(request.POST))
    pir_lesson_link(
        actor=request.user, review_id=_review_id(incident_id), schedule_id=data["schedule"], text=data["text"]
    )
    message = "Lesson linked; that part of the plan is now due for review and its owner was told."
    return _answer(request, incident_id, "protocols/_pir_lessons_update.html", message)
