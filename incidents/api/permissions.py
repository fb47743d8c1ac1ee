"""Every API view declares which policy action each of its actions needs; an action missing from
the declaration is refused (fail closed)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from incidents import policies


class ActionPermission(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        required: dict[str, str] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None) or request.method.lower()  # type: ignore[union-attr]
        needed = required.get(action)
        if needed is None:
            return False
        return policies.can(user=request.user, action=needed)
