"""Browser routes of the incidents app: the triage queue, saved views, the incident page and its
POST actions (each answers a page, or an htmx partial when htmx asks)."""

from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("incidents/bulk/", views.incidents_bulk, name="bulk"),
    path("views/", views.saved_view_create, name="saved_view_create"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:incident_id>/assign/", views.incident_assign, name="incident_assign"),
    path("incidents/<int:incident_id>/categorize/", views.incident_categorize, name="incident_categorize"),
    path("incidents/<int:incident_id>/prioritize/", views.incident_prioritize, name="incident_prioritize"),
    path("incidents/<int:incident_id>/status/", views.incident_status, name="incident_status"),
    path("incidents/<int:incident_id>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:incident_id>/resolve/", views.incident_resolve, name="incident_resolve"),
    path("incidents/<int:incident_id>/reopen/", views.incident_reopen, name="incident_reopen"),
]
