"""Schemathesis over every operation of the OpenAPI schema, through the app's own WSGI handler and
the real database: generated requests, valid and not, signed in as an admin with a read and write
token. No answer may be a server error or break the schema (its status declared, its body matching).

`make test` runs a few cases per operation (FIREBREAK_FUZZ_EXAMPLES, default 3); `make fuzz` runs
1,000 and prints the counts; FIREBREAK_FUZZ_ONLY=<part of a label>,… narrows a run to some operations."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from protocols.services import api_token_create
from tests.factories import IncidentFactory, mention_payload

# Committed, as under a real server: each request is its own transaction, so a statement that fails
# cannot poison the next call, and a long run does not pile every request's locks into one transaction.
pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("FIREBREAK_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_no_operation_answers_a_server_error_or_breaks_its_schema(admin_user: Any, settings: Any) -> None:
    # Like Django's test client: the handler must not close the test's connection after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _fuzz(admin_user, settings)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(admin_user: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    # Limits would turn later cases into 429s; they have tests of their own.
    settings.FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN = settings.FIREBREAK_INTAKE_PER_MINUTE_PER_IP = 0
    IncidentFactory.create_batch(3)  # something for the list and detail operations to find
    headers = {"Authorization": f"Token {api_token_create(user=admin_user, name='fuzz').secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), headers=headers)
    calls: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}

    only = [part for part in os.environ.get("FIREBREAK_FUZZ_ONLY", "").split(",") if part]
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        if only and not any(part in operation.label for part in only):
            continue
        try:
            _exercise(operation, headers, calls, statuses)
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are listed
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"

    total = sum(calls.values())
    answered = dict(sorted(statuses.items()))
    print(f"\nschemathesis: {len(calls)} operations, {total} calls, statuses {answered}")
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    assert only or len(calls) >= 60  # every operation of the schema was called, not just a few


def _exercise(operation: Any, headers: dict[str, str], calls: Counter[str], statuses: Counter[int]) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=EXAMPLES <= 10,  # make test: the same cases every run
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        calls[operation.label] += 1
        statuses[response.status_code] += 1

    run()


def test_what_the_fuzzing_found_stays_fixed(api_for: Any, admin_user: Any) -> None:
    api = api_for(admin_user)
    # An offset Python accepts and PostgreSQL does not (beyond ±15:59) is read in UTC, not a 500.
    assert api.get("/api/v1/incidents/", {"created_after": "0112-01-10T23:54:56-17:20"}).status_code == 200
    assert api.get("/api/v1/access-audit/", {"at_after": "2026-01-10T23:54:56+23:59"}).status_code == 200
    assert api.get("/api/v1/incidents/", {"created_after": "0001-01-01T00:00:00+05:00"}).status_code == 400
    stored = api.post(
        "/api/v1/mentions/", mention_payload(1, posted_at="0158-01-29T10:23:31+19:06"), format="json"
    )
    assert stored.status_code == 201
    # A NUL in a query string (PostgreSQL cannot hold one) is refused, not passed to a search.
    nul = api.get("/api/v1/faqs/suggested/", {"q": "a\x00b"})
    assert nul.status_code == 400 and "q" in nul.json()["error"]["fields"]
    assert api.get("/api/v1/incidents/", {"q": "\x00"}).status_code == 400
    # Opening hours are wall-clock times without a zone: the schema says so by a pattern, not `time`.
    calendar = api.post(
        "/api/v1/calendars/",
        {
            "name": "Office",
            "time_zone": "Europe/Stockholm",
            "opening_hours": [{"weekday": 0, "opens_at": "09:00", "closes_at": "17:00"}],
        },
        format="json",
    )
    assert calendar.status_code == 201, calendar.content
    assert calendar.json()["opening_hours"][0]["opens_at"] == "09:00:00"
    # A cursor that is not one of ours is the client's mistake (400 naming it), not a missing list (404).
    refused = api.get("/api/v1/approval-chains/", {"cursor": "status"})
    assert refused.status_code == 400 and "cursor" in refused.json()["error"]["fields"]


def test_an_address_no_route_matches_answers_json_under_the_api(api_for: Any, admin_user: Any) -> None:
    api = api_for(admin_user)
    missing = api.get("/api/v1/social-accounts/-3/access/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/social-accounts/999999/access/").status_code == 404
    page = api.get("/no-such-page/")
    assert page.status_code == 404 and "Not found" in page.content.decode()
