"""REST routes of the reports (under /api/v1/)."""

from django.urls import path

from reporting.api import views

urlpatterns = [
    path("reports/summary/", views.ReportSummaryView.as_view(), name="api-report-summary"),
]
