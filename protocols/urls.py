"""Browser routes of the protocols app: the signed-in user's own API tokens."""

from django.urls import path

from protocols import views

app_name = "protocols"
urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
