"""Health and start-up checks.

`GET /healthz` tells a load balancer or Docker whether this instance reaches PostgreSQL and Redis;
`python -m config.preflight` (run by `make run`) says what is down, how to start it, and which
variable points at it, and creates the database when only that is missing.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client, override_settings
from psycopg2 import sql

from config import health, preflight

CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"


# --- GET /healthz --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_when_postgres_and_redis_answer(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "redis")} == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
    }
    assert body["sla"]["state"] == "ok" and body["sla"]["lag_seconds"] == 0.0
    assert "no-store" in response["Cache-Control"]  # a proxy must never replay an old answer


@pytest.mark.django_db
def test_healthz_turns_503_when_a_clock_is_more_than_a_minute_overdue(client: Client, responder: Any) -> None:
    """The sweeper stopped: the oldest unfired due moment is reported, and past 60 s the app is unhealthy."""
    from datetime import timedelta

    from django.utils import timezone

    from incidents.services.incidents import incident_create
    from incidents.services.sweeper import sla_sweep
    from incidents.tasks import sla_audit
    from protocols.models import SlaPolicy
    from tests.sla import at

    SlaPolicy.objects.create(name="Default", first_response_minutes=10)
    start = timezone.now()
    with at(start):
        incident_create(actor=responder, title="Nobody sweeps")
    due = start + timedelta(minutes=10)
    with at(due + timedelta(seconds=59)):
        assert client.get("/healthz").status_code == 200
    with at(due + timedelta(seconds=61)):
        report = sla_audit()
        response = client.get("/healthz")
        assert response.status_code == 503
        sla = response.json()["sla"]
        assert sla["state"] == "behind" and sla["oldest_due_at"] == due.isoformat()
        assert sla["lag_seconds"] == 61.0 and sla["last_audit"] == report
        sla_sweep()  # the sweeper catches up: healthy again
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_answers_503_naming_redis_when_redis_is_unreachable(client: Client) -> None:
    with override_settings(REDIS_URL=CLOSED_REDIS_URL):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error: ")


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_database_when_it_fails(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenConnection:
        def cursor(self) -> Any:
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "error: OperationalError",
        "redis": "ok",
        "sla": {"state": "unknown"},
    }


def test_healthz_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


# --- config.preflight ----------------------------------------------------------------------------


def server_url(database: str, port: int | None = None) -> str:
    """A DATABASE_URL for `database` on the PostgreSQL server the tests use."""
    db = settings.DATABASES["default"]
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{database}"


def maintenance_connection() -> Any:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        dbname="postgres",
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        connect_timeout=5,
    )
    conn.autocommit = True
    return conn


def database_exists(name: str) -> bool:
    conn = maintenance_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cursor.fetchone() is not None
    finally:
        conn.close()


def drop_database(name: str) -> None:
    conn = maintenance_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture
def throwaway_database() -> Iterator[str]:
    """A database name that does not exist yet, dropped again afterwards."""
    name = f"firebreak_preflight_test_{uuid.uuid4().hex[:8]}"
    drop_database(name)
    try:
        yield name
    finally:
        drop_database(name)


def test_preflight_passes_when_everything_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", server_url("postgres"))
    monkeypatch.setenv("REDIS_URL", settings.REDIS_URL)

    assert preflight.main() == 0
    assert capsys.readouterr().err == ""


def test_preflight_names_redis_how_to_start_it_and_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", server_url("postgres"))
    monkeypatch.setenv("REDIS_URL", CLOSED_REDIS_URL)

    assert preflight.main() == 1

    err = capsys.readouterr().err
    assert f"Redis is not reachable at {CLOSED_REDIS_URL}" in err
    assert preflight.REDIS_START in err
    assert "REDIS_URL" in err
    assert "PostgreSQL" not in err


def test_preflight_names_postgres_how_to_start_it_and_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = server_url("firebreak", port=1)
    monkeypatch.setenv("DATABASE_URL", unreachable)
    monkeypatch.setenv("REDIS_URL", settings.REDIS_URL)

    assert preflight.main() == 1

    err = capsys.readouterr().err
    assert "PostgreSQL is not reachable at" in err
    assert ":1 (" in err
    assert preflight.PG_START in err
    assert f"DATABASE_URL at your server (now: {unreachable})" in err
    assert "Redis" not in err


def test_preflight_reports_both_when_both_are_down(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", server_url("firebreak", port=1))
    monkeypatch.setenv("REDIS_URL", CLOSED_REDIS_URL)

    assert preflight.main() == 1

    err = capsys.readouterr().err
    assert "DATABASE_URL" in err
    assert "REDIS_URL" in err


def test_preflight_creates_a_missing_database_once(
    throwaway_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", server_url(throwaway_database))
    monkeypatch.setenv("REDIS_URL", settings.REDIS_URL)
    assert not database_exists(throwaway_database)

    assert preflight.main() == 0
    assert f"Created database {throwaway_database!r}." in capsys.readouterr().out
    assert database_exists(throwaway_database)

    assert preflight.main() == 0
    assert "Created database" not in capsys.readouterr().out
