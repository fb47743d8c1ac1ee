"""What a protocol review is about: each kind of plan object with a review cadence, its model, the field
that names it, which of its rows are still in use, and where it is edited."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.urls import reverse

from protocols.models import ReviewKind

MODERATION_POLICY_NAME = "Community guidelines (moderation policy)"


@dataclass(frozen=True)
class ReviewSubject:
    kind: str
    model_label: str  # "app_label.ModelName"; empty for the moderation policy (one document, no row)
    name_field: str
    live: Q  # rows still in use: a retired template or an inactive category is not reviewed

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def admin_url(self, object_id: int | None) -> str:
        if not self.model_label:
            return reverse("admin:protocols_moderationrule_changelist")
        meta = self.model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id])


SUBJECTS: dict[str, ReviewSubject] = {
    subject.kind: subject
    for subject in (
        ReviewSubject(ReviewKind.CATEGORY, "protocols.Category", "name", Q(is_active=True)),
        ReviewSubject(ReviewKind.SLA_POLICY, "protocols.SlaPolicy", "name", Q(is_active=True)),
        ReviewSubject(ReviewKind.ESCALATION_CHAIN, "protocols.EscalationChain", "name", Q()),
        ReviewSubject(ReviewKind.APPROVAL_CHAIN, "protocols.ApprovalChain", "name", Q()),
        ReviewSubject(ReviewKind.TEMPLATE, "templates_app.ResponseTemplate", "name", ~Q(status="retired")),
        ReviewSubject(ReviewKind.FAQ, "templates_app.FaqEntry", "title", Q(is_active=True)),
        ReviewSubject(ReviewKind.MODERATION_POLICY, "", "", Q()),
    )
}
OBJECT_KINDS = tuple(kind for kind, subject in SUBJECTS.items() if subject.model_label)
