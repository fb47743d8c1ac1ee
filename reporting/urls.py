"""Browser routes of the reports."""

from django.urls import path

from reporting import export_views, monthly_views, views

app_name = "reporting"

urlpatterns = [
    path("reports/", views.dashboard, name="dashboard"),
    path("reports/reviews-due/", views.reviews_due, name="reviews_due"),
    path("reports/export/incidents.csv", export_views.export_incidents, name="export_incidents"),
    path("reports/export/summary.csv", export_views.export_summary, name="export_summary"),
    path("reports/monthly/", monthly_views.monthly_reports, name="monthly_reports"),
    path("reports/monthly/<str:slug>/", monthly_views.monthly_report, name="monthly_report"),
    path(
        "reports/monthly/<str:slug>.<str:kind>",
        monthly_views.monthly_report_download,
        name="monthly_report_download",
    ),
]
