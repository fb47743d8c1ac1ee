"""What a request answers when PostgreSQL or Redis cannot be reached: 503 with `Retry-After`, at once
(the connection timeouts are seconds, not minutes), instead of a 500 or a hang. It is Django's
handler500, which every uncaught exception reaches, from a view or from a middleware; the answer is
rendered without the database or the cache, since either may be what is down. Nothing is half-stored:
a request's writes are in a transaction that the failure rolls back, and work queued for workers is
only sent once its transaction has committed."""

from __future__ import annotations

import logging
import sys

import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.defaults import server_error as django_server_error

from config.api_errors import error_body

logger = logging.getLogger("firebreak.outage")

RETRY_AFTER_SECONDS = 30
DATABASE_ERRORS = (OperationalError, InterfaceError)
CACHE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def unavailable_service(exc: BaseException | None) -> str | None:
    """'the database' or 'Redis' when `exc` (or what caused it) is one of theirs being unreachable."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, DATABASE_ERRORS):
            return "the database"
        if isinstance(exc, CACHE_ERRORS):
            return "Redis"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    service = unavailable_service(sys.exc_info()[1])
    if service is None:
        if request.path.startswith("/api/"):
            return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
        return django_server_error(request)
    logger.error("answering 503: %s cannot be reached (%s %s)", service, request.method, request.path)
    message = f"Firebreak cannot reach {service} right now. Nothing was changed; try again in a minute."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body("unavailable", message), status=503)
    else:
        page = loader.get_template("firebreak/outage.html").render({"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
