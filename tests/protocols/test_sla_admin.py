"""The admin screens for the SLA side: calendars with inline hours and holidays, the .ics import, chains
with inline steps and policies, all refusing what the API refuses."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from protocols.models import BusinessCalendar, EscalationChain, Holiday, OpeningHours, SlaPolicy
from tests.factories import UserFactory
from tests.protocols.test_sla_api import ICS

CALENDARS = "/admin/protocols/businesscalendar/"


@pytest.fixture
def staff(admin_user: Any) -> Client:
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    return client


def inline(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def calendar_post(hours: list[tuple[int, str, str]], holidays: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "name": "Office",
        "time_zone": "Europe/Stockholm",
        **fields,
        **inline("opening_hours", [{"weekday": d, "opens_at": o, "closes_at": c} for d, o, c in hours]),
        **inline("holidays", [{"date": day, "name": ""} for day in holidays]),
    }


def test_calendar_is_added_with_its_hours_and_holidays(staff: Client) -> None:
    response = staff.post(f"{CALENDARS}add/", calendar_post([(0, "09:00", "17:00")], ["2026-12-24"]))
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BusinessCalendar.objects.get(name="Office")
    assert calendar.opening_hours.count() == 1 and calendar.holidays.count() == 1
    assert staff.get(CALENDARS).status_code == 200
    page = staff.get(f"{CALENDARS}{calendar.pk}/change/").content.decode()
    assert f"{CALENDARS}{calendar.pk}/import-holidays/" in page


@pytest.mark.parametrize(
    ("post", "says"),
    [
        (calendar_post([(0, "09:00", "17:00"), (0, "16:00", "18:00")], []), "overlaps"),
        (calendar_post([(0, "17:00", "09:00")], []), "must close after it opens"),
        (calendar_post([], []), "at least one opening interval"),
        (calendar_post([(0, "09:00", "17:00")], ["2026-12-24", "2026-12-24"]), "duplicate data for date"),
        (calendar_post([(0, "09:00", "17:00")], [], time_zone="Atlantis/Capital"), "Unknown time zone"),
    ],
)
def test_calendar_mistakes_are_shown_and_nothing_is_saved(
    staff: Client, post: dict[str, Any], says: str
) -> None:
    response = staff.post(f"{CALENDARS}add/", post)
    assert response.status_code == 200 and says in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_holiday_import_page(staff: Client) -> None:
    calendar = BusinessCalendar.objects.create(name="Office", always_open=True)
    Holiday.objects.create(calendar=calendar, date=date(2026, 11, 6))
    url = f"{CALENDARS}{calendar.pk}/import-holidays/"
    assert staff.get(url).status_code == 200
    done = staff.post(url, {"file": SimpleUploadedFile("h.ics", ICS)}, follow=True)
    assert "Added 4 holidays to Office; 1 were already there." in done.content.decode()
    assert calendar.holidays.count() == 5
    broken = staff.post(url, {"file": SimpleUploadedFile("h.ics", b"nope")})
    assert broken.status_code == 200 and "Not an iCalendar file" in broken.content.decode()
    assert calendar.holidays.count() == 5


def test_holiday_import_needs_the_admin_role_not_just_staff(db: Any) -> None:
    staff_only: Any = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff_only)
    calendar = BusinessCalendar.objects.create(name="Office", always_open=True)
    response = client.post(
        f"{CALENDARS}{calendar.pk}/import-holidays/", {"file": SimpleUploadedFile("h.ics", ICS)}
    )
    assert response.status_code == 200 and "Only admins may change" in response.content.decode()
    assert not calendar.holidays.exists()


def test_chain_step_needs_its_role(staff: Client) -> None:
    step = {"position": 1, "trigger": "breach", "delay_minutes": 0, "action": "notify_role", "role": ""}
    post = {"name": "Loud", "description": "", **inline("steps", [{**step, "repeat_times": 0}])}
    response = staff.post("/admin/protocols/escalationchain/add/", post)
    assert response.status_code == 200 and "A role is required for notify_role." in response.content.decode()
    assert not EscalationChain.objects.exists()
    post["steps-0-role"] = "manager"
    assert staff.post("/admin/protocols/escalationchain/add/", post).status_code == 302
    assert EscalationChain.objects.get().steps.get().role == "manager"


def test_policy_list_shows_targets_and_refuses_a_clash(staff: Client) -> None:
    office = BusinessCalendar.objects.create(name="Office", time_zone="UTC")
    OpeningHours.objects.create(calendar=office, weekday=0, opens_at=time(9), closes_at=time(17))
    SlaPolicy.objects.create(name="High", priority="high", first_response_minutes=60, resolution_minutes=1440)
    page = staff.get("/admin/protocols/slapolicy/").content.decode()
    assert "1 h" in page and "24 h" in page
    post = {"name": "High too", "priority": "high", "first_response_minutes": "30", "is_active": "on"}
    response = staff.post("/admin/protocols/slapolicy/add/", post)
    assert (
        response.status_code == 200
        and "already covers this category and priority" in response.content.decode()
    )
    assert SlaPolicy.objects.count() == 1
