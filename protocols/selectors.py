"""Reads of the response plan: a user's roles, categories, triage rules, tokens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from protocols.models import ApiToken, Category, RoleAssignment, TriageRule

_ROLES_ATTR = "_firebreak_roles"


def user_roles(*, user: Any) -> frozenset[str]:
    """The roles a user holds, read once per user object (so once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLES_ATTR, None)
    if cached is None:
        cached = frozenset(RoleAssignment.objects.filter(user_id=user.pk).values_list("role", flat=True))
        setattr(user, _ROLES_ATTR, cached)
    return cached


def forget_user_roles(*, user: Any) -> None:
    if hasattr(user, _ROLES_ATTR):
        delattr(user, _ROLES_ATTR)


def category_list(*, include_inactive: bool = False) -> QuerySet[Category]:
    qs = Category.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


def triage_rule_list_active() -> list[TriageRule]:
    return list(
        TriageRule.objects.filter(is_active=True).select_related("set_category").order_by("position", "id")
    )


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")


def api_token_get_own(*, user: Any, token_id: int) -> ApiToken | None:
    """One of the user's own tokens; another user's token reads as missing."""
    return ApiToken.objects.filter(user_id=user.pk, pk=token_id).first()
