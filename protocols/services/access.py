"""Who gets in: the roles a user holds, and API tokens (the secret shown once, only its digest kept)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import ValidationFailed
from protocols.models import ApiToken, RoleAssignment, TokenScope
from protocols.selectors import forget_user_roles

TOKEN_PREFIX_LEN = 8


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; never stored


def api_token_create(
    *, user: Any, name: str, expires_at: datetime | None = None, scope: str = TokenScope.WRITE
) -> IssuedToken:
    if scope not in TokenScope.values:
        choices = ", ".join(TokenScope.values)
        raise ValidationFailed(
            f"A token's scope is one of {choices}.", fields={"scope": [f"Not one of {choices}."]}
        )
    raw = "fb_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        scope=scope,
        prefix=raw[: TOKEN_PREFIX_LEN + 3],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=raw)


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke once; returns False when it was already revoked (idempotent). Who may revoke which token
    is the caller's question (`api_token_get_own`, or `api_token_get_any` for admins)."""
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return changed == 1


@transaction.atomic
def user_roles_set(*, user: Any, roles: list[str]) -> None:
    RoleAssignment.objects.filter(user=user).exclude(role__in=roles).delete()
    for role in roles:
        RoleAssignment.objects.get_or_create(user=user, role=role)
    forget_user_roles(user=user)
