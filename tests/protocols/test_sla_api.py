"""The SLA configuration API: admins write policies, calendars (with an .ics holiday import) and escalation
chains; team roles and integrations read; everything invalid is a 400 naming the field, in use a 409."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from incidents.models import SlaClock
from incidents.services.incidents import incident_create
from protocols.models import (
    BusinessCalendar,
    Category,
    EscalationChain,
    EscalationStep,
    Holiday,
    OpeningHours,
    Role,
    SlaPolicy,
)
from tests.roles import ROLES, TEAM
from tests.sla import office_calendar, routine_policy

POLICIES = "/api/v1/sla-policies/"
CALENDARS = "/api/v1/calendars/"
CHAINS = "/api/v1/escalation-chains/"
READERS = TEAM | {"integration"}
WRITERS = {"admin_user"}

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Firebreak tests//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20270101
SUMMARY:New Year's Day
END:VEVENT
BEGIN:VEVENT
UID:3@test
DTSTART;VALUE=DATE:20261106
SUMMARY:All Saints' Day
END:VEVENT
END:VCALENDAR
"""


def office_hours(opens: str = "09:00", closes: str = "17:00") -> list[dict[str, Any]]:
    return [{"weekday": day, "opens_at": opens, "closes_at": closes} for day in range(5)]


@pytest.fixture
def office(db: Any) -> BusinessCalendar:
    calendar = office_calendar()
    Holiday.objects.create(calendar=calendar, date=date(2026, 11, 6), name="All Saints' Day")
    return calendar


@pytest.fixture
def chain(db: Any) -> EscalationChain:
    chain = EscalationChain.objects.create(name="Standard")
    EscalationStep.objects.create(chain=chain, position=1, action="notify_role", role=Role.MANAGER)
    return chain


@pytest.fixture
def policy(db: Any, office: BusinessCalendar, chain: EscalationChain) -> SlaPolicy:
    return routine_policy(calendar=office, escalation_chain=chain)


@pytest.fixture
def admin_api(api_for: Callable[[Any], APIClient], admin_user: Any) -> APIClient:
    return api_for(admin_user)


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()["error"]
    return body


# --- who may do what ---------------------------------------------------------------------------------

ENDPOINTS: dict[str, set[str]] = {
    "policies_list": READERS,
    "policies_retrieve": READERS,
    "policies_create": WRITERS,
    "policies_update": WRITERS,
    "policies_patch": WRITERS,
    "policies_delete": WRITERS,
    "calendars_list": READERS,
    "calendars_retrieve": READERS,
    "calendars_create": WRITERS,
    "calendars_update": WRITERS,
    "calendars_patch": WRITERS,
    "calendars_delete": WRITERS,
    "calendars_import": WRITERS,
    "chains_list": READERS,
    "chains_retrieve": READERS,
    "chains_create": WRITERS,
    "chains_update": WRITERS,
    "chains_patch": WRITERS,
    "chains_delete": WRITERS,
}


def plan_snapshot() -> list[Any]:
    return [
        list(SlaPolicy.objects.order_by("pk").values_list("name", "is_active", "first_response_minutes")),
        list(BusinessCalendar.objects.order_by("pk").values_list("name", "time_zone")),
        list(OpeningHours.objects.order_by("pk").values_list("calendar_id", "weekday", "opens_at")),
        list(Holiday.objects.order_by("pk").values_list("calendar_id", "date")),
        list(EscalationChain.objects.order_by("pk").values_list("name", "description")),
        list(EscalationStep.objects.order_by("pk").values_list("chain_id", "action", "role")),
    ]


