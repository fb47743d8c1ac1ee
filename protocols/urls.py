"""Browser routes of the protocols app: the signed-in user's own API tokens; who has account access;
the public community guidelines; the review cadence of the plan and post-incident reviews."""

from django.urls import path

from protocols import audit_views, cadence_views, pir_views, session_views, views

app_name = "protocols"
urlpatterns = [
    path("community-guidelines/", views.community_guidelines, name="community_guidelines"),
    path("sign-out-everywhere/", session_views.sign_out_everywhere, name="sign_out_everywhere"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("access/", views.access, name="access"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("access/items/<int:item_id>/tick/", views.access_item_tick, name="access_item_tick"),
    path("access/grants/<int:access_id>/revoke/", views.access_revoke, name="access_revoke"),
    path("reviews/", cadence_views.reviews, name="reviews"),
    path("reviews/<int:schedule_id>/reviewed/", cadence_views.review_mark, name="review_mark"),
    path("reviews/incidents/<int:incident_id>/", pir_views.pir_page_view, name="pir_page"),
    path("reviews/incidents/<int:incident_id>/open/", pir_views.pir_open_view, name="pir_open"),
    path("reviews/incidents/<int:incident_id>/save/", pir_views.pir_save_view, name="pir_save"),
    path(
        "reviews/incidents/<int:incident_id>/action-items/",
        pir_views.pir_action_add_view,
        name="pir_action_add",
    ),
    path(
        "reviews/incidents/<int:incident_id>/lessons/", pir_views.pir_lesson_add_view, name="pir_lesson_add"
    ),
    path("reviews/action-items/<int:item_id>/done/", pir_views.pir_action_done_view, name="pir_action_done"),
]
