"""`GET /healthz`: can this instance reach PostgreSQL and Redis, and is the SLA engine keeping time?
200 when both answer and no clock is overdue by more than FIREBREAK_SLA_MAX_LAG_SECONDS, else 503."""

from __future__ import annotations

from typing import Any

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


def _sla() -> dict[str, Any]:
    # Imported here: the health view must answer even if the app's modules fail to import.
    from incidents.tasks import sla_lag_report, sla_last_audit

    try:
        report = sla_lag_report()
    except Exception as exc:
        return {"state": f"error: {type(exc).__name__}"}
    late = report["lag_seconds"] > settings.FIREBREAK_SLA_MAX_LAG_SECONDS
    return {
        "state": "behind" if late else "ok",
        "oldest_due_at": report["oldest_due_at"],
        "lag_seconds": report["lag_seconds"],
        "max_lag_seconds": settings.FIREBREAK_SLA_MAX_LAG_SECONDS,
        "last_audit": sla_last_audit(),
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database, redis_state = _database(), _redis()
    sla = _sla() if database == "ok" else {"state": "unknown"}
    healthy = database == "ok" and redis_state == "ok" and sla["state"] == "ok"
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "redis": redis_state,
            "sla": sla,
        },
        status=200 if healthy else 503,
    )
