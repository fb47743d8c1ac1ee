"""Writes to the audit log that the database cannot see: sign-ins, their failures, sign-outs, lockouts,
refused API tokens and refused requests. Configuration changes are written by the tables' triggers.

Each is one INSERT on the request's connection, outside any transaction of the request's work (a
refusal has none), and a failure raises: the record is never dropped silently."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from protocols.models import AuditAction, AuditEvent, AuditKind

PATH_MAX = 500
MESSAGE_MAX = 300


def request_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the rate limits see it (DRF's: `REMOTE_ADDR`, or the `X-Forwarded-For`
    entry of the trusted proxy); None when that is not an address."""
    if request is None:
        return None
    try:
        # get_ident reads only request.META, which a Django request has as well as DRF's
        return str(ipaddress.ip_address(BaseThrottle().get_ident(cast(Any, request)) or ""))
    except ValueError:
        return None


def _request_id(request: HttpRequest | None) -> str:
    return str(getattr(request, "audit_request_id", "")) if request is not None else ""


def _actor(user: Any) -> tuple[int | None, str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return user.pk, user.get_username()


def audit_auth_record(
    *,
    action: str,
    request: HttpRequest | None,
    user: Any = None,
    username: str = "",
    reason: str = "",
) -> AuditEvent:
    """A sign-in, a failed one (the username tried, never the password), a sign-out, a lockout or a
    refused API token."""
    actor_id, actor_name = _actor(user)
    details: dict[str, Any] = {}
    if username:
        details["username"] = username[:150]
    if reason:
        details["reason"] = reason[:MESSAGE_MAX]
    if request is not None:
        details["path"] = request.path[:PATH_MAX]
    return AuditEvent.objects.create(
        at=timezone.now(),
        kind=AuditKind.AUTH,
        action=action,
        actor_id=actor_id,
        actor_name=actor_name,
        details=details,
        ip=request_ip(request),
        request_id=_request_id(request),
    )


def audit_refusal_record(
    *, request: HttpRequest, user: Any, needed: str = "", view_action: str = "", message: str = ""
) -> AuditEvent:
    """A request the app refused (403): who, what (method, path, the policy action it needed)."""
    actor_id, actor_name = _actor(user)
    details: dict[str, Any] = {"method": request.method or "", "path": request.path[:PATH_MAX]}
    if needed:
        details["needed"] = needed
    if view_action:
        details["view_action"] = view_action
    if message:
        details["message"] = message[:MESSAGE_MAX]
    return AuditEvent.objects.create(
        at=timezone.now(),
        kind=AuditKind.REFUSAL,
        action=AuditAction.REFUSED,
        actor_id=actor_id,
        actor_name=actor_name,
        details=details,
        ip=request_ip(request),
        request_id=_request_id(request),
    )
