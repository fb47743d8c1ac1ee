"""The reports dashboard: figures for a date range and filter, beside the previous period, each
leading to the incidents behind it."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, first_error, page_context, team_view
from incidents import selectors as incident_selectors
from protocols.selectors import category_list
from reporting.forms import ReportFilterForm
from reporting.metrics import report_compute
from reporting.presenters import dashboard_context


@team_view("report.view")
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    form = ReportFilterForm(
        request.GET,
        today=now.date(),
        categories=list(category_list()),
        users=list(incident_selectors.assignable_user_list()),
    )
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    query = form.report_query()
    report = report_compute(query=query, user=request.user, now=now)
    previous = report_compute(query=query.previous(), user=request.user, now=now)
    context = {**page_context(request), "nav": "reports", "form": form, **dashboard_context(report, previous)}
    return render(request, "reporting/dashboard.html", context)
