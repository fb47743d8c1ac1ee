"""Browser routes of the templates app: the template list and the composer's htmx partials."""

from django.urls import path

from templates_app import views

app_name = "templates_app"
urlpatterns = [
    path("templates/", views.template_list, name="template_list"),
    path("templates/brand-check/", views.brand_check, name="brand_check"),
    path("templates/faq-panel/", views.faq_panel, name="faq_panel"),
]
