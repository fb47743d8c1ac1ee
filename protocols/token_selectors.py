"""Reads of API tokens across users, for admins; a user's own tokens are read in protocols.selectors
(which the permission checks themselves import, so this cannot live there)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from incidents import policies
from protocols.models import ApiToken
from protocols.selectors import api_token_get_own


def api_token_list_all(*, user: Any) -> QuerySet[ApiToken]:
    """Every user's tokens with their owner, for an admin (`token.manage_all`); nobody else sees them."""
    if not policies.can(user=user, action="token.manage_all"):
        return ApiToken.objects.none()
    return ApiToken.objects.select_related("user").order_by("-created_at")


def api_token_get_any(*, user: Any, token_id: int) -> ApiToken | None:
    """Any user's token for an admin; for anyone else, only their own (another's reads as missing)."""
    if policies.can(user=user, action="token.manage_all"):
        return ApiToken.objects.filter(pk=token_id).first()
    return api_token_get_own(user=user, token_id=token_id)
