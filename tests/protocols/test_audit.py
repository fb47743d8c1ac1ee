"""The audit log: every configuration change is recorded by the database with who made it and what changed
(whatever path it took), sign-ins and refusals are recorded by the app, nothing recorded can be changed or
deleted, and admins (only) read it on /audit/, as CSV and over the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, QuerySet
from django.test import Client
from psycopg2.extras import execute_values
from rest_framework.test import APIClient

from protocols.audit_actor import acting_as, task_finished, task_started
from protocols.audit_tables import AUDITED, EXEMPT
from protocols.models import AuditEvent, BusinessCalendar, Category, SlaPolicy
from protocols.services import api_token_create, api_token_revoke, sla_policy_update
from tests.factories import CategoryFactory, UserFactory
from tests.sla import routine_policy

_SINCE: list[int] = [0]


@pytest.fixture(autouse=True)
def _only_this_tests_rows(db: Any) -> None:
    # The log outlives what other tests' real workers committed and cleaned up (it cannot be deleted),
    # so each test reads only the rows written after it started.
    _SINCE[0] = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def recorded() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(id__gt=_SINCE[0])


def config_rows(table: str, object_id: Any) -> list[AuditEvent]:
    return list(recorded().filter(table_name=table, object_id=str(object_id)).order_by("id"))


def staff_client(user: Any) -> Client:
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def policy(db: Any) -> SlaPolicy:
    return routine_policy(
        calendar=BusinessCalendar.objects.create(name="Office", time_zone="Europe/Stockholm")
    )


# --- configuration changes, whatever path they take ------------------------------------------------------


def test_a_change_through_the_api_names_the_token_user_and_old_and_new(
    api_for: Callable[[Any], APIClient], admin_user: Any, policy: SlaPolicy
) -> None:
    response = api_for(admin_user).patch(
        f"/api/v1/sla-policies/{policy.pk}/",
        {"is_active": False, "first_response_minutes": 90},
        format="json",
    )
    assert response.status_code == 200, response.content
    (row,) = [r for r in config_rows("protocols_slapolicy", policy.pk) if r.action == "update"]
    assert (row.actor_id, row.actor_name, row.kind) == (admin_user.pk, "ada", "config")
    assert row.changes == {
        "is_active": {"old": True, "new": False},
        "first_response_minutes": {"old": 24 * 60, "new": 90},
    }
    assert len(row.request_id) == 32


def test_a_change_through_a_service_is_recorded_with_the_actor_its_caller_names(
    admin_user: Any, policy: SlaPolicy
) -> None:
    with acting_as(admin_user):
        sla_policy_update(actor=admin_user, policy_id=policy.pk, warn_at_percent=80)
    (row,) = [r for r in config_rows("protocols_slapolicy", policy.pk) if r.action == "update"]
    assert (row.actor_id, row.actor_name) == (admin_user.pk, "ada")
    assert row.changes == {"warn_at_percent": {"old": 75, "new": 80}}
    # outside any request, task or acting_as block (a shell, a migration) there is nobody to name
    sla_policy_update(actor=admin_user, policy_id=policy.pk, warn_at_percent=85)
    last = config_rows("protocols_slapolicy", policy.pk)[-1]
    assert (last.actor_id, last.actor_name, last.changes) == (
        None,
        "",
        {"warn_at_percent": {"old": 80, "new": 85}},
    )


def test_a_category_changed_in_the_django_admin_is_one_row_with_old_and_new(admin_user: Any) -> None:
    category = CategoryFactory(name="Billing", slug="billing")
    client = staff_client(admin_user)
    response = client.post(
        f"/admin/protocols/category/{category.pk}/change/",
        {
            "name": "Billing and refunds",
            "slug": "billing",
            "tier": "high_priority",
            "description": "",
            "is_active": "on",
            "checklist_questions-TOTAL_FORMS": "0",
            "checklist_questions-INITIAL_FORMS": "0",
            "checklist_questions-MIN_NUM_FORMS": "0",
            "checklist_questions-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (row,) = [r for r in config_rows("protocols_category", category.pk) if r.action == "update"]
    assert (row.actor_id, row.actor_name) == (admin_user.pk, "ada")
    assert row.changes == {
        "name": {"old": "Billing", "new": "Billing and refunds"},
        "tier": {"old": "routine", "new": "high_priority"},
    }


def test_inserts_deletes_and_bulk_updates_are_recorded_and_no_op_saves_are_not(db: Any) -> None:
    category = Category.objects.create(name="Shipping", slug="shipping")
    category.save()  # nothing changed: no row
    Category.objects.filter(pk=category.pk).update(description="Late parcels")  # a bulk UPDATE
    pk = category.pk
    category.delete()
    rows = config_rows("protocols_category", pk)
    assert [r.action for r in rows] == ["insert", "update", "delete"]
    assert rows[0].changes["name"] == {"old": None, "new": "Shipping"}
    assert rows[1].changes == {"description": {"old": "", "new": "Late parcels"}}
    assert rows[2].changes["description"] == {"old": "Late parcels", "new": None}


def test_a_raw_statement_sent_as_bytes_is_recorded_with_its_actor(admin_user: Any) -> None:
    with acting_as(admin_user), connection.cursor() as cursor:
        execute_values(
            cursor,
            b"INSERT INTO protocols_category (name, slug, tier, description, is_active) "
            b"VALUES %s RETURNING id",
            [("Bulk", "bulk", "routine", "", True)],
        )
        (pk,) = cursor.fetchone()
    (row,) = config_rows("protocols_category", pk)
    assert (row.action, row.actor_name) == ("insert", "ada")


def test_a_password_change_is_recorded_without_the_hash(admin_user: Any, responder: Any) -> None:
    old_hash = responder.password
    before = len(config_rows("auth_user", responder.pk))
    responder.set_password("a-new-secret-password")
    responder.save()
    (row,) = config_rows("auth_user", responder.pk)[before:]
    assert row.changes == {"password": {"secret": True}}
    stored = str(row.changes) + str(row.details)
    assert old_hash not in stored and responder.password not in stored
    html = staff_client(admin_user).get("/audit/", {"table": "auth_user"}).content.decode()
    assert "password</span>:" in html and "changed" in html and responder.password not in html


def test_token_secrets_are_never_copied_and_last_use_is_not_a_change(responder: Any) -> None:
    issued = api_token_create(user=responder, name="Listening tool")
    (created,) = config_rows("protocols_apitoken", issued.token.pk)
    assert created.changes["digest"] == {"secret": True}
    assert issued.token.digest not in str(created.changes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.secret}")
    assert client.get("/api/v1/categories/").status_code == 200  # writes last_used_at
    assert len(config_rows("protocols_apitoken", issued.token.pk)) == 1
    api_token_revoke(token=issued.token)
    revoked = config_rows("protocols_apitoken", issued.token.pk)[-1]
    assert list(revoked.changes) == ["revoked_at"]


def test_role_changes_are_recorded(admin_user: Any, responder: Any) -> None:
    client = staff_client(admin_user)
    assignment = responder.role_assignments.get()
    response = client.post(f"/admin/protocols/roleassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    (row,) = config_rows("protocols_roleassignment", assignment.pk)[-1:]
    assert (row.action, row.actor_name) == ("delete", "ada")
    assert row.changes["role"] == {"old": "responder", "new": None}


# --- append-only --------------------------------------------------------------------------------------


def test_the_database_refuses_to_change_or_delete_an_audit_row(db: Any) -> None:
    CategoryFactory(name="Refunds", slug="refunds")
    row = AuditEvent.objects.latest("id")
    for statement in (
        "UPDATE protocols_auditevent SET actor_name = 'someone else' WHERE id = %s",
        "DELETE FROM protocols_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.get(pk=row.pk).actor_name == row.actor_name


# --- sign-ins and refusals ----------------------------------------------------------------------------


def test_sign_in_failure_and_sign_out_are_recorded_with_the_address(responder: Any) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.post("/login/", {"username": "riley", "password": "wrong-password"})
    client.post("/login/", {"username": "riley", "password": "pw"})
    client.post("/logout/")
    rows = list(recorded().filter(kind="auth").order_by("id"))
    assert [r.action for r in rows] == ["login_failed", "login", "logout"]
    assert {r.ip for r in rows} == {"203.0.113.7"}
    failed, signed_in, signed_out = rows
    assert failed.actor_id is None and failed.details["username"] == "riley"
    assert "wrong-password" not in str(failed.details)
    assert (signed_in.actor_id, signed_out.actor_id) == (responder.pk, responder.pk)


@pytest.mark.skipif(not apps.is_installed("axes"), reason="django-axes is not installed")
def test_a_lockout_is_recorded(responder: Any, settings: Any) -> None:
    client = Client(REMOTE_ADDR="198.51.100.4")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "riley", "password": "nope"})
    (locked,) = recorded().filter(action="locked_out")
    assert (locked.details["username"], locked.ip) == ("riley", "198.51.100.4")


def test_refused_tokens_are_recorded(responder: Any) -> None:
    issued = api_token_create(user=responder, name="Old")
    api_token_revoke(token=issued.token)
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.secret}")
    assert client.get("/api/v1/categories/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token fb_not-a-token")
    assert client.get("/api/v1/categories/").status_code == 401
    rows = list(recorded().filter(action="token_failed").order_by("id"))
    assert [r.details["reason"] for r in rows] == ["Invalid or revoked token.", "Invalid or revoked token."]
    assert {r.ip for r in rows} == {"192.0.2.9"}
    assert issued.secret not in str([r.details for r in rows])


def test_a_refused_page_and_a_refused_api_call_are_recorded(
    api_for: Callable[[Any], APIClient], responder: Any, policy: SlaPolicy
) -> None:
    client = Client()
    client.force_login(responder)
    assert client.get("/access/").status_code == 403
    response = api_for(responder).patch(f"/api/v1/sla-policies/{policy.pk}/", {"is_active": False})
    assert response.status_code == 403
    page, api = recorded().filter(kind="refusal").order_by("id")
    assert (page.actor_id, page.details) == (
        responder.pk,
        {"method": "GET", "path": "/access/", "needed": "access.view"},
    )
    assert api.actor_id == responder.pk
    assert api.details["path"] == f"/api/v1/sla-policies/{policy.pk}/"
    assert (api.details["method"], api.details["needed"], api.details["view_action"]) == (
        "PATCH",
        "sla.manage",
        "partial_update",
    )
    assert not config_rows("protocols_slapolicy", policy.pk)[1:]  # nothing changed


# --- the actor never outlives its request ---------------------------------------------------------------


def test_a_requests_actor_does_not_leak_into_the_next_request_on_the_connection(
    api_for: Callable[[Any], APIClient], admin_user: Any, policy: SlaPolicy
) -> None:
    url = f"/api/v1/sla-policies/{policy.pk}/"
    assert api_for(admin_user).patch(url, {"warn_at_percent": 70}, format="json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('firebreak.actor_id', true), "
            "current_setting('firebreak.actor_name', true)"
        )
        assert cursor.fetchone() == ("", "")
    Client().get("/login/")  # an anonymous request on the same connection
    SlaPolicy.objects.filter(pk=policy.pk).update(warn_at_percent=60)  # and a write after it
    first, second = [r for r in config_rows("protocols_slapolicy", policy.pk) if r.action == "update"]
    assert (first.actor_name, second.actor_name, second.actor_id) == ("ada", "", None)


def test_a_celery_task_writes_as_system_and_an_eager_one_as_its_caller(admin_user: Any) -> None:
    task_started("7f0c-task", is_eager=False)
    try:
        Category.objects.create(name="Nightly", slug="nightly")
    finally:
        task_finished("7f0c-task")
    with acting_as(admin_user):
        task_started("eager-task", is_eager=True)
        Category.objects.create(name="Inline", slug="inline")
        task_finished("eager-task")
    Category.objects.create(name="After", slug="after")
    rows = recorded().filter(table_name="protocols_category").order_by("id")
    assert [(r.actor_name, r.request_id) for r in rows] == [
        ("system", "7f0ctask"),
        ("ada", rows[1].request_id),
        ("", ""),
    ]


# --- every table is audited or exempt on purpose --------------------------------------------------------


def _tables_of(label: str) -> set[str]:
    models = apps.get_app_config(label).get_models(include_auto_created=True)
    return {model._meta.db_table for model in models}


def test_every_model_of_the_plan_and_the_templates_is_audited_or_exempt() -> None:
    tables = _tables_of("protocols") | _tables_of("templates_app")
    unlisted = sorted(tables - set(AUDITED) - set(EXEMPT))
    assert not unlisted, f"add these tables to AUDITED or EXEMPT in protocols/audit_tables.py: {unlisted}"
    assert not set(AUDITED) & set(EXEMPT)


def test_the_database_triggers_match_the_audited_list(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'firebreak_audit'"
        )
        found = {table: bytes(args).decode().split("\x00")[:2] for table, args in cursor.fetchall()}
    expected = {table: [",".join(spec.secrets), ",".join(spec.ignored)] for table, spec in AUDITED.items()}
    assert found == expected, "a table in AUDITED needs a migration attaching its trigger (see 0010)"
    # Incident work is never audited here; the incidents app's one configuration table is.
    incident_tables = {t for t in found if t.startswith(("incidents_", "reporting_"))}
    assert incident_tables == {"incidents_webhooksubscription"}


def test_an_outbound_webhook_subscription_is_configuration_and_its_secret_never_copied(
    admin_user: Any,
) -> None:
    from incidents.services.webhooks import webhook_subscription_create
    from protocols.models import AuditEvent

    issued = webhook_subscription_create(
        actor=admin_user, name="CRM", url="https://crm.example.com/hooks", event_types=["incident.created"]
    )
    row = AuditEvent.objects.get(table_name="incidents_webhooksubscription", action="insert")
    assert row.object_id == str(issued.subscription.pk)
    assert issued.secret not in str(row.changes) and "secret" in str(row.changes)


# --- reading it ---------------------------------------------------------------------------------------


def test_admins_filter_the_page_and_export_the_same_as_csv(admin_user: Any, responder: Any) -> None:
    with acting_as(admin_user):
        CategoryFactory(name="=HYPERLINK(1)", slug="formula")
    Client(REMOTE_ADDR="203.0.113.8").post("/login/", {"username": "riley", "password": "wrong"})
    client = staff_client(admin_user)
    mine = {"kind": "config", "table": "protocols_category", "actor_name": "ADA"}
    page = client.get("/audit/", mine)
    assert page.status_code == 200
    html = page.content.decode()
    assert "=HYPERLINK(1)" in html and "203.0.113.8" not in html
    signins = client.get("/audit/", {"kind": "auth"}).content.decode()
    assert "Sign-in failed" in signins and "riley" in signins and "203.0.113.8" in signins
    assert "riley" not in client.get("/audit/", {"kind": "auth", "actor_name": "ada"}).content.decode()
    export = client.get("/audit/export.csv", mine)
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(r["kind"], r["action"], r["what"]) for r in rows] == [("config", "insert", "Category")]
    assert '"new": "=HYPERLINK(1)"' in rows[0]["changes"]
    assert client.get("/audit/", {"date_from": "soon"}).status_code == 400


def test_the_page_pages_by_keyset(admin_user: Any) -> None:
    with acting_as(UserFactory(username="pager")):
        for n in range(55):
            Category.objects.create(name=f"C{n}", slug=f"c{n}")
    client = staff_client(admin_user)
    mine = {"table": "protocols_category", "actor_name": "pager"}
    first = client.get("/audit/", mine)
    older_than = first.context["older_than"]
    assert len(first.context["rows"]) == 50 and older_than is not None
    second = client.get("/audit/", {**mine, "older_than": older_than})
    assert len(second.context["rows"]) == 5 and second.context["older_than"] is None
    names = {row["event"].changes["name"]["new"] for row in first.context["rows"] + second.context["rows"]}
    assert names == {f"C{n}" for n in range(55)}


def test_the_api_lists_and_filters_for_admins_only(
    api_for: Callable[[Any], APIClient], admin_user: Any, manager: Any, outsider: Any, policy: SlaPolicy
) -> None:
    api = api_for(admin_user)
    query = {"table": "protocols_slapolicy", "object_id": str(policy.pk)}
    body = api.get("/api/v1/audit-events/", query).json()
    (row,) = body["results"]
    assert (row["kind"], row["action"], row["table"], row["object_id"]) == (
        "config",
        "insert",
        "protocols_slapolicy",
        str(policy.pk),
    )
    assert api.get("/api/v1/audit-events/", {"kind": "nonsense"}).status_code == 400
    for user in (manager, outsider):
        assert api_for(user).get("/api/v1/audit-events/").status_code == 403
    assert APIClient().get("/api/v1/audit-events/").status_code in (401, 403)


def test_non_admins_get_403_and_no_link(manager: Any, admin_user: Any) -> None:
    client = Client()
    client.force_login(manager)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert 'href="/audit/"' not in client.get("/").content.decode()
    admin = Client()
    admin.force_login(admin_user)
    assert 'href="/audit/"' in admin.get("/").content.decode()


def test_a_deleted_user_stays_named_in_the_log(db: Any) -> None:
    gone = UserFactory(username="temp")
    gone_id = gone.pk
    with acting_as(gone):
        Category.objects.create(name="Temp", slug="temp")
    gone.delete()
    row = recorded().filter(table_name="protocols_category").latest("id")
    assert (row.actor_name, row.actor_id) == ("temp", gone_id)
    assert config_rows("auth_user", gone_id)[-1].action == "delete"