def request_for(endpoint: str, client: APIClient, policy: SlaPolicy) -> Any:
    spare_calendar = BusinessCalendar.objects.get(name="Spare")
    spare_chain = EscalationChain.objects.get(name="Spare chain")
    policy_url = f"{POLICIES}{policy.pk}/"
    calendar_url = f"{CALENDARS}{policy.calendar_id}/"
    chain_url = f"{CHAINS}{policy.escalation_chain_id}/"
    new_policy = {"name": "Critical", "priority": "critical", "first_response_minutes": 15}
    new_calendar = {"name": "Weekend desk", "time_zone": "UTC", "opening_hours": office_hours()}
    new_chain = {"name": "Loud", "steps": [{"action": "notify_management"}]}
    calls: dict[str, Callable[[], Any]] = {
        "policies_list": lambda: client.get(POLICIES),
        "policies_retrieve": lambda: client.get(policy_url),
        "policies_create": lambda: client.post(POLICIES, new_policy, format="json"),
        "policies_update": lambda: client.put(
            policy_url, {"name": "Routine", "first_response_minutes": 60}, format="json"
        ),
        "policies_patch": lambda: client.patch(policy_url, {"is_active": False}, format="json"),
        "policies_delete": lambda: client.delete(policy_url),
        "calendars_list": lambda: client.get(CALENDARS),
        "calendars_retrieve": lambda: client.get(calendar_url),
        "calendars_create": lambda: client.post(CALENDARS, new_calendar, format="json"),
        "calendars_update": lambda: client.put(calendar_url, new_calendar, format="json"),
        "calendars_patch": lambda: client.patch(calendar_url, {"time_zone": "Europe/Oslo"}, format="json"),
        "calendars_delete": lambda: client.delete(f"{CALENDARS}{spare_calendar.pk}/"),
        "calendars_import": lambda: client.post(
            f"{calendar_url}import-holidays/", {"file": SimpleUploadedFile("h.ics", ICS)}, format="multipart"
        ),
        "chains_list": lambda: client.get(CHAINS),
        "chains_retrieve": lambda: client.get(chain_url),
        "chains_create": lambda: client.post(CHAINS, new_chain, format="json"),
        "chains_update": lambda: client.put(chain_url, new_chain, format="json"),
        "chains_patch": lambda: client.patch(chain_url, {"description": "Changed"}, format="json"),
        "chains_delete": lambda: client.delete(f"{CHAINS}{spare_chain.pk}/"),
    }
    return calls[endpoint]()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_role_against_endpoint(
    request: Any, api_for: Callable[[Any], APIClient], policy: SlaPolicy, role: str, endpoint: str
) -> None:
    client = api_for(request.getfixturevalue(role))
    # Unused, so deleting them is allowed for whoever may delete.
    BusinessCalendar.objects.create(name="Spare", always_open=True)
    EscalationChain.objects.create(name="Spare chain")
    before = plan_snapshot()
    response = request_for(endpoint, client, policy)
    if role in ENDPOINTS[endpoint]:
        assert response.status_code in (200, 201, 204), (role, endpoint, response.content)
        if endpoint.split("_")[1] not in ("list", "retrieve"):
            assert plan_snapshot() != before
    else:
        assert response.status_code == 403, (role, endpoint, response.status_code, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert plan_snapshot() == before


def test_anonymous_is_401(db: Any) -> None:
    for url in (POLICIES, CALENDARS, CHAINS):
        assert APIClient().get(url).status_code == 401


def test_services_refuse_non_admins_too(responder: Any, office: BusinessCalendar) -> None:
    """The rule lives in the service, so the admin site and scripts obey it as well as the API."""
    from config.errors import PermissionRefused
    from protocols.services import business_calendar_delete

    with pytest.raises(PermissionRefused):
        business_calendar_delete(actor=responder, calendar_id=office.pk)
    assert BusinessCalendar.objects.filter(pk=office.pk).exists()


# --- calendars -----------------------------------------------------------------------------------------


def test_calendar_is_written_whole_with_hours_and_holidays(admin_api: APIClient) -> None:
    body = {
        "name": "Stockholm office",
        "time_zone": "Europe/Stockholm",
        "opening_hours": [
            *office_hours("09:00", "12:00"),
            *office_hours("13:00", "17:00"),
            {"weekday": 5, "opens_at": "20:00", "closes_at": "00:00"},
        ],
        "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}, {"date": "2026-12-25"}],
    }
    created = admin_api.post(CALENDARS, body, format="json")
    assert created.status_code == 201, created.content
    calendar = created.json()
    assert calendar["name"] == "Stockholm office" and calendar["time_zone"] == "Europe/Stockholm"
    assert len(calendar["opening_hours"]) == 11
    assert {"weekday": 5, "opens_at": "20:00:00", "closes_at": "00:00:00"} in calendar["opening_hours"]
    assert calendar["holidays"] == [
        {"date": "2026-12-24", "name": "Christmas Eve"},
        {"date": "2026-12-25", "name": ""},
    ]
    url = f"{CALENDARS}{calendar['id']}/"
    assert admin_api.get(url).json() == calendar
    # PATCH without the lists keeps them; a list given replaces that list only.
    patched = admin_api.patch(url, {"time_zone": "Europe/Oslo"}, format="json").json()
    assert patched["time_zone"] == "Europe/Oslo" and len(patched["opening_hours"]) == 11
    patched = admin_api.patch(url, {"holidays": [{"date": "2027-01-01"}]}, format="json").json()
    assert [h["date"] for h in patched["holidays"]] == ["2027-01-01"] and len(patched["opening_hours"]) == 11
    # PUT replaces everything, so lists left out become empty.
    replaced = admin_api.put(url, {"name": "Round the clock", "always_open": True}, format="json").json()
    assert replaced["always_open"] is True and replaced["opening_hours"] == [] and replaced["holidays"] == []
    assert OpeningHours.objects.filter(calendar_id=calendar["id"]).count() == 0


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Unknown time zone"),
        ({"time_zone": "Europe"}, "time_zone", "Unknown time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "Unknown time zone"),
        (
            {"opening_hours": [{"weekday": 0, "opens_at": "17:00", "closes_at": "09:00"}]},
            "opening_hours",
            "must close after it opens",
        ),
        (
            {
                "opening_hours": [
                    {"weekday": 0, "opens_at": "09:00", "closes_at": "17:00"},
                    {"weekday": 0, "opens_at": "12:00", "closes_at": "13:00"},
                    {"weekday": 0, "opens_at": "16:30", "closes_at": "18:00"},
                ]
            },
            "opening_hours",
            "Monday 12:00-13:00 overlaps Monday 09:00-17:00",
        ),
        (
            {
                "opening_hours": [
                    {"weekday": 6, "opens_at": "18:00", "closes_at": "00:00"},
                    {"weekday": 6, "opens_at": "23:00", "closes_at": "23:30"},
                ]
            },
            "opening_hours",
            "overlaps",
        ),
        ({"opening_hours": []}, "opening_hours", "at least one opening interval"),
        (
            {"holidays": [{"date": "2026-12-24"}, {"date": "2026-12-24", "name": "Again"}]},
            "holidays",
            "2026-12-24 is listed more than once",
        ),
        ({"opening_hours": [{"weekday": 7, "opens_at": "09:00", "closes_at": "10:00"}]}, "opening_hours", ""),
        ({"opening_hours": [{"weekday": 1, "opens_at": "9am", "closes_at": "10:00"}]}, "opening_hours", ""),
        ({"name": ""}, "name", ""),
        ({"name": "Office"}, "name", "already used"),
    ],
)
def test_invalid_calendars_are_400_naming_the_field(
    admin_api: APIClient, office: BusinessCalendar, body: dict[str, Any], field: str, says: str
) -> None:
    before = plan_snapshot()
    full = {"name": "New", "time_zone": "UTC", "opening_hours": office_hours(), **body}
    problem = error(admin_api.post(CALENDARS, full, format="json"), 400)
    assert problem["code"] == "invalid" and field in problem["fields"], problem
    assert says in str(problem["fields"][field]), problem
    # The same rules hold when changing an existing calendar, and nothing is half-written.
    if field != "name":
        error(admin_api.patch(f"{CALENDARS}{office.pk}/", body, format="json"), 400)
    assert plan_snapshot() == before


