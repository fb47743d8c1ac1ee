"""Top-level routes: the browser app, the admin, the REST API and its schema, the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from config.health import healthz

urlpatterns = [
    path("", include("incidents.urls")),
    path("", include("protocols.urls")),
    path("", include("templates_app.urls")),
    path("", include("reporting.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("protocols.api.urls")),
    path("api/v1/", include("templates_app.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    # The schema and its docs need a signed-in user or a token, like the rest of the API.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file, so the docs page runs under the CSP.
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]),
        name="api-docs",
    ),
    path("healthz", healthz, name="healthz"),
]

handler404 = "config.api_errors.not_found"
handler500 = "config.outage.server_error"
