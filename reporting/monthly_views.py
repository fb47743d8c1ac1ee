"""The stored monthly reviews: the list, each as its page, and downloads as HTML and PDF."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from config.pages import HtmxHttpRequest, page_context, team_view
from reporting.models import MonthlyReport


def _report(slug: str) -> MonthlyReport:
    year, _, month = slug.partition("-")
    if not (year.isdigit() and month.isdigit()):
        raise Http404("No such month.")
    report = MonthlyReport.objects.filter(month__year=int(year), month__month=int(month)).first()
    if report is None:
        raise Http404("No review was made for that month.")
    return report


@team_view("report.view")
def monthly_reports(request: HtmxHttpRequest) -> HttpResponse:
    rows = MonthlyReport.objects.defer("html", "pdf")
    return render(
        request, "reporting/monthly_list.html", {**page_context(request), "nav": "reports", "rows": rows}
    )


@team_view("report.view")
def monthly_report(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    # The page was rendered from Firebreak's own template when the report was made (every value
    # escaped then), and is served as stored so it reads as it did.
    response = HttpResponse(_report(slug).html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response


@team_view("report.view")
def monthly_report_download(request: HtmxHttpRequest, slug: str, kind: str) -> HttpResponse:
    if kind not in ("pdf", "html"):
        raise Http404("Reviews download as pdf or html.")
    report = _report(slug)
    if kind == "pdf":
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    else:
        response = HttpResponse(report.html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="firebreak-review-{report.slug}.{kind}"'
    return response
