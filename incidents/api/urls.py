from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api.replies import ReplyViewSet
from incidents.api.views import CategoryViewSet, IncidentViewSet, MentionIntakeView, MentionWebhookView

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("categories", CategoryViewSet, basename="category")
router.register("replies", ReplyViewSet, basename="reply")

urlpatterns = [
    path("mentions/", MentionIntakeView.as_view(), name="mention-intake"),
    path("hooks/mentions/", MentionWebhookView.as_view(), name="mention-webhook"),
    *router.urls,
]