def test_touching_intervals_and_midnight_closing_are_fine(admin_api: APIClient) -> None:
    hours = [
        {"weekday": 0, "opens_at": "00:00", "closes_at": "09:00"},
        {"weekday": 0, "opens_at": "09:00", "closes_at": "00:00"},
    ]
    response = admin_api.post(CALENDARS, {"name": "Monday", "opening_hours": hours}, format="json")
    assert response.status_code == 201, response.content


def test_deleting_a_calendar_in_use_is_409_and_keeps_it(admin_api: APIClient, policy: SlaPolicy) -> None:
    problem = error(admin_api.delete(f"{CALENDARS}{policy.calendar_id}/"), 409)
    assert problem["code"] == "in_use" and "Routine" in problem["message"]
    assert BusinessCalendar.objects.filter(pk=policy.calendar_id).exists()
    # Once no policy uses it, it goes (with its hours and holidays).
    admin_api.patch(f"{POLICIES}{policy.pk}/", {"calendar": None}, format="json")
    assert admin_api.delete(f"{CALENDARS}{policy.calendar_id}/").status_code == 204
    assert not OpeningHours.objects.exists() and not Holiday.objects.exists()
    assert error(admin_api.delete(f"{CALENDARS}{policy.calendar_id}/"), 404)["code"] == "not_found"


