"""Who may do what with templates, FAQs and brand guidelines. The role table is incidents.policies'
ACTION_ROLES; this adds the per-object rule that nobody approves words they wrote."""

from __future__ import annotations

from typing import Any

from config.errors import PermissionRefused
from incidents import policies
from templates_app.models import TemplateVersion

REFUSALS = {
    "template.view": "Your role does not allow reading templates.",
    "template.edit": "Your role does not allow writing templates.",
    "template.approve": "Only a manager or an admin may approve or retire templates.",
    "faq.view": "Your role does not allow reading FAQs and talking points.",
    "faq.edit": "Your role does not allow changing FAQs and talking points.",
    "brand.view": "Your role does not allow reading the brand guidelines.",
    "brand.edit": "Your role does not allow changing the brand guidelines.",
}


def require(*, user: Any, action: str) -> None:
    if not policies.can(user=user, action=action):
        raise PermissionRefused(REFUSALS.get(action, "Your role does not allow this action."))


def version_author_ids(*, version: TemplateVersion) -> set[int]:
    return {version.created_by_id, *version.authors.values_list("pk", flat=True)}


def require_can_approve(*, user: Any, version: TemplateVersion) -> None:
    require(user=user, action="template.approve")
    if user.pk in version_author_ids(version=version):
        raise PermissionRefused(
            "You wrote words of this version, so someone else (a manager or an admin) must approve it."
        )
