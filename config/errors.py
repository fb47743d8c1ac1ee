"""The one error type services raise; the API and the browser each turn it into their answer."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, fields: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    status_code = 400
    code = "invalid"


class PermissionRefused(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """A compare-and-set lost: somebody else changed the object first. Nothing was changed."""

    status_code = 409
    code = "conflict"