def test_ics_upload_adds_new_days_and_skips_known_ones(
    admin_api: APIClient, office: BusinessCalendar
) -> None:
    url = f"{CALENDARS}{office.pk}/import-holidays/"
    upload = SimpleUploadedFile("holidays.ics", ICS, content_type="text/calendar")
    response = admin_api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    # Christmas covers 24-26 Dec (DTEND is exclusive), plus New Year; All Saints' Day was already there.
    assert response.json() == {"added": 4, "already_present": 1}
    days = dict(Holiday.objects.filter(calendar=office).values_list("date", "name"))
    assert days[date(2026, 12, 26)] == "Christmas" and days[date(2027, 1, 1)] == "New Year's Day"
    assert len(days) == 5
    # Importing the same file again adds nothing; a raw text/calendar body works too.
    again = admin_api.generic("POST", url, ICS.decode(), content_type="text/calendar")
    assert again.status_code == 200, again.content
    assert again.json() == {"added": 0, "already_present": 5}
    assert Holiday.objects.filter(calendar=office).count() == 5


def test_ics_import_refuses_what_it_cannot_read(admin_api: APIClient, office: BusinessCalendar) -> None:
    url = f"{CALENDARS}{office.pk}/import-holidays/"
    broken = SimpleUploadedFile("h.ics", b"this is not a calendar", content_type="text/calendar")
    problem = error(admin_api.post(url, {"file": broken}, format="multipart"), 400)
    assert "file" in problem["fields"] and "iCalendar" in problem["message"]
    bad_date = ICS.replace(b"DTSTART;VALUE=DATE:20270101", b"DTSTART;VALUE=DATE:2027-13-45")
    problem = error(admin_api.generic("POST", url, bad_date.decode(), content_type="text/calendar"), 400)
    assert "file" in problem["fields"]
    problem = error(admin_api.post(url, {"other": "x"}, format="multipart"), 400)
    assert "file" in problem["fields"]
    assert admin_api.post(url, {"file": "x"}, format="json").status_code == 415
    assert error(
        admin_api.generic(
            "POST", f"{CALENDARS}999999/import-holidays/", ICS.decode(), content_type="text/calendar"
        ),
        404,
    )
    assert Holiday.objects.filter(calendar=office).count() == 1


# --- escalation chains ------------------------------------------------------------------------------------


def test_chain_steps_are_ordered_and_replaced_as_a_whole(admin_api: APIClient, manager: Any) -> None:
    steps = [
        {"trigger": "warning", "action": "notify_role", "role": "pr"},
        {"action": "notify_user", "user": manager.pk, "repeat_every_minutes": 10, "repeat_times": 2},
        {"delay_minutes": 30, "action": "raise_priority"},
    ]
    created = admin_api.post(CHAINS, {"name": "High", "steps": steps}, format="json")
    assert created.status_code == 201, created.content
    chain = created.json()
    assert [(s["position"], s["action"]) for s in chain["steps"]] == [
        (1, "notify_role"),
        (2, "notify_user"),
        (3, "raise_priority"),
    ]
    assert chain["steps"][1]["user"] == manager.pk and chain["steps"][2]["trigger"] == "breach"
    url = f"{CHAINS}{chain['id']}/"
    kept = admin_api.patch(url, {"description": "For high priority"}, format="json").json()
    assert kept["description"] == "For high priority" and len(kept["steps"]) == 3
    replaced = admin_api.put(url, {"name": "High", "steps": [steps[2], steps[0]]}, format="json").json()
    assert [(s["position"], s["action"]) for s in replaced["steps"]] == [
        (1, "raise_priority"),
        (2, "notify_role"),
    ]
    assert EscalationStep.objects.filter(chain_id=chain["id"]).count() == 2


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"action": "notify_role"}, "role"),
        ({"action": "reassign_role", "role": ""}, "role"),
        ({"action": "notify_user"}, "user"),
        ({"action": "notify_management", "repeat_times": 3}, "repeat_every_minutes"),
        ({"action": "notify_management", "repeat_times": 1000, "repeat_every_minutes": 5}, "repeat_times"),
        ({"action": "page_everyone"}, "action"),
        ({"action": "notify_role", "role": "ceo"}, "role"),
        ({"action": "notify_user", "user": 999999}, "user"),
        ({"action": "notify_management", "trigger": "whenever"}, "trigger"),
        ({"action": "notify_management", "delay_minutes": -5}, "delay_minutes"),
    ],
)
def test_invalid_steps_are_400_naming_the_step_and_field(
    admin_api: APIClient, chain: EscalationChain, step: dict[str, Any], field: str
) -> None:
    before = plan_snapshot()
    body = {"name": "Broken", "steps": [{"action": "notify_management"}, step]}
    problem = error(admin_api.post(CHAINS, body, format="json"), 400)
    # Rows keyed by their index, like DRF's own list errors: only the second step is wrong.
    assert list(problem["fields"]["steps"]) == ["1"] and field in problem["fields"]["steps"]["1"], problem
    error(admin_api.patch(f"{CHAINS}{chain.pk}/", {"steps": [step]}, format="json"), 400)
    assert plan_snapshot() == before


