"""One JSON error shape for every API failure: {"error": {"code", "message", "fields"}}; refusals and
refused API tokens are written to the audit log."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError
from protocols.models import AuditAction
from protocols.services.audit import audit_auth_record, audit_refusal_record


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _audit(exc: Exception, context: dict[str, Any]) -> None:
    """Refusals (403) and refused API tokens go to the audit log before the answer is made."""
    request = context.get("request")
    if request is None:
        return
    if isinstance(exc, exceptions.AuthenticationFailed):
        audit_auth_record(action=AuditAction.TOKEN_FAILED, request=request._request, reason=str(exc.detail))
        return
    refused = isinstance(exc, exceptions.PermissionDenied) or (
        isinstance(exc, DomainError) and exc.status_code == 403
    )
    if not refused:
        return
    view = context.get("view")
    view_action = getattr(view, "action", None) or (request.method or "").lower()
    needed = getattr(view, "action_permissions", {}).get(view_action, "")
    message = exc.message if isinstance(exc, DomainError) else str(getattr(exc, "detail", ""))
    audit_refusal_record(
        request=request._request, user=request.user, needed=needed, view_action=view_action, message=message
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    _audit(exc, context)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(fields, list):
            fields = {"non_field_errors": fields}
        first = next(iter(fields.items()), None) if isinstance(fields, dict) else None
        message = "Invalid input."
        if first is not None:
            field, problems = first
            problem = problems[0] if isinstance(problems, list) and problems else problems
            message = f"{field}: {problem}" if isinstance(problem, str) else "Invalid input."
        response.data = error_body("invalid", message, fields)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
    response.data = error_body(code, str(detail))
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for an address no route matches: the API's JSON error shape under /api/, the
    page everywhere else."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)
    return page_not_found(request, exception)
