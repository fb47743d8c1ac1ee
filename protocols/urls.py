"""Browser routes of the protocols app: the signed-in user's own API tokens; who has account access;
the public community guidelines."""

from django.urls import path

from protocols import views

app_name = "protocols"
urlpatterns = [
    path("community-guidelines/", views.community_guidelines, name="community_guidelines"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("access/", views.access, name="access"),
    path("access/items/<int:item_id>/tick/", views.access_item_tick, name="access_item_tick"),
    path("access/grants/<int:access_id>/revoke/", views.access_revoke, name="access_revoke"),
]