def test_a_patch_that_replaces_the_steps_checks_each_step_whole(
    admin_api: APIClient, chain: EscalationChain
) -> None:
    """A PATCH giving `steps` replaces them all, so a step without its action is refused, not half-stored."""
    before = plan_snapshot()
    problem = error(
        admin_api.patch(f"{CHAINS}{chain.pk}/", {"steps": [{"delay_minutes": 5}]}, format="json"), 400
    )
    assert "action" in problem["fields"]["steps"]["0"], problem
    assert plan_snapshot() == before


def test_deleting_a_chain_in_use_is_409(admin_api: APIClient, policy: SlaPolicy) -> None:
    problem = error(admin_api.delete(f"{CHAINS}{policy.escalation_chain_id}/"), 409)
    assert "Routine" in problem["message"]
    assert EscalationChain.objects.filter(pk=policy.escalation_chain_id).exists()


def test_editing_a_chain_leaves_running_clocks_alone(
    admin_api: APIClient, responder: Any, policy: SlaPolicy
) -> None:
    incident = incident_create(actor=responder, title="Late parcel")
    frozen = SlaClock.objects.get(incident=incident, kind="first_response").chain
    response = admin_api.put(
        f"{CHAINS}{policy.escalation_chain_id}/", {"name": "Standard", "steps": []}, format="json"
    )
    assert response.status_code == 200 and response.json()["steps"] == []
    assert SlaClock.objects.get(incident=incident, kind="first_response").chain == frozen != []


# --- policies ----------------------------------------------------------------------------------------------


def test_policy_crud_and_it_applies_to_new_incidents(
    admin_api: APIClient, responder: Any, office: BusinessCalendar, chain: EscalationChain
) -> None:
    category = Category.objects.create(name="Safety", slug="safety")
    body = {
        "name": "Safety issue",
        "category": category.pk,
        "priority": "",
        "calendar": office.pk,
        "first_response_minutes": 30,
        "resolution_minutes": 480,
        "warn_before_minutes": 10,
        "escalation_chain": chain.pk,
    }
    created = admin_api.post(POLICIES, body, format="json")
    assert created.status_code == 201, created.content
    policy = created.json()
    assert policy["calendar_name"] == "Office" and policy["escalation_chain_name"] == "Standard"
    assert policy["is_active"] is True and policy["next_response_minutes"] is None
    # Clocks started from now on use it.
    incident = incident_create(actor=responder, title="Smoke from charger", category=category)
    clock = SlaClock.objects.get(incident=incident, kind="first_response")
    assert clock.policy_name == "Safety issue" and clock.target_seconds == 30 * 60
    url = f"{POLICIES}{policy['id']}/"
    changed = admin_api.patch(url, {"first_response_minutes": 20, "calendar": None}, format="json").json()
    assert changed["first_response_minutes"] == 20 and changed["calendar"] is None
    assert changed["resolution_minutes"] == 480  # PATCH keeps what it was not given
    replaced = admin_api.put(
        url, {"name": "Safety issue", "first_response_minutes": 15}, format="json"
    ).json()
    assert replaced["category"] is None and replaced["resolution_minutes"] is None
    assert admin_api.delete(url).status_code == 204
    assert not SlaPolicy.objects.filter(pk=policy["id"]).exists()
    clock.refresh_from_db()
    assert clock.policy_id is None and clock.policy_name == "Safety issue"  # the clock keeps its copy


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_response_minutes": None, "resolution_minutes": None}, "non_field_errors"),
        ({"warn_at_percent": 100}, "warn_at_percent"),
        ({"warn_at_percent": 0}, "warn_at_percent"),
        ({"warn_at_percent": 75, "warn_before_minutes": 10}, "warn_before_minutes"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"first_response_minutes": "soon"}, "first_response_minutes"),
        ({"calendar": 999999}, "calendar"),
        ({"escalation_chain": 999999}, "escalation_chain"),
        ({"priority": "urgent"}, "priority"),
        ({"name": "Routine", "priority": "low"}, "name"),
        ({"priority": ""}, "non_field_errors"),  # the active default policy already covers (any, any)
    ],
)
def test_invalid_policies_are_400(
    admin_api: APIClient, policy: SlaPolicy, body: dict[str, Any], field: str
) -> None:
    before = plan_snapshot()
    full = {
        "name": "Another",
        "priority": "high",
        "first_response_minutes": 60,
        "resolution_minutes": 600,
        **body,
    }
    problem = error(admin_api.post(POLICIES, full, format="json"), 400)
    assert field in problem["fields"], problem
    assert plan_snapshot() == before


