"""The review cadence of the response plan: every category, SLA policy, chain, template, FAQ and the
moderation policy gets a schedule (90 days by default) once; owners are reminded once per due date and
overdue reviews nobody owns go to managers; marking reviewed records who and when and moves the due
date, a concurrent second mark is 409; managers see everything, owners theirs, outsiders nothing."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents.models import Notification
from protocols.models import (
    ApprovalChain,
    Category,
    EscalationChain,
    ModerationRule,
    ReviewEvent,
    ReviewKind,
    ReviewSchedule,
    SlaPolicy,
)
from protocols.review_selectors import protocol_reviews_due
from protocols.services.cadence import (
    review_mark_reviewed,
    review_reminders_send,
    review_schedule_update,
    review_schedules_sync,
)
from protocols.tasks import (
    pir_action_reminders_send_task,
    pirs_open_due_task,
    review_reminders_send_task,
    review_schedules_sync_task,
)
from templates_app.models import FaqEntry
from templates_app.services.templates import template_create, template_update
from tests.factories import CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LIST = "/api/v1/protocol-reviews/"
MODERATION = "Community guidelines (moderation policy)"


@pytest.fixture(autouse=True)
def _no_schedules_yet(db: Any) -> None:
    # The migration gave the moderation policy a schedule when the test database was made; each test
    # starts from none, so its dates are its own.
    ReviewSchedule.objects.all().delete()


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def schedule_of(obj: Any, kind: str) -> ReviewSchedule:
    return ReviewSchedule.objects.get(kind=kind, object_id=obj.pk)


def synced_category(name: str, *, owner: Any = None, at: datetime = START) -> tuple[Any, ReviewSchedule]:
    """A category whose schedule started at `at` (so it is due 90 days later), owned by `owner`."""
    category = CategoryFactory(name=name, slug=name.lower().replace(" ", "-"))
    with time_machine.travel(at, tick=False):
        review_schedules_sync()
    # the moderation policy got its schedule too; kept out of the way of what the test measures
    ReviewSchedule.objects.filter(kind=ReviewKind.MODERATION_POLICY).update(
        due_at=START + timedelta(days=3650)
    )
    schedule = schedule_of(category, ReviewKind.CATEGORY)
    if owner is not None:
        ReviewSchedule.objects.filter(pk=schedule.pk).update(owner=owner)
    schedule.refresh_from_db()
    return category, schedule


def snapshot() -> list[Any]:
    return [
        list(ReviewSchedule.objects.order_by("id").values_list("id", "last_reviewed_at", "due_at")),
        ReviewEvent.objects.count(),
    ]


def reminders(kind: str | None = None) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(kind__startswith="review_")
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("recipient__username", "channel", "subject"))


def test_every_plan_object_gets_one_schedule_of_90_days_and_sync_creates_them_once(
    pr_user: Any, manager: Any
) -> None:
    category = CategoryFactory(name="Late delivery", slug="late-delivery")
    retired = CategoryFactory(name="Old", slug="old", is_active=False)
    policy = SlaPolicy.objects.create(name="High", priority="high", first_response_minutes=60)
    chain = EscalationChain.objects.create(name="Page the manager")
    approval = ApprovalChain.objects.create(name="Sign-off")
    faq = FaqEntry.objects.create(title="Where is my order?", body="Tracking link in the email.")
    ModerationRule.objects.create(title="No slurs", description="Removed.", action="remove")
    with time_machine.travel(START, tick=False):
        template = template_create(
            actor=pr_user, name="Apology", kind="apology", body="We are sorry.", owner=pr_user
        )
        assert review_schedules_sync() == 8  # seven objects (one switched off) and the moderation policy
        assert review_schedules_sync() == 0

    schedules = {(s.kind, s.object_id): s for s in ReviewSchedule.objects.all()}
    assert set(schedules) == {
        (ReviewKind.CATEGORY, category.pk),
        (ReviewKind.CATEGORY, retired.pk),
        (ReviewKind.SLA_POLICY, policy.pk),
        (ReviewKind.ESCALATION_CHAIN, chain.pk),
        (ReviewKind.APPROVAL_CHAIN, approval.pk),
        (ReviewKind.TEMPLATE, template.pk),
        (ReviewKind.FAQ, faq.pk),
        (ReviewKind.MODERATION_POLICY, None),
    }
    assert {s.interval_days for s in schedules.values()} == {90}
    assert all(s.owner is None and s.last_reviewed_at is None for s in schedules.values())
    due = {s.due_at for key, s in schedules.items() if key[0] != ReviewKind.TEMPLATE}
    assert due == {START + timedelta(days=90)}

    # a plan object added later gets its schedule on the next run, and only it
    later = CategoryFactory(name="Refunds", slug="refunds")
    assert review_schedules_sync() == 1
    assert ReviewSchedule.objects.filter(kind=ReviewKind.CATEGORY, object_id=later.pk).count() == 1

    # the list shows what is still in use: the switched-off category is left out
    listed = APIClient()
    listed.force_authenticate(manager)
    names = {row["name"] for row in listed.get(LIST, {"page_size": 50}).json()["results"]}
    assert names == {
        "Late delivery",
        "Refunds",
        "High",
        "Page the manager",
        "Sign-off",
        "Apology",
        "Where is my order?",
        "Community guidelines (moderation policy)",
    }


def test_the_migration_gives_existing_plan_objects_their_schedules(pr_user: Any) -> None:
    category = CategoryFactory(name="Outage", slug="outage")
    template = template_create(actor=pr_user, name="Holding", kind="holding_statement", body="We are on it.")
    migration = importlib.import_module("protocols.migrations.0008_review_cadence")
    migration.create_schedules(django_apps, None)
    migration.create_schedules(django_apps, None)  # and again changes nothing
    assert schedule_of(category, ReviewKind.CATEGORY).interval_days == 90
    assert schedule_of(template, ReviewKind.TEMPLATE).due_at is None
    assert ReviewSchedule.objects.filter(kind=ReviewKind.MODERATION_POLICY).count() == 1


def test_a_template_reads_its_owner_and_due_date_from_the_template(
    pr_user: Any, responder: Any, manager: Any
) -> None:
    with time_machine.travel(START, tick=False):
        template = template_create(
            actor=pr_user,
            name="Apology",
            kind="apology",
            body="We are sorry.",
            owner=pr_user,
            review_due_on=(START + timedelta(days=3)).date(),
        )
        review_schedules_sync()
        [item] = protocol_reviews_due(now=timezone.now(), user=pr_user)
        assert item.kind == ReviewKind.TEMPLATE and item.name == "Apology"
        assert item.owner is not None and item.owner.username == "parker"
        assert item.due_at == datetime(2027, 3, 4, tzinfo=UTC) and item.state == "due_soon"

        # changing the template's owner is changing the review's owner: there is one record of it
        template_update(actor=pr_user, template_id=template.pk, owner=responder)
        assert protocol_reviews_due(now=timezone.now(), user=pr_user) == []
        [item] = protocol_reviews_due(now=timezone.now(), user=responder)
        assert item.owner is not None and item.owner.username == "riley"

        review_mark_reviewed(actor=responder, schedule_id=item.schedule_id, note="Still right.")
    template.refresh_from_db()
    assert template.review_due_on == (START + timedelta(days=90)).date()
    schedule = schedule_of(template, ReviewKind.TEMPLATE)
    assert schedule.due_at is None and schedule.owner is None  # nothing copied onto the schedule
    assert schedule.last_reviewed_by == responder and schedule.last_reviewed_at == START
    with pytest.raises(ValidationFailed, match="set on the template"):
        review_schedule_update(actor=manager, schedule_id=schedule.pk, owner=manager, interval_days=90)


def test_owners_are_reminded_once_per_due_date_from_a_week_before(responder: Any, manager: Any) -> None:
    _, schedule = synced_category("Late delivery", owner=responder)
    due = START + timedelta(days=90)
    assert schedule.due_at == due

    with time_machine.travel(due - timedelta(days=8), tick=False):
        assert review_reminders_send(now=timezone.now()) == 0
    assert reminders() == []

    with time_machine.travel(due - timedelta(days=6), tick=False):
        assert review_reminders_send(now=timezone.now()) == 1
        assert review_reminders_send(now=timezone.now()) == 0
    assert reminders() == [
        ("riley", "email", "Review due: Category “Late delivery”"),
        ("riley", "in_app", "Review due: Category “Late delivery”"),
    ]
    link = Notification.objects.filter(kind="review_due").values_list("link", flat=True).first()
    assert link == f"/reviews/#review-{schedule.pk}"

    # overdue now, but this due date was already reminded: nothing more, however often the task runs
    with time_machine.travel(due + timedelta(days=2), tick=False):
        assert review_reminders_send_task() == 0
        review_mark_reviewed(actor=responder, schedule_id=schedule.pk)
    assert len(reminders()) == 2

    # the next due date gets its own reminder, in its own window
    next_due = due + timedelta(days=2 + 90)
    with time_machine.travel(next_due - timedelta(days=1), tick=False):
        assert review_reminders_send(now=timezone.now()) == 1
    assert len(reminders()) == 4


def test_overdue_reviews_nobody_owns_go_to_the_managers(
    manager: Any, admin_user: Any, responder: Any
) -> None:
    synced_category("Late delivery")
    synced_category("Refunds", owner=UserFactory(username="gone", is_active=False))
    due = START + timedelta(days=90)

    with time_machine.travel(due - timedelta(days=3), tick=False):
        assert review_reminders_send(now=timezone.now()) == 0  # due soon, but nobody to tell yet
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        assert review_reminders_send(now=timezone.now()) == 2
        assert review_reminders_send(now=timezone.now()) == 0
    assert reminders() == [
        ("morgan", "email", "Review overdue, nobody owns it: Category “Late delivery”"),
        ("morgan", "email", "Review overdue, nobody owns it: Category “Refunds”"),
        ("morgan", "in_app", "Review overdue, nobody owns it: Category “Late delivery”"),
        ("morgan", "in_app", "Review overdue, nobody owns it: Category “Refunds”"),
    ]


def test_many_reviews_due_at_once_reach_an_owner_as_one_digest(responder: Any, settings: Any) -> None:
    settings.FIREBREAK_NOTIFY_DIGEST_AFTER = 2
    for name in ("Late delivery", "Refunds", "Praise"):
        synced_category(name, owner=responder)
    with time_machine.travel(START + timedelta(days=89), tick=False):
        assert review_reminders_send(now=timezone.now()) == 3
        assert review_reminders_send(now=timezone.now()) == 0
    [(subject, body)] = Notification.objects.filter(recipient=responder, channel="in_app").values_list(
        "subject", "body"
    )
    assert subject == "3 protocol reviews are due"
    assert body.splitlines() == [
        "Review due: Category “Late delivery”",
        "Review due: Category “Refunds”",
        "Review due: Category “Praise”",
    ]


def test_marking_reviewed_records_who_and_when_and_moves_the_due_date(
    api_for: Callable[[Any], APIClient], manager: Any
) -> None:
    _, schedule = synced_category("Late delivery")
    client = api_for(manager)
    with time_machine.travel(START + timedelta(days=91), tick=False):
        response = client.post(
            f"{LIST}{schedule.pk}/reviewed/", {"note": "Added the new courier."}, format="json"
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    reviewed_at = START + timedelta(days=91)
    assert body["last_reviewed_by"]["username"] == "morgan"
    assert datetime.fromisoformat(body["last_reviewed_at"]) == reviewed_at
    assert datetime.fromisoformat(body["due_at"]) == reviewed_at + timedelta(days=90)
    assert [(e["kind"], e["actor"]["username"], e["note"]) for e in body["events"]] == [
        ("reviewed", "morgan", "Added the new courier.")
    ]
    schedule.refresh_from_db()
    assert schedule.last_reviewed_by == manager and schedule.last_reviewed_at == reviewed_at
    assert schedule.due_at == reviewed_at + timedelta(days=90)
    event = ReviewEvent.objects.get()
    assert event.due_before == START + timedelta(days=90) and event.due_after == schedule.due_at


def test_a_second_mark_of_the_same_review_is_409_and_changes_nothing(
    api_for: Callable[[Any], APIClient], manager: Any, admin_user: Any
) -> None:
    _, schedule = synced_category("Late delivery")
    seen = None  # both read the page while it was never reviewed
    first = api_for(manager).post(f"{LIST}{schedule.pk}/reviewed/", {"last_reviewed_at": seen}, format="json")
    assert first.status_code == 200
    schedule.refresh_from_db()
    before = (schedule.last_reviewed_at, schedule.last_reviewed_by_id, schedule.due_at)

    second = api_for(admin_user).post(
        f"{LIST}{schedule.pk}/reviewed/", {"last_reviewed_at": seen, "note": "me too"}, format="json"
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    schedule.refresh_from_db()
    assert (schedule.last_reviewed_at, schedule.last_reviewed_by_id, schedule.due_at) == before
    assert ReviewEvent.objects.count() == 1

    # and from the page: the same stale form posted again
    page = signed_in(admin_user).post(
        f"/reviews/{schedule.pk}/reviewed/", {"seen": "never", "note": "x"}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 409 and ReviewEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_marks_at_the_same_moment_record_one_review(manager: Any, admin_user: Any) -> None:
    category = CategoryFactory(name="Late delivery", slug="late-delivery")
    review_schedules_sync()
    schedule = schedule_of(category, ReviewKind.CATEGORY)
    first_marked, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                review_mark_reviewed(actor=manager, schedule_id=schedule.pk)
                first_marked.set()
                release.wait(10)  # holds the row until the second one is waiting for it
        finally:
            connections.close_all()

    def second() -> None:
        first_marked.wait(10)
        try:
            review_mark_reviewed(actor=admin_user, schedule_id=schedule.pk)
            outcome["second"] = "marked"
        except Conflict:
            outcome["second"] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # the second has read the schedule (never reviewed) and now waits on the first's row lock
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(10)
    assert outcome == {"second": "conflict"}
    schedule.refresh_from_db()
    assert schedule.last_reviewed_by == manager
    assert list(ReviewEvent.objects.values_list("actor__username", flat=True)) == ["morgan"]


def test_who_sees_and_marks_what(
    api_for: Callable[[Any], APIClient],
    responder: Any,
    manager: Any,
    admin_user: Any,
    outsider: Any,
    integration: Any,
    legal: Any,
) -> None:
    _, owned = synced_category("Late delivery", owner=legal, at=START - timedelta(days=100))
    _, other = synced_category("Refunds", at=START - timedelta(days=100))
    before = snapshot()

    # an outsider and a REST client see nothing, anywhere
    for user in (outsider, integration):
        client = api_for(user)
        assert client.get(LIST).status_code == 403
        assert client.get(f"{LIST}{owned.pk}/").status_code == 403
        assert client.post(f"{LIST}{owned.pk}/reviewed/", {}, format="json").status_code == 403
        assert signed_in(user).get("/reviews/").status_code == 403
        assert signed_in(user).post(f"/reviews/{owned.pk}/reviewed/", {}).status_code == 403

    # a responder who owns nothing sees nothing and cannot mark
    client = api_for(responder)
    assert client.get(LIST).json()["results"] == []
    assert client.get(f"{LIST}{owned.pk}/").status_code == 404
    refused = client.post(f"{LIST}{other.pk}/reviewed/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    with pytest.raises(PermissionRefused):
        review_mark_reviewed(actor=responder, schedule_id=owned.pk)
    assert signed_in(responder).post(f"/reviews/{owned.pk}/reviewed/", {}).status_code == 403
    assert "Late delivery" not in signed_in(responder).get("/reviews/").content.decode()
    assert snapshot() == before
    with pytest.raises(PermissionRefused):
        review_schedule_update(actor=responder, schedule_id=owned.pk, owner=responder, interval_days=30)

    # the owner sees and marks their own, not the others
    mine = api_for(legal).get(LIST).json()["results"]
    assert [row["name"] for row in mine] == ["Late delivery"]
    assert api_for(legal).post(f"{LIST}{other.pk}/reviewed/", {}, format="json").status_code == 403
    assert api_for(legal).post(f"{LIST}{owned.pk}/reviewed/", {}, format="json").status_code == 200

    # managers and admins see and mark every one
    everything = {row["name"] for row in api_for(manager).get(LIST).json()["results"]}
    assert everything == {"Late delivery", "Refunds", MODERATION}
    assert api_for(admin_user).post(f"{LIST}{other.pk}/reviewed/", {}, format="json").status_code == 200


def test_the_due_selector_lists_overdue_then_due_soon_for_whoever_may_see_them(
    manager: Any, responder: Any, outsider: Any
) -> None:
    now = START + timedelta(days=90)
    synced_category("Overdue a while", owner=responder, at=START - timedelta(days=10))
    synced_category("Overdue now", at=START)
    synced_category("Due in 5 days", owner=responder, at=START + timedelta(days=5))
    synced_category("Due in 8 days", at=START + timedelta(days=8))
    _, off = synced_category("Switched off", at=START - timedelta(days=30))
    Category.objects.filter(pk=off.object_id).update(is_active=False)

    items = protocol_reviews_due(now=now, user=manager)
    assert [(i.name, i.state) for i in items] == [
        ("Overdue a while", "overdue"),
        ("Overdue now", "overdue"),
        ("Due in 5 days", "due_soon"),
    ]
    assert [i.owner.username if i.owner else None for i in items] == ["riley", None, "riley"]
    assert [i.name for i in protocol_reviews_due(now=now, user=responder)] == [
        "Overdue a while",
        "Due in 5 days",
    ]
    with pytest.raises(PermissionRefused):
        protocol_reviews_due(now=now, user=outsider)


def test_the_list_filters_by_state_owner_and_kind_and_pages(
    api_for: Callable[[Any], APIClient], manager: Any, responder: Any
) -> None:
    synced_category("A overdue", owner=responder, at=START - timedelta(days=100))
    synced_category("B due soon", at=START - timedelta(days=85))
    synced_category("C later", owner=manager, at=START)
    EscalationChain.objects.create(name="D chain")
    with time_machine.travel(START, tick=False):
        review_schedules_sync()
    client = api_for(manager)

    def names(**params: Any) -> list[str]:
        with time_machine.travel(START, tick=False):
            response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return [row["name"] for row in response.json()["results"]]

    assert names(state="overdue") == ["A overdue"]
    assert names(state="due_soon") == ["B due soon"]
    assert names(state="due") == ["A overdue", "B due soon"]
    assert names(state="scheduled", kind="category") == ["C later"]
    assert names(owner="none", kind="category") == ["B due soon"]
    assert names(owner="me") == ["C later"]
    assert names(owner=str(responder.pk)) == ["A overdue"]
    assert names(kind="escalation_chain") == ["D chain"]
    assert client.get(LIST, {"state": "soonish"}).status_code == 400

    # cursor pages, soonest due first, nothing skipped or repeated
    seen: list[str] = []
    url: str | None = f"{LIST}?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [row["name"] for row in page["results"]]
        url = page["next"]
    assert seen[:3] == ["A overdue", "B due soon", "C later"] and len(seen) == len(set(seen)) == 5


def test_the_reviews_page_lists_what_is_due_and_marks_it_with_htmx(manager: Any, responder: Any) -> None:
    _, overdue = synced_category("Late delivery", owner=responder, at=START - timedelta(days=100))
    _, soon = synced_category("Refunds", at=START - timedelta(days=85))
    synced_category("Praise", at=START)

    with time_machine.travel(START, tick=False):
        client = signed_in(manager)  # signed in "now", so the session has not expired by then
        page = client.get("/reviews/").content.decode()
    assert "Late delivery" in page and "Refunds" in page and "Praise" not in page
    assert "No owner" in page and "Never" in page and 'href="/reviews/"' in page
    assert "2 more reviews are not due yet." in page  # "Praise" and the moderation policy

    with time_machine.travel(START, tick=False):
        response = client.post(
            f"/reviews/{overdue.pk}/reviewed/", {"seen": "never", "note": "Checked"}, HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="review-' in html and "Reviewed" in html
    assert "next review due 30 May 2027" in html
    overdue.refresh_from_db()
    assert overdue.last_reviewed_by == manager and overdue.due_at == START + timedelta(days=90)
    assert ReviewEvent.objects.get().note == "Checked"

    # a plain form post (no JavaScript) reloads the page
    plain = client.post(f"/reviews/{soon.pk}/reviewed/", {"seen": "never"})
    assert plain.status_code == 302 and plain["Location"] == "/reviews/"

    # the owner's view: only theirs
    with time_machine.travel(START + timedelta(days=85), tick=False):
        own = signed_in(responder).get("/reviews/").content.decode()
    assert "Late delivery" in own and "Refunds" not in own


def test_managers_change_owner_and_interval_in_the_admin(admin_user: Any, manager: Any, legal: Any) -> None:
    _, schedule = synced_category("Late delivery")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = signed_in(admin_user)
    assert "Late delivery" in client.get("/admin/protocols/reviewschedule/").content.decode()
    url = f"/admin/protocols/reviewschedule/{schedule.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"owner": legal.pk, "interval_days": 30})
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule.refresh_from_db()
    assert schedule.owner == legal and schedule.interval_days == 30
    assert schedule.due_at == START + timedelta(days=30)  # counted from when the schedule started
    event = ReviewEvent.objects.get()
    assert event.kind == "settings_changed" and event.actor == admin_user
    assert event.details == {"owner_id": [None, legal.pk], "interval_days": [90, 30]}
    assert client.post(url, {"owner": legal.pk, "interval_days": 0}).status_code == 200  # refused, shown
    schedule.refresh_from_db()
    assert schedule.interval_days == 30

    # a template's owner is the template's: shown, not edited here
    template = template_create(actor=admin_user, name="Apology", kind="apology", body="Sorry.", owner=legal)
    review_schedules_sync()
    template_page = client.get(
        f"/admin/protocols/reviewschedule/{schedule_of(template, ReviewKind.TEMPLATE).pk}/change/"
    ).content.decode()
    assert "(set on the template)" in template_page and 'name="owner"' not in template_page

    # the action creates what new plan objects lack
    CategoryFactory(name="Refunds", slug="refunds")
    done = client.post(
        "/admin/protocols/reviewschedule/",
        {"action": "create_missing_schedules", "_selected_action": [schedule.pk]},
        follow=True,
    )
    assert "Created 1 review schedule(s)." in done.content.decode()


def test_review_events_cannot_be_changed_or_deleted(manager: Any) -> None:
    _, schedule = synced_category("Late delivery")
    review_mark_reviewed(actor=manager, schedule_id=schedule.pk, note="ok")
    event = ReviewEvent.objects.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        ReviewEvent.objects.filter(pk=event.pk).update(note="changed")
    for sql in ("UPDATE protocols_reviewevent SET note = 'x'", "DELETE FROM protocols_reviewevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert ReviewEvent.objects.get().note == "ok"


def test_beat_runs_the_review_tasks() -> None:
    from config.celery import app

    scheduled = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    daily = (review_schedules_sync_task, review_reminders_send_task, pir_action_reminders_send_task)
    for task in daily:  # once a day, at one hour and minute
        assert len(scheduled[task.name].hour) == 1 and len(scheduled[task.name].minute) == 1
    assert scheduled[pirs_open_due_task.name].minute == set(range(0, 60, 5))  # every five minutes
