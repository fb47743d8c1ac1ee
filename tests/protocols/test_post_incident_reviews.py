"""Post-incident reviews: one opens for every resolved high-priority or crisis incident (never for a
routine one), prefilled with the incident's timeline, checklist answers and response times; saving is a
compare-and-set on the version, completing records who and when; action items are tracked and their
owners reminded once; a lesson makes the plan object it names due for review now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import Conflict, PermissionRefused
from incidents.models import Incident, Notification
from incidents.services import incidents as incident_services
from incidents.services import replies as reply_services
from incidents.services.checklists import incident_checklist_answer
from incidents.services.merge import incident_merge
from protocols.models import (
    Category,
    ChecklistQuestion,
    PirActionItem,
    PirEvent,
    PostIncidentReview,
    Priority,
    ReviewEvent,
    ReviewKind,
    ReviewSchedule,
    SlaPolicy,
    Tier,
)
from protocols.services import seed_identify_problem_questions
from protocols.services.cadence import review_reminders_send, review_schedules_sync
from protocols.services.post_incident import (
    pir_action_item_add,
    pir_action_reminders_send,
    pir_lesson_link,
    pir_open,
    pir_save,
    pirs_open_due,
)
from protocols.tasks import pirs_open_due_task
from templates_app.services.templates import template_create
from tests.approvals import sign_off_chain
from tests.factories import CategoryFactory, IncidentFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # a Monday
LIST = "/api/v1/post-incident-reviews/"


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def resolved(*, priority: str = Priority.NORMAL, category: Any = None, when: datetime = T0) -> Incident:
    made = IncidentFactory(priority=priority, category=category, created_at=when, updated_at=when)
    Incident.objects.filter(pk=made.pk).update(status="resolved", resolved_at=when + timedelta(hours=1))
    return Incident.objects.get(pk=made.pk)


@pytest.fixture
def crisis_category(db: Any) -> Category:
    category = Category.objects.create(name="Product safety", slug="product-safety", tier=Tier.CRISIS)
    seed_identify_problem_questions(category=category)
    return category


@pytest.fixture
def constructed(
    responder: Any, pr_user: Any, legal: Any, manager: Any, crisis_category: Category
) -> Incident:
    return build_incident(
        responder=responder, pr_user=pr_user, legal=legal, manager=manager, category=crisis_category
    )


def build_incident(*, responder: Any, pr_user: Any, legal: Any, manager: Any, category: Category) -> Incident:
    """A high-priority crisis incident with a known history: opened at T0 (first response due in 2 h,
    resolution in 8 h), the checklist answered, a reply in legal review from +10 min to +40 min and in
    management approval until +55 min, published (the first response) at +60 min, resolved at +3 h."""
    sign_off_chain()
    SlaPolicy.objects.create(
        name="High priority", priority=Priority.HIGH, first_response_minutes=120, resolution_minutes=480
    )
    with at(T0):
        incident = incident_services.incident_create(
            actor=responder,
            title="Blender exploded",
            priority=Priority.HIGH,
            category=category,
            assignee=responder,
        )
    questions = {q.text: q for q in ChecklistQuestion.objects.filter(category=category)}
    with at(T0 + timedelta(minutes=5)):
        for text, value in [
            ("Was a mistake made?", True),
            ("Who was involved?", "Employee"),
            ("What exactly went wrong?", "The seal was missing on one batch."),
        ]:
            incident_checklist_answer(
                actor=responder, incident_id=incident.pk, question_id=questions[text].pk, value=value
            )
    with at(T0 + timedelta(minutes=10)):
        reply = reply_services.reply_create(actor=pr_user, incident_id=incident.pk, body="We are so sorry.")
        reply_services.reply_submit(actor=pr_user, reply_id=reply.pk)
    with at(T0 + timedelta(minutes=40)):
        reply_services.reply_approve(actor=legal, reply_id=reply.pk)
    with at(T0 + timedelta(minutes=55)):
        reply_services.reply_approve(actor=manager, reply_id=reply.pk)
    with at(T0 + timedelta(minutes=60)):
        reply_services.reply_publish(actor=pr_user, reply_id=reply.pk, url="https://x.com/brand/status/1")
    with at(T0 + timedelta(hours=3)):
        incident_services.incident_resolve(actor=responder, incident_id=incident.pk, note="Batch recalled")
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def review(constructed: Incident) -> PostIncidentReview:
    with at(T0 + timedelta(hours=3, minutes=5)):
        assert pirs_open_due(now=timezone.now()) == 1
    return PostIncidentReview.objects.get(incident=constructed)


def test_a_review_opens_once_for_each_qualifying_incident_and_never_for_a_routine_one(
    manager: Any, responder: Any
) -> None:
    high = resolved(priority=Priority.HIGH)
    critical = resolved(priority=Priority.CRITICAL)
    by_tier = resolved(category=CategoryFactory(name="Recall", slug="recall", tier=Tier.HIGH_PRIORITY))
    routine = resolved(category=CategoryFactory(name="Parcel", slug="parcel"))
    still_open = IncidentFactory(priority=Priority.HIGH, created_at=T0, updated_at=T0)
    survivor = IncidentFactory(priority=Priority.HIGH, created_at=T0, updated_at=T0)
    duplicate = IncidentFactory(priority=Priority.HIGH, created_at=T0, updated_at=T0)
    incident_merge(actor=manager, source_id=duplicate.pk, target_id=survivor.pk)
    Incident.objects.filter(pk=high.pk).update(assignee=responder)

    with at(T0 + timedelta(hours=2)):
        assert pirs_open_due_task() == 3
        assert pirs_open_due(now=timezone.now()) == 0
    opened = set(PostIncidentReview.objects.values_list("incident_id", flat=True))
    assert opened == {high.pk, critical.pk, by_tier.pk}
    assert routine.pk not in opened and still_open.pk not in opened and duplicate.pk not in opened
    assert all(r.opened_by is None and r.state == "draft" for r in PostIncidentReview.objects.all())
    assert PirEvent.objects.filter(kind="opened").count() == 3
    told = sorted(
        Notification.objects.filter(kind="pir_opened", channel="in_app").values_list(
            "recipient__username", "incident_id"
        )
    )
    assert told == sorted(
        [("morgan", high.pk), ("morgan", critical.pk), ("morgan", by_tier.pk), ("riley", high.pk)]
    )

    # on demand: the one already open comes back as it is; a routine incident gets none
    assert (
        pir_open(actor=responder, incident_id=high.pk).pk == PostIncidentReview.objects.get(incident=high).pk
    )
    with pytest.raises(Conflict, match="Only a resolved high-priority or crisis incident"):
        pir_open(actor=responder, incident_id=routine.pk)
    assert PostIncidentReview.objects.count() == 3


def test_an_older_incident_gets_its_review_on_demand_from_its_page_and_the_api(
    responder: Any, api_for: Callable[[Any], APIClient]
) -> None:
    old = resolved(priority=Priority.HIGH, when=T0 - timedelta(days=60))
    other = resolved(priority=Priority.CRITICAL, when=T0 - timedelta(days=60))
    routine = resolved()
    with at(T0):
        assert pirs_open_due(now=timezone.now()) == 0  # older than the beat task looks
    page = signed_in(responder)
    assert "No review yet" in page.get(f"/reviews/incidents/{old.pk}/").content.decode()
    opened = page.post(f"/reviews/incidents/{old.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == f"/reviews/incidents/{old.pk}/"
    assert PostIncidentReview.objects.get(incident=old).opened_by == responder
    assert page.get(f"/reviews/incidents/{routine.pk}/").status_code == 404

    client = api_for(responder)
    response = client.post(LIST, {"incident": other.pk}, format="json")
    assert response.status_code == 200 and response.json()["incident"] == other.pk
    again = client.post(LIST, {"incident": other.pk}, format="json")
    assert again.json()["id"] == response.json()["id"]
    refused = client.post(LIST, {"incident": routine.pk}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_qualifying"


def test_the_review_is_prefilled_with_the_incidents_own_metrics(
    review: PostIncidentReview, manager: Any, api_for: Callable[[Any], APIClient]
) -> None:
    with at(T0 + timedelta(hours=4)):
        body = api_for(manager).get(f"{LIST}{review.pk}/").json()
    metrics = body["metrics"]
    assert metrics["first_response_seconds"] == 60 * 60
    assert metrics["resolution_seconds"] == 3 * 60 * 60
    first = metrics["first_response"]
    assert (first["policy_name"], first["target_seconds"], first["outcome"]) == ("High priority", 7200, "met")
    assert first["business_seconds"] == pytest.approx(3600)
    resolution = metrics["resolution"]
    assert (resolution["target_seconds"], resolution["outcome"]) == (8 * 3600, "met")
    assert resolution["business_seconds"] == pytest.approx(3 * 3600)
    steps = [(s["stage"], s["role"], s["seconds"], s["outcome"]) for s in metrics["approval_steps"]]
    assert steps == [
        ("legal_review", "legal", 30 * 60, "met"),
        ("management_approval", "manager", 15 * 60, "met"),
    ]
    assert [(t["stage"], t["seconds"], t["steps"]) for t in metrics["stage_totals"]] == [
        ("legal_review", 1800, 1),
        ("management_approval", 900, 1),
    ]

    with at(T0 + timedelta(hours=4)):
        page = signed_in(manager).get(f"/reviews/incidents/{review.incident_id}/").content.decode()
    assert "Time to first response" in page and ">1 h<" in page and ">3 h<" in page
    assert "Target 2 h (High priority): met, 1 h of business time used" in page
    assert "In legal review" in page and ">30 min<" in page and ">15 min<" in page
    # the checklist answers and the timeline, read-only
    assert "The seal was missing on one batch." in page and "Employee" in page and "Not answered" in page
    assert "Reply submitted for approval" in page and "Batch recalled" in page
    assert 'name="value"' not in page  # no checklist form here


def test_saving_is_a_compare_and_set_on_the_version(
    review: PostIncidentReview, responder: Any, pr_user: Any, api_for: Callable[[Any], APIClient]
) -> None:
    url = f"{LIST}{review.pk}/"
    first = api_for(responder).patch(
        url, {"version": 1, "what_went_well": "Legal answered in 30 min."}, format="json"
    )
    assert first.status_code == 200, first.json()
    assert first.json()["version"] == 2 and first.json()["updated_by"]["username"] == "riley"

    stale = api_for(pr_user).patch(url, {"version": 1, "what_went_well": "Overwrites it"}, format="json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    review.refresh_from_db()
    assert review.what_went_well == "Legal answered in 30 min." and review.version == 2

    # the page's form carries the version it showed
    page = signed_in(pr_user).post(
        f"/reviews/incidents/{review.incident_id}/save/",
        {"version": 1, "what_went_well": "x", "what_did_not": "y", "action": "save"},
        HTTP_HX_REQUEST="true",
    )
    assert page.status_code == 409
    ok = signed_in(pr_user).post(
        f"/reviews/incidents/{review.incident_id}/save/",
        {
            "version": 2,
            "what_went_well": "Legal answered in 30 min.",
            "what_did_not": "No holding statement.",
        },
        HTTP_HX_REQUEST="true",
    )
    assert ok.status_code == 200 and 'name="version" value="3"' in ok.content.decode()
    assert list(PirEvent.objects.filter(kind="saved").values_list("details__fields", flat=True)) == [
        ["what_went_well"],
        ["what_did_not"],
    ]


def test_completing_records_who_and_when_and_ends_editing(
    review: PostIncidentReview, responder: Any, manager: Any, api_for: Callable[[Any], APIClient]
) -> None:
    url = f"{LIST}{review.pk}/"
    assert api_for(responder).post(f"{url}complete/", {"version": 1}, format="json").status_code == 403
    empty = api_for(manager).post(f"{url}complete/", {"version": 1}, format="json")
    assert empty.status_code == 400 and set(empty.json()["error"]["fields"]) == {
        "what_went_well",
        "what_did_not",
    }
    pir_save(
        actor=responder, review_id=review.pk, expected_version=1, what_went_well="Fast", what_did_not="Slow"
    )

    with at(T0 + timedelta(days=1)):
        done = api_for(manager).post(f"{url}complete/", {"version": 2}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["state"] == "completed" and done.json()["completed_by"]["username"] == "morgan"
    assert datetime.fromisoformat(done.json()["completed_at"]) == T0 + timedelta(days=1)
    assert api_for(manager).post(f"{url}complete/", {"version": 3}, format="json").status_code == 409
    later = api_for(responder).patch(url, {"version": 3, "what_went_well": "Changed"}, format="json")
    assert later.status_code == 409
    review.refresh_from_db()
    assert review.what_went_well == "Fast"
    page = signed_in(responder).get(f"/reviews/incidents/{review.incident_id}/").content.decode()
    assert "Completed by" in page and "<textarea" not in page


def test_the_page_saves_and_completes_in_one_go_for_a_manager(
    review: PostIncidentReview, manager: Any, legal: Any
) -> None:
    url = f"/reviews/incidents/{review.incident_id}/save/"
    form = {"version": 1, "what_went_well": "Fast sign-off", "what_did_not": "", "action": "complete"}
    refused = signed_in(manager).post(url, form, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "what_did_not" in refused.content.decode()
    review.refresh_from_db()
    assert (review.state, review.what_went_well, review.version) == ("draft", "", 1)  # neither happened

    done = signed_in(manager).post(
        url, {**form, "what_did_not": "No holding statement"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 204 and done["HX-Redirect"] == f"/reviews/incidents/{review.incident_id}/"
    review.refresh_from_db()
    assert review.state == "completed" and review.completed_by == manager and review.version == 3
    assert review.what_went_well == "Fast sign-off"
    # legal writes reviews but does not complete them: the button is not offered either
    other = resolved(priority=Priority.HIGH)
    with at(T0 + timedelta(hours=2)):
        pirs_open_due(now=timezone.now())
    page = signed_in(legal).get(f"/reviews/incidents/{other.pk}/").content.decode()
    assert "<textarea" in page and "Save and complete" not in page
    plain = signed_in(legal).post(
        f"/reviews/incidents/{other.pk}/save/", {"version": 1, "what_went_well": "ok", "action": "complete"}
    )
    assert plain.status_code == 403
    assert PostIncidentReview.objects.get(incident=other).what_went_well == ""


def test_action_items_are_tracked_and_their_owners_reminded_once_per_due_date(
    review: PostIncidentReview,
    responder: Any,
    legal: Any,
    liaison: Any,
    api_for: Callable[[Any], APIClient],
) -> None:
    with at(T0 + timedelta(hours=4)):
        created = api_for(responder).post(
            f"{LIST}{review.pk}/action-items/",
            {"title": "Add the recall notice to the FAQ", "owner": legal.pk, "due_on": "2026-11-20"},
            format="json",
        )
        past = api_for(responder).post(
            f"{LIST}{review.pk}/action-items/",
            {"title": "Too late", "owner": legal.pk, "due_on": "2026-11-01"},
            format="json",
        )
    assert created.status_code == 201, created.json()
    assert past.status_code == 400 and "due_on" in past.json()["error"]["fields"]
    item_id = created.json()["id"]
    hub = signed_in(legal).get("/reviews/").content.decode()
    assert "Your open action items" in hub and "Add the recall notice to the FAQ" in hub
    assert f'href="/reviews/incidents/{review.incident_id}/"' in hub  # the review in progress
    assigned = Notification.objects.filter(
        kind="pir_action_assigned", recipient=legal, channel="in_app"
    ).get()
    assert assigned.subject == "Action item for you: Add the recall notice to the FAQ"

    def due_reminders() -> int:
        return Notification.objects.filter(kind="pir_action_due", recipient=legal, channel="in_app").count()

    with at(datetime(2026, 11, 19, 7, 0, tzinfo=UTC)):
        assert pir_action_reminders_send(now=timezone.now()) == 0  # not due yet
    with at(datetime(2026, 11, 20, 7, 0, tzinfo=UTC)):
        assert pir_action_reminders_send(now=timezone.now()) == 1
        assert pir_action_reminders_send(now=timezone.now()) == 0
    with at(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)):
        assert pir_action_reminders_send(now=timezone.now()) == 0  # overdue, but reminded for this date
    assert due_reminders() == 1

    listed = api_for(legal).get("/api/v1/pir-action-items/", {"owner": "me", "is_done": "false"}).json()
    assert [row["id"] for row in listed["results"]] == [item_id]
    # someone who neither owns it nor edits reviews cannot tick it; its owner can, once
    assert api_for(liaison).post(f"/api/v1/pir-action-items/{item_id}/done/").status_code == 403
    with at(datetime(2026, 11, 23, 8, 0, tzinfo=UTC)):
        done = api_for(legal).post(f"/api/v1/pir-action-items/{item_id}/done/")
    assert done.status_code == 200 and done.json()["done_by"]["username"] == "lee"
    assert api_for(legal).post(f"/api/v1/pir-action-items/{item_id}/done/").status_code == 409
    assert api_for(legal).get("/api/v1/pir-action-items/", {"is_done": "false"}).json()["results"] == []


def test_a_lesson_makes_the_plan_object_it_names_due_now(
    review: PostIncidentReview,
    responder: Any,
    legal: Any,
    pr_user: Any,
    manager: Any,
    crisis_category: Category,
    api_for: Callable[[Any], APIClient],
) -> None:
    ReviewSchedule.objects.all().delete()
    with at(T0):
        template = template_create(
            actor=pr_user,
            name="Holding statement",
            kind="holding_statement",
            body="We are looking into it.",
            owner=pr_user,
            review_due_on=date(2027, 6, 1),
        )
        review_schedules_sync()
    category_review = ReviewSchedule.objects.get(kind=ReviewKind.CATEGORY, object_id=crisis_category.pk)
    ReviewSchedule.objects.filter(pk=category_review.pk).update(owner=legal)
    template_review = ReviewSchedule.objects.get(kind=ReviewKind.TEMPLATE, object_id=template.pk)
    now = T0 + timedelta(days=1)

    with at(now):
        linked = api_for(responder).post(
            f"{LIST}{review.pk}/lessons/",
            {"schedule": category_review.pk, "text": "Ask about the batch number first."},
            format="json",
        )
        pir_lesson_link(
            actor=responder,
            review_id=review.pk,
            schedule_id=template_review.pk,
            text="Say recall is possible.",
        )
        twice = api_for(responder).post(
            f"{LIST}{review.pk}/lessons/", {"schedule": category_review.pk, "text": "Again"}, format="json"
        )
    assert linked.status_code == 201, linked.json()
    assert linked.json()["subject"] == "Category “Product safety”"
    assert twice.status_code == 409
    category_review.refresh_from_db()
    assert category_review.due_at == now
    template.refresh_from_db()
    assert template.review_due_on == now.date()
    made_due = ReviewEvent.objects.filter(kind="made_due").order_by("id")
    assert [e.schedule_id for e in made_due] == [category_review.pk, template_review.pk]
    assert made_due[0].note == f"Lesson from the post-incident review of #{review.incident_id}: " + (
        "Ask about the batch number first."
    )
    told = sorted(
        Notification.objects.filter(kind="review_due", channel="in_app").values_list(
            "recipient__username", "subject"
        )
    )
    assert told == [
        ("lee", "Review now: Category “Product safety”"),
        ("parker", "Review now: Response template “Holding statement”"),
    ]
    # the owners heard of it at once; the daily reminder has nothing more to say about this due date
    with at(now + timedelta(hours=1)):
        review_reminders_send(now=timezone.now())
    assert Notification.objects.filter(kind="review_due", channel="in_app").count() == 2
    with at(now):
        due = signed_in(legal).get("/reviews/").content.decode()
    assert "Product safety" in due


def test_who_may_read_and_write_reviews(
    review: PostIncidentReview,
    spokesperson: Any,
    outsider: Any,
    integration: Any,
    responder: Any,
    api_for: Callable[[Any], APIClient],
) -> None:
    url = f"{LIST}{review.pk}/"
    page_url = f"/reviews/incidents/{review.incident_id}/"
    for user in (outsider, integration):
        client = api_for(user)
        calls = [
            client.get(LIST),
            client.get(url),
            client.patch(url, {"version": 1, "what_went_well": "x"}, format="json"),
            client.post(f"{url}complete/", {"version": 1}, format="json"),
            client.post(f"{url}action-items/", {}, format="json"),
            client.post(f"{url}lessons/", {}, format="json"),
            client.get("/api/v1/pir-action-items/"),
        ]
        assert [c.status_code for c in calls] == [403] * len(calls)
        assert signed_in(user).get(page_url).status_code == 403
    # the spokesperson reads, but does not write
    reader = api_for(spokesperson)
    assert reader.get(url).status_code == 200 and reader.get(LIST).json()["results"][0]["id"] == review.pk
    assert reader.patch(url, {"version": 1, "what_went_well": "x"}, format="json").status_code == 403
    page = signed_in(spokesperson).get(page_url).content.decode()
    assert "<textarea" not in page and "How the response went" in page
    assert signed_in(spokesperson).post(f"{page_url}save/", {"version": 1}).status_code == 403
    review.refresh_from_db()
    assert review.version == 1 and review.what_went_well == ""
    with pytest.raises(PermissionRefused, match="does not allow"):
        pir_action_item_add(
            actor=spokesperson, review_id=review.pk, title="x", owner_id=responder.pk, due_on=T0.date()
        )
    assert not PirActionItem.objects.exists()


def test_the_incident_page_links_to_the_review_of_qualifying_incidents_only(
    review: PostIncidentReview, responder: Any
) -> None:
    routine = resolved()
    client = signed_in(responder)

    def load(incident_id: int) -> tuple[str, int]:
        """The page, and how many of its queries read post-incident reviews."""
        client.get(f"/incidents/{incident_id}/")
        with CaptureQueriesContext(connection) as queries:
            html = client.get(f"/incidents/{incident_id}/").content.decode()
        return html, sum("protocols_postincidentreview" in q["sql"] for q in queries.captured_queries)

    page, reads = load(review.incident_id)
    assert "Post-incident review" in page and f'href="/reviews/incidents/{review.incident_id}/"' in page
    assert reads == 1  # the card costs one query, and only on a qualifying incident's page
    plain, reads = load(routine.pk)
    assert "Post-incident review" not in plain and reads == 0
    Incident.objects.filter(pk=routine.pk).update(priority=Priority.HIGH)
    pending, reads = load(routine.pk)
    assert "Not opened yet" in pending and reads == 1
    assert f'action="/reviews/incidents/{routine.pk}/open/"' in pending  # opened on demand from here


def test_review_events_cannot_be_changed_or_deleted(review: PostIncidentReview) -> None:
    event = PirEvent.objects.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        PirEvent.objects.filter(pk=event.pk).delete()
    for sql in ("UPDATE protocols_pirevent SET kind = 'saved'", "DELETE FROM protocols_pirevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert PirEvent.objects.get().kind == "opened"


def test_the_review_page_runs_the_same_queries_however_many_items_and_lessons(
    review: PostIncidentReview, responder: Any, legal: Any
) -> None:
    client = signed_in(responder)
    url = f"/reviews/incidents/{review.incident_id}/"

    def load() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(numbers: range) -> None:
        for i in numbers:
            pir_action_item_add(
                actor=responder,
                review_id=review.pk,
                title=f"Item {i}",
                owner_id=legal.pk,
                due_on=date(2030, 1, 1),
            )
            category = CategoryFactory(name=f"Lesson {i}", slug=f"lesson-{i}")
            review_schedules_sync()
            schedule = ReviewSchedule.objects.get(kind=ReviewKind.CATEGORY, object_id=category.pk)
            pir_lesson_link(actor=responder, review_id=review.pk, schedule_id=schedule.pk, text=f"Change {i}")

    add(range(1))
    few = load()
    add(range(1, 5))
    assert load() == few
