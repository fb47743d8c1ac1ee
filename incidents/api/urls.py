from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api.crisis import CrisisEndView, CrisisRenewView, CrisisView
from incidents.api.evidence import (
    EvidenceCaptureView,
    EvidenceDetailView,
    EvidenceExportView,
    EvidenceHoldView,
    EvidenceReleaseView,
)
from incidents.api.moderation import MentionModerateView
from incidents.api.privacy import PersonalDataEraseView, PersonalDataExportView
from incidents.api.replies import ReplyViewSet
from incidents.api.surveys import IncidentSurveysView
from incidents.api.views import (
    CategoryViewSet,
    IncidentViewSet,
    MentionIntakeView,
    MentionWebhookView,
    MergeUndoView,
)
from incidents.api.webhooks import WebhookDeliveryReplayView, WebhookSubscriptionViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("categories", CategoryViewSet, basename="category")
router.register("replies", ReplyViewSet, basename="reply")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = [
    path("crisis/", CrisisView.as_view(), name="crisis"),
    path("crisis/renew/", CrisisRenewView.as_view(), name="crisis-renew"),
    path("crisis/end/", CrisisEndView.as_view(), name="crisis-end"),
    path("mentions/", MentionIntakeView.as_view(), name="mention-intake"),
    path("hooks/mentions/", MentionWebhookView.as_view(), name="mention-webhook"),
    path("mentions/<int:mention_id>/evidence/", EvidenceCaptureView.as_view(), name="evidence-capture"),
    path("mentions/<int:mention_id>/moderate/", MentionModerateView.as_view(), name="mention-moderate"),
    path("evidence/<int:capture_id>/", EvidenceDetailView.as_view(), name="evidence-detail"),
    path("evidence/<int:capture_id>/hold/", EvidenceHoldView.as_view(), name="evidence-hold"),
    path("evidence/<int:capture_id>/release/", EvidenceReleaseView.as_view(), name="evidence-release"),
    path("evidence/<int:capture_id>/export/", EvidenceExportView.as_view(), name="evidence-export"),
    path("merges/<int:merge_id>/undo/", MergeUndoView.as_view(), name="merge-undo"),
    path("personal-data/export/", PersonalDataExportView.as_view(), name="personal-data-export"),
    path("personal-data/erase/", PersonalDataEraseView.as_view(), name="personal-data-erase"),
    path("incidents/<int:id>/surveys/", IncidentSurveysView.as_view(), name="incident-surveys"),
    path(
        "webhook-deliveries/<uuid:delivery_id>/replay/",
        WebhookDeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    *router.urls,
]
