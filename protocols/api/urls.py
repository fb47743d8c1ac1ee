"""API routes of the response plan (SLA side and approval side), mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from protocols.api.approval_views import ApprovalChainViewSet, ApprovalRuleViewSet, SocialAccountViewSet
from protocols.api.views import BusinessCalendarViewSet, EscalationChainViewSet, SlaPolicyViewSet

router = SimpleRouter()
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", BusinessCalendarViewSet, basename="calendar")
router.register("escalation-chains", EscalationChainViewSet, basename="escalation-chain")
router.register("social-accounts", SocialAccountViewSet, basename="social-account")
router.register("approval-chains", ApprovalChainViewSet, basename="approval-chain")
router.register("approval-rules", ApprovalRuleViewSet, basename="approval-rule")

urlpatterns = router.urls