def test_an_inactive_policy_may_share_its_match(admin_api: APIClient, policy: SlaPolicy) -> None:
    body = {"name": "Routine draft", "first_response_minutes": 60, "is_active": False}
    assert admin_api.post(POLICIES, body, format="json").status_code == 201
    # Switching it on while the other is active is refused; after switching that one off it works.
    draft = SlaPolicy.objects.get(name="Routine draft")
    error(admin_api.patch(f"{POLICIES}{draft.pk}/", {"is_active": True}, format="json"), 400)
    admin_api.patch(f"{POLICIES}{policy.pk}/", {"is_active": False}, format="json")
    assert admin_api.patch(f"{POLICIES}{draft.pk}/", {"is_active": True}, format="json").status_code == 200


# --- lists -------------------------------------------------------------------------------------------------


def test_lists_are_paginated_and_filterable(
    api_for: Callable[[Any], APIClient], responder: Any, policy: SlaPolicy, office: BusinessCalendar
) -> None:
    SlaPolicy.objects.create(name="High", priority="high", first_response_minutes=60)
    SlaPolicy.objects.create(name="Old", priority="low", first_response_minutes=60, is_active=False)
    api = api_for(responder)
    first = api.get(POLICIES, {"page_size": 2}).json()
    assert [p["name"] for p in first["results"]] == ["High", "Old"] and first["next"]
    second = api.get(first["next"]).json()
    assert [p["name"] for p in second["results"]] == ["Routine"] and second["next"] is None
    assert [p["name"] for p in api.get(POLICIES, {"priority": "high"}).json()["results"]] == ["High"]
    assert [p["name"] for p in api.get(POLICIES, {"calendar": office.pk}).json()["results"]] == ["Routine"]
    assert [p["name"] for p in api.get(POLICIES, {"is_active": "false"}).json()["results"]] == ["Old"]
    assert api.get(POLICIES, {"calendar": 999999}).status_code == 400
    assert api.get(POLICIES, {"page_size": 100000}).status_code == 200  # capped, not refused
    assert [c["name"] for c in api.get(CALENDARS, {"name": "off"}).json()["results"]] == ["Office"]
    assert [c["name"] for c in api.get(CHAINS, {"name": "stand"}).json()["results"]] == ["Standard"]


def test_calendar_list_costs_the_same_whatever_it_holds(
    api_for: Callable[[Any], APIClient], responder: Any, office: BusinessCalendar
) -> None:
    api = api_for(responder)
    api.get(CALENDARS)  # the token's first use records last_used_at; measure steady state
    counts = []
    for extra in (0, 12):
        for n in range(extra):
            calendar = BusinessCalendar.objects.create(name=f"Calendar {extra}-{n}", time_zone="UTC")
            OpeningHours.objects.create(
                calendar=calendar, weekday=n % 7, opens_at=time(8), closes_at=time(16)
            )
            Holiday.objects.create(calendar=calendar, date=date(2027, 1, 1) + timedelta(days=n))
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(CALENDARS).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
