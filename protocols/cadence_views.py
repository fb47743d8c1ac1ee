"""Browser pages of the review cadence: /reviews/ lists the plan objects whose review is overdue or due
within 7 days (managers and admins see all, owners theirs), each with an htmx "Mark reviewed", and the
post-incident reviews in progress with the user's own open action items."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from config.pages import HtmxHttpRequest, page_context, team_view, valid_data
from incidents import policies
from protocols.models import PirState
from protocols.pir_selectors import pir_action_item_list, pir_list
from protocols.review_selectors import (
    ReviewState,
    may_see_all_reviews,
    protocol_reviews_due,
    review_item,
    review_schedule_get,
    review_schedule_list,
)
from protocols.services.cadence import NOT_GIVEN, NOTE_MAX, review_mark_reviewed

NEVER = "never"
PIR_DRAFTS_SHOWN = 20


class ReviewedForm(forms.Form):
    note = forms.CharField(max_length=NOTE_MAX, required=False)
    # The last review the page showed ("never" when there was none): a review since answers 409.
    seen = forms.CharField(required=False)

    def clean_seen(self) -> Any:
        raw = self.cleaned_data["seen"].strip()
        if not raw:
            return NOT_GIVEN
        if raw == NEVER:
            return None
        moment = forms.DateTimeField().clean(raw)
        if moment is None:
            raise forms.ValidationError("Reload the page and try again.")
        return moment


@team_view("review.view")
def reviews(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    items = protocol_reviews_due(now=now, user=request.user)
    page = page_context(request)
    pirs = items_due = None
    if "pir.view" in page["allowed"]:
        pirs = list(pir_list(user=request.user).filter(state=PirState.DRAFT)[:PIR_DRAFTS_SHOWN])
        items_due = list(
            pir_action_item_list(user=request.user).filter(owner_id=request.user.pk, done_at__isnull=True)
        )
    context: dict[str, Any] = {
        **page,
        "nav": "reviews",
        "pir_drafts": pirs,
        "my_action_items": items_due,
        "today": timezone.localdate(now),
        "overdue": [i for i in items if i.state == ReviewState.OVERDUE],
        "due_soon": [i for i in items if i.state == ReviewState.DUE_SOON],
        "later_count": review_schedule_list(user=request.user).count() - len(items),
        "sees_all": may_see_all_reviews(user=request.user),
        "may_configure": policies.can(user=request.user, action="review.manage") and request.user.is_staff,
        "now": now,
    }
    return render(request, "protocols/reviews.html", context)


@team_view("review.mark_own")
@require_POST
def review_mark(request: HtmxHttpRequest, schedule_id: int) -> HttpResponse:
    """Marks one review done; htmx swaps the row for its new state, a form post reloads the page."""
    data = valid_data(ReviewedForm(request.POST))
    review_mark_reviewed(
        actor=request.user,
        schedule_id=schedule_id,
        note=data["note"],
        expected_last_reviewed_at=data["seen"],
    )
    item = review_item(review_schedule_get(user=request.user, schedule_id=schedule_id), now=timezone.now())
    due = dateformat.format(timezone.localtime(item.due_at), "j M Y")
    message = f"Marked {item.kind_label.lower()} “{item.name}” reviewed; next review due {due}."
    if not request.htmx:
        messages.success(request, message)
        return redirect("protocols:reviews")
    context = {"item": item, "just_reviewed": True, "now": timezone.now(), "flash": [("success", message)]}
    return render(request, "protocols/_review_row_update.html", context)
