"""Reading captured evidence: one capture with its items' hashes, and an incident's evidence list.
The items' bytes are left out; only the export reads them."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from config.errors import NotFound, PermissionRefused
from incidents import policies
from incidents.models import EvidenceCapture, EvidenceItem


def _captures() -> QuerySet[EvidenceCapture]:
    items = EvidenceItem.objects.defer("content").order_by("id")
    return EvidenceCapture.objects.prefetch_related(Prefetch("items", queryset=items))


def evidence_get(*, user: Any, capture_id: int) -> EvidenceCapture:
    if not policies.can(user=user, action="evidence.view"):
        raise PermissionRefused("Your role does not allow this action.")
    capture = _captures().filter(pk=capture_id).first()
    if capture is None:
        raise NotFound("Evidence not found.")
    return capture


def evidence_with_items(*, capture_id: int) -> EvidenceCapture:
    """No role check: for answering a service call that already made one."""
    return _captures().get(pk=capture_id)


def evidence_list_for_incident(*, user: Any, incident_id: int) -> list[EvidenceCapture]:
    if not policies.can(user=user, action="evidence.view"):
        return []
    return list(_captures().filter(incident_id=incident_id).order_by("-captured_at", "-id"))
