"""Puts the signed-in user's roles into every template, so pages show only what a role may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from protocols.selectors import user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    return {"user_roles": user_roles(user=getattr(request, "user", None))}
