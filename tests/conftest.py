"""Named users with fixed roles, API clients, and the Redis database the tests own."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from protocols.models import Role
from protocols.services import api_token_create
from tests.factories import CategoryFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


# Rows that data migrations put in every database, by the model they fill. A transactional test
# (threads, live server, real workers) ends by truncating every table, so a later test could otherwise
# run without them.
_SEEDED_BY_MIGRATIONS = [
    ("templates_app.PlatformLimit", "templates_app.migrations.0002_platform_limits", "add_limits")
]


@pytest.fixture(autouse=True)
def _rows_seeded_by_migrations(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not {"db", "transactional_db", "live_server"} & names:
        return
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & names
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.apps import apps

    for model, module, function in _SEEDED_BY_MIGRATIONS:
        if not apps.get_model(model).objects.exists():
            getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def responder(db: Any) -> Any:
    return UserFactory(username="riley", roles=[Role.RESPONDER])


@pytest.fixture
def liaison(db: Any) -> Any:
    return UserFactory(username="sam", roles=[Role.SUPPORT_LIAISON])


@pytest.fixture
def pr_user(db: Any) -> Any:
    return UserFactory(username="parker", roles=[Role.PR])


@pytest.fixture
def legal(db: Any) -> Any:
    return UserFactory(username="lee", roles=[Role.LEGAL])


@pytest.fixture
def manager(db: Any) -> Any:
    return UserFactory(username="morgan", roles=[Role.MANAGER])


@pytest.fixture
def spokesperson(db: Any) -> Any:
    return UserFactory(username="sky", roles=[Role.SPOKESPERSON])


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="ada", roles=[Role.ADMIN])


@pytest.fixture
def integration(db: Any) -> Any:
    return UserFactory(username="bridge", roles=[Role.INTEGRATION])


@pytest.fixture
def outsider(db: Any) -> Any:
    """Signed in, but holds no role at all."""
    return UserFactory(username="olly")


@pytest.fixture
def category(db: Any) -> Any:
    return CategoryFactory(name="Routine complaint", slug="routine-complaint")


@pytest.fixture
def api_for() -> Callable[[Any], APIClient]:
    """An API client authenticated with a real token of the given user."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        issued = api_token_create(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.secret}")
        return client

    return make
