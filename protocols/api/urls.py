"""API routes of the response plan (SLA side, approval side, account access, review cadence and
post-incident reviews), mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from protocols.api import access_views
from protocols.api.approval_views import ApprovalChainViewSet, ApprovalRuleViewSet, SocialAccountViewSet
from protocols.api.audit_views import AuditEventViewSet
from protocols.api.pir_views import PirActionItemViewSet, PostIncidentReviewViewSet
from protocols.api.review_views import ProtocolReviewViewSet
from protocols.api.views import BusinessCalendarViewSet, EscalationChainViewSet, SlaPolicyViewSet

router = SimpleRouter()
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", BusinessCalendarViewSet, basename="calendar")
router.register("escalation-chains", EscalationChainViewSet, basename="escalation-chain")
router.register("social-accounts", SocialAccountViewSet, basename="social-account")
router.register("approval-chains", ApprovalChainViewSet, basename="approval-chain")
router.register("approval-rules", ApprovalRuleViewSet, basename="approval-rule")
router.register(
    "offboarding-checklists", access_views.OffboardingChecklistViewSet, basename="offboarding-checklist"
)
router.register("access-audit", access_views.AccessAuditViewSet, basename="access-audit")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("protocol-reviews", ProtocolReviewViewSet, basename="protocol-review")
router.register("post-incident-reviews", PostIncidentReviewViewSet, basename="post-incident-review")
router.register("pir-action-items", PirActionItemViewSet, basename="pir-action-item")

urlpatterns = [
    path(
        "social-accounts/<int:account_id>/access/",
        access_views.SocialAccountAccessView.as_view(),
        name="social-account-access",
    ),
    path(
        "account-access/<int:access_id>/revoke/",
        access_views.AccountAccessRevokeView.as_view(),
        name="account-access-revoke",
    ),
    path("users/<int:user_id>/offboard/", access_views.UserOffboardView.as_view(), name="user-offboard"),
    path(
        "offboarding-items/<int:item_id>/tick/",
        access_views.OffboardingItemTickView.as_view(),
        name="offboarding-item-tick",
    ),
    *router.urls,
]
