"""A NUL character in a query string is refused with 400 before any view reads it: PostgreSQL cannot
hold one in text, so a view passing a search term straight to a query would answer 500. Form fields
and JSON bodies refuse NUL through their own validators."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from config.api_errors import error_body
from config.pages import error_response

MESSAGE = "The address holds a NUL character, which no field accepts."


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = next(
            (key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in v for v in values)),
            None,
        )
        if field is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(error_body("invalid", MESSAGE, {field: [MESSAGE]}), status=400)
        return error_response(request, MESSAGE, status=400)  # type: ignore[arg-type]
