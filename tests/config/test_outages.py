"""When Redis or PostgreSQL cannot be reached, a request answers 503 with Retry-After at once (not a
500, not a hang), stores nothing, and the next request after the service is back works by itself.
Both outages are real: a Redis address nothing listens on, a database connection terminated by the
server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from rest_framework.test import APIClient

from incidents.models import Mention
from protocols.services import api_token_create
from tests.factories import mention_payload

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connection is refused at once


def down_redis(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.mark.django_db
def test_with_redis_down_pages_and_the_api_answer_503_at_once_and_store_nothing(
    settings: Any, responder: Any, integration: Any
) -> None:
    secret = api_token_create(user=integration, name="intake").secret
    down_redis(settings)
    page = Client(raise_request_exception=False)
    page.force_login(responder)
    started = time.monotonic()
    answer = page.get("/")
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
    assert "cannot reach Redis" in answer.content.decode()
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    pushed = api.post("/api/v1/mentions/", mention_payload(1), format="json")
    assert pushed.status_code == 503 and pushed.json()["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 10
    assert not Mention.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_when_the_database_drops_the_connection_the_request_gets_503_and_the_next_one_works(
    responder: Any,
) -> None:
    page = Client(raise_request_exception=False)
    page.force_login(responder)
    assert page.get("/").status_code == 200
    # PostgreSQL ends this process's connection (as a restart does) from another connection.
    own_pid = connection.connection.info.backend_pid
    import psycopg2

    settings_dict = connection.settings_dict
    admin = psycopg2.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [own_pid])
    admin.close()
    answer = page.get("/")
    assert answer.status_code == 503 and "cannot reach the database" in answer.content.decode()
    # At the start of each request Django drops a connection that failed (request_started); the
    # test client switches that off, so do what the next request would do.
    close_old_connections()
    assert page.get("/").status_code == 200
