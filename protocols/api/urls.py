"""API routes of the response plan's SLA side, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from protocols.api.views import BusinessCalendarViewSet, EscalationChainViewSet, SlaPolicyViewSet

router = SimpleRouter()
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("calendars", BusinessCalendarViewSet, basename="calendar")
router.register("escalation-chains", EscalationChainViewSet, basename="escalation-chain")

urlpatterns = router.urls
