"""The reports' CSV downloads: the incidents behind a report (streamed) and its figures, for the same
range and filters as the dashboard."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, first_error, team_view
from reporting.exports import incident_rows_csv, summary_csv
from reporting.figures import report_pair
from reporting.forms import report_filter_form
from reporting.metrics import ReportQuery

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _report_query(request: HtmxHttpRequest) -> ReportQuery:
    form = report_filter_form(request.GET, today=timezone.now().date())
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    return form.report_query()


def _attachment(what: str, query: ReportQuery) -> str:
    last_day = (query.end - timedelta(days=1)).date()
    filename = f"firebreak-{what}-{query.start.date().isoformat()}-to-{last_day.isoformat()}.csv"
    return content_disposition_header(as_attachment=True, filename=filename) or ""


# team_view is typed for HttpResponse but hands any response back untouched, a streaming one too.
@team_view("report.view")  # type: ignore[arg-type]
def export_incidents(request: HtmxHttpRequest) -> StreamingHttpResponse:
    query = _report_query(request)
    rows = incident_rows_csv(query=query, user=request.user)
    return StreamingHttpResponse(
        rows,
        content_type=CSV_CONTENT_TYPE,
        headers={"Content-Disposition": _attachment("incidents", query)},
    )


@team_view("report.view")
def export_summary(request: HtmxHttpRequest) -> HttpResponse:
    query = _report_query(request)
    now = timezone.now()
    report, previous = report_pair(query=query, user=request.user, now=now)
    return HttpResponse(
        summary_csv(report=report, previous=previous),
        content_type=CSV_CONTENT_TYPE,
        headers={"Content-Disposition": _attachment("summary", query)},
    )
