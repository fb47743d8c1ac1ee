"""The reports dashboard: figures for a date range and filter, beside the previous period, each
leading to the incidents behind it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, first_error, page_context, team_view
from protocols.review_selectors import protocol_reviews_due
from reporting.figures import report_pair
from reporting.forms import report_filter_form
from reporting.presenters import dashboard_context

REVIEWS_SHOWN = 10


@team_view("report.view")
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    form = report_filter_form(request.GET, today=now.date())
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    query = form.report_query()
    report, previous = report_pair(query=query, user=request.user, now=now)
    context = {**page_context(request), "nav": "reports", "form": form, **dashboard_context(report, previous)}
    # The exports take the range and filters shown, so a download matches the page even a day later.
    context["export_query"] = urlencode(
        {"start": form.cleaned_data["start"], "end": form.cleaned_data["end"], **query.filters}
    )
    return render(request, "reporting/dashboard.html", context)


@team_view("report.view")
def reviews_due(request: HtmxHttpRequest) -> HttpResponse:
    """The dashboard's card of the plan's reviews that are overdue or due within a week (the protocols
    app decides which and whose), loaded beside the figures rather than holding them up."""
    due = protocol_reviews_due(now=timezone.now(), user=request.user)
    context = {"reviews_due": due[:REVIEWS_SHOWN], "reviews_due_count": len(due)}
    return render(request, "reporting/_reviews_due.html", context)
