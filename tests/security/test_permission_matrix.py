"""The permission matrix: every route of the app (pages and API), every method it serves, and what
each role gets — `allow` (past the role check: the answer is the route's own, 2xx or a 4xx about
the input or a missing object), `deny` (403) or `sign-in` (401, or the login page) — checked in as
data in `permission_matrix.csv` and walked whole by this test. A route the matrix does not list, or
one it lists that no longer exists, fails the test too, so no endpoint ships without a decision.

Object ids in the walk are ones that do not exist, so a role that passes the check answers 404 and
one that does not answers 403; whether one user can reach another's object is in the object tests
below. After a deliberate change, `FIREBREAK_MATRIX_RECORD=1 pytest tests/security` rewrites the
file from what the app does, and the diff is what a reviewer reads."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from protocols.models import Role
from protocols.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MATRIX = Path(__file__).with_name("permission_matrix.csv")
WHO = ["anonymous", *[r.value for r in Role], "no_role"]
SKIPPED_PREFIXES = ("admin/", "static/", "__debug__")
PAGE_METHODS = ("get", "post")
# Values for path parameters: objects that do not exist, and tokens/slugs that mean nothing.
PARAMETER_VALUES = {
    "int": "987654",
    "str": "no-such-thing",
    "slug": "no-such-thing",
    "path": "x",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            joined = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), joined)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name, pattern.callback


def served_methods(callback: Any) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        # DRF adds HEAD for GET to this mapping at a viewset's first request: it is not a route of its own.
        return tuple(sorted(set(actions) - {"head", "options"}))
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return tuple(m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m))
    return PAGE_METHODS


def routes() -> list[tuple[str, str]]:
    """(method, route) for every route, route as Django writes it (`incidents/<int:incident_id>/`)."""
    found = set()
    for route, _name, callback in walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        for method in served_methods(callback):
            found.add((method.upper(), route))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def concrete(route: str) -> str:
    """A path for the route: Django's `<int:pk>` converters and the API router's `^…(?P<pk>…)…$`."""

    def value(match: re.Match[str]) -> str:
        return PARAMETER_VALUES.get(match.group(1) or "int", "x")

    path = re.sub(r"\(\?P<\w+>[^)]*\)", PARAMETER_VALUES["int"], route)
    path = re.sub(r"<(?:(\w+):)?\w+>", value, path)
    return "/" + path.replace("^", "").replace("$", "")


def outcome(who: str, status: int, location: str) -> str:
    if status == 403:
        return "deny"
    if status == 401 or (who == "anonymous" and status in (301, 302) and "/login/" in location):
        return "sign-in"
    return "allow"  # for someone signed in, a redirect (even to the login page, after signing out) too


class Callers:
    """One signed-in browser session and one read-and-write API token per role (and none)."""

    def __init__(self) -> None:
        self.users: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}
        for who in WHO[1:]:
            roles = [] if who == "no_role" else [who]
            user = UserFactory(username=f"matrix-{who}", roles=roles)
            self.users[who] = user
            self.tokens[who] = api_token_create(user=user, name="matrix").secret

    def answer(self, who: str, method: str, path: str) -> tuple[int, str]:
        if path.startswith("/api/"):
            client: Any = APIClient(raise_request_exception=False)
            if who != "anonymous":
                client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[who]}")
            response = getattr(client, method.lower())(path, {}, format="json")
        else:
            client = Client(raise_request_exception=False)
            if who != "anonymous":
                client.force_login(self.users[who])  # afresh each time: a route may sign out
            response = getattr(client, method.lower())(path)
        return response.status_code, response.get("Location", "")


def observe(callers: Callers) -> list[dict[str, str]]:
    rows = []
    for method, route in routes():
        path = concrete(route)
        answers = {who: callers.answer(who, method, path) for who in WHO}
        if all(status == 405 for who, (status, _) in answers.items() if who != "anonymous"):
            continue  # a method the route does not serve
        rows.append({"method": method, "route": route, **{who: outcome(who, *answers[who]) for who in WHO}})
    return rows


def test_every_role_gets_what_the_matrix_says_on_every_route(settings: Any) -> None:
    settings.FIREBREAK_LOGIN_PER_MINUTE_PER_IP = 0
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN = settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 0
    observed = observe(Callers())
    if os.environ.get("FIREBREAK_MATRIX_RECORD"):
        with MATRIX.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["method", "route", *WHO], lineterminator="\n")
            writer.writeheader()
            writer.writerows(observed)
    with MATRIX.open(newline="") as handle:
        expected = {(row["method"], row["route"]): row for row in csv.DictReader(handle)}
    seen = {(row["method"], row["route"]): row for row in observed}
    assert sorted(set(seen) - set(expected)) == [], "routes the matrix does not list"
    assert sorted(set(expected) - set(seen)) == [], "routes the matrix lists that no longer exist"
    wrong = [
        f"{method} {route}: {who} expected {expected[(method, route)][who]}, got {row[who]}"
        for (method, route), row in seen.items()
        for who in WHO
        if row[who] != expected[(method, route)][who]
    ]
    assert wrong == []
    cells = len(seen) * len(WHO)
    print(f"\npermission matrix: {len(seen)} route-methods x {len(WHO)} callers = {cells} cells checked")
