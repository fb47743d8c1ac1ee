"""Browser routes of the incidents app: the triage queue, saved views, the incident page and its
POST actions (merging duplicates, capturing evidence and sending a satisfaction survey too), replies with
their composer and actions, the approval inbox (each answers a page, or an htmx partial when htmx asks),
the customer's survey page, and outbound webhook subscriptions with their delivery logs."""

from django.urls import path

from incidents.views import (
    crisis,
    evidence,
    incident,
    merge,
    moderation,
    notifications,
    privacy,
    queue,
    survey_page,
    surveys,
    webhooks,
)
from incidents.views.replies import actions, card, composer, inbox

app_name = "incidents"
urlpatterns = [
    path("", queue.queue, name="queue"),
    path("crisis/", crisis.crisis_page, name="crisis"),
    path("privacy/", privacy.privacy, name="privacy"),
    path("privacy/export/", privacy.privacy_export, name="privacy_export"),
    path("privacy/erase/", privacy.privacy_erase, name="privacy_erase"),
    path("crisis/on/", crisis.crisis_start, name="crisis_start"),
    path("crisis/renew/", crisis.crisis_renew, name="crisis_renew"),
    path("crisis/end/", crisis.crisis_end, name="crisis_end"),
    path("incidents/bulk/", queue.incidents_bulk, name="bulk"),
    path("views/", queue.saved_view_create, name="saved_view_create"),
    path("views/<int:view_id>/delete/", queue.saved_view_delete, name="saved_view_delete"),
    path("incidents/new/", incident.incident_create, name="incident_create"),
    path("incidents/<int:incident_id>/", incident.incident_detail, name="incident_detail"),
    path("incidents/<int:incident_id>/assign/", incident.incident_assign, name="incident_assign"),
    path("incidents/<int:incident_id>/categorize/", incident.incident_categorize, name="incident_categorize"),
    path("incidents/<int:incident_id>/prioritize/", incident.incident_prioritize, name="incident_prioritize"),
    path("incidents/<int:incident_id>/status/", incident.incident_status, name="incident_status"),
    path("incidents/<int:incident_id>/edit/", incident.incident_edit, name="incident_edit"),
    path("incidents/<int:incident_id>/resolve/", incident.incident_resolve, name="incident_resolve"),
    path("incidents/<int:incident_id>/reopen/", incident.incident_reopen, name="incident_reopen"),
    path("incidents/<int:incident_id>/respond/", incident.incident_respond, name="incident_respond"),
    path(
        "incidents/<int:incident_id>/checklist/",
        incident.incident_checklist_answer,
        name="incident_checklist",
    ),
    path(
        "incidents/<int:incident_id>/acknowledge/", incident.incident_acknowledge, name="incident_acknowledge"
    ),
    path("incidents/<int:incident_id>/merge/", merge.incident_merge, name="incident_merge"),
    path("incidents/<int:incident_id>/surveys/", surveys.survey_send, name="survey_send"),
    # the customer's satisfaction survey: no sign-in, the signed token is the credential
    path("survey/<str:token>/", survey_page.survey_page, name="survey_page"),
    path("mentions/<int:mention_id>/evidence/", evidence.evidence_capture, name="evidence_capture"),
    path("mentions/<int:mention_id>/moderate/", moderation.mention_moderate, name="mention_moderate"),
    path("evidence/<int:capture_id>/hold/", evidence.evidence_hold, name="evidence_hold"),
    path("evidence/<int:capture_id>/release/", evidence.evidence_release, name="evidence_release"),
    path("evidence/<int:capture_id>/export/", evidence.evidence_export, name="evidence_export"),
    path("merges/<int:merge_id>/undo/", merge.merge_undo, name="merge_undo"),
    path("incidents/<int:incident_id>/replies/", card.reply_card, name="reply_card"),
    path("incidents/<int:incident_id>/replies/live/", card.reply_live, name="reply_live"),
    path("incidents/<int:incident_id>/replies/new/", actions.reply_new, name="reply_new"),
    path("incidents/<int:incident_id>/replies/writing/", card.reply_writing, name="reply_writing"),
    path(
        "incidents/<int:incident_id>/replies/template/", composer.composer_template, name="composer_template"
    ),
    path("incidents/<int:incident_id>/replies/fill/", composer.composer_render, name="composer_render"),
    path("incidents/<int:incident_id>/replies/check/", composer.composer_check, name="composer_check"),
    path("incidents/<int:incident_id>/replies/faqs/", composer.composer_faqs, name="composer_faqs"),
    path("replies/<int:reply_id>/edit/", actions.reply_edit, name="reply_edit"),
    path("replies/<int:reply_id>/submit/", actions.reply_submit, name="reply_submit"),
    path("replies/<int:reply_id>/approve/", actions.reply_approve, name="reply_approve"),
    path(
        "replies/<int:reply_id>/request-changes/", actions.reply_request_changes, name="reply_request_changes"
    ),
    path("replies/<int:reply_id>/withdraw/", actions.reply_withdraw, name="reply_withdraw"),
    path("replies/<int:reply_id>/publish/", actions.reply_publish, name="reply_publish"),
    path("approvals/", inbox.approvals, name="approvals"),
    path("approvals/nav/", inbox.approvals_nav, name="approvals_nav"),
    path("webhooks/", webhooks.webhooks, name="webhooks"),
    path("webhooks/<int:subscription_id>/", webhooks.webhook_detail, name="webhook_detail"),
    path(
        "webhooks/<int:subscription_id>/deactivate/", webhooks.webhook_deactivate, name="webhook_deactivate"
    ),
    path(
        "webhook-deliveries/<uuid:delivery_id>/replay/",
        webhooks.webhook_delivery_replay,
        name="webhook_delivery_replay",
    ),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
    path("notifications/read-all/", notifications.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<int:notification_id>/read/",
        notifications.notification_read,
        name="notification_read",
    ),
]
