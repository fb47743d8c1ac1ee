"""API routes of templates, FAQs and brand guidelines, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from templates_app.api.brand import (
    BannedPhraseViewSet,
    BrandCheckView,
    PlatformLimitViewSet,
    RequiredElementViewSet,
    ToneNoteViewSet,
)
from templates_app.api.faqs import FaqViewSet
from templates_app.api.templates import TemplateViewSet

router = SimpleRouter()
router.register("templates", TemplateViewSet, basename="template")
router.register("faqs", FaqViewSet, basename="faq")
router.register("brand/banned-phrases", BannedPhraseViewSet, basename="banned-phrase")
router.register("brand/required-elements", RequiredElementViewSet, basename="required-element")
router.register("brand/platform-limits", PlatformLimitViewSet, basename="platform-limit")
router.register("brand/tone-notes", ToneNoteViewSet, basename="tone-note")

urlpatterns = [
    path("brand-check/", BrandCheckView.as_view(), name="brand-check"),
    *router.urls,
]
