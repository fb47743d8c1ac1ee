"""`GET /healthz`: can this instance reach PostgreSQL and Redis? 200 when both answer, else 503."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means "not reachable"; the type is reported
        return f"error: {type(exc).__name__}"


def _redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database, redis_state = _database(), _redis()
    healthy = database == "ok" and redis_state == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "redis": redis_state},
        status=200 if healthy else 503,
    )
