"""Outbound webhooks against a real HTTP server on 127.0.0.1: every event reaches its subscribers only,
signed the way the README tells receivers to check, retried with backoff, at least once, replayable;
bulk intake pays for it in one statement; only admins manage it; bad input stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from incidents.models import DeliveryState, Incident, WebhookDelivery, WebhookEvent, WebhookSubscription
from incidents.services import crisis as crisis_services
from incidents.services import incidents as incident_services
from incidents.services import replies as reply_services
from incidents.services.clocks import clocks_start
from incidents.services.ingestion import mentions_ingest
from incidents.services.spikes import Surge, surge_record
from incidents.services.sweeper import sla_sweep
from incidents.services.webhook_delivery import webhook_deliveries_claim
from incidents.services.webhooks import webhook_subscription_create
from incidents.tasks import webhooks_deliver_due
from protocols.models import SlaPolicy
from tests.factories import IncidentFactory, mention_payload
from tests.fakes.server import LocalServer, Received, Reply

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Receiver:
    """A receiver on 127.0.0.1 answering each POST with the next scripted reply (then `default`)."""

    def __init__(self, script: list[Reply], default: Reply) -> None:
        self.script = list(script)
        self.default = default
        self.server = LocalServer(self._answer).start()
        self.url = f"{self.server.base_url}/hooks/firebreak"

    def _answer(self, request: Received) -> Reply:
        return self.script.pop(0) if self.script else self.default

    @property
    def received(self) -> list[Received]:
        with self.server.lock:
            return list(self.server.received)

    def delivery_ids(self) -> list[str]:
        return [r.headers["x-firebreak-delivery"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*statuses: int, default: int = 200, headers: dict[str, str] | None = None) -> Receiver:
        script = [Reply(status, b"{}", headers or {}) for status in statuses]
        started.append(Receiver(script, Reply(default, b"{}")))
        return started[-1]

    yield start
    for server in started:
        server.server.stop()


def subscribe(admin: Any, url: str, *events: str, name: str = "Ticketing") -> tuple[WebhookSubscription, str]:
    issued = webhook_subscription_create(actor=admin, name=name, url=url, event_types=list(events))
    return issued.subscription, issued.secret


def time_travel(moment: datetime) -> Any:
    """Stand still at `moment`, so backoff and lease times are exact."""
    return time_machine.travel(moment, tick=False)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# The receiver's check, written exactly as the README's "Outbound webhooks" section shows it.
def verify(secret: str, headers: dict[str, str], body: bytes, seen: set[str]) -> bool:
    timestamp = headers["x-firebreak-timestamp"]
    signature = headers["x-firebreak-signature"]
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    if not hmac.compare_digest(expected, signature):
        return False
    if abs(time.time() - int(timestamp)) > 300:
        return False
    delivery_id = headers["x-firebreak-delivery"]
    if delivery_id in seen:
        return True  # already handled: answer 2xx and do nothing
    seen.add(delivery_id)
    return True


# --- Events ----------------------------------------------------------------------------------------


def test_each_event_reaches_the_subscribers_of_that_event_and_no_one_else(
    admin_user: Any, responder: Any, manager: Any, receiver: Any
) -> None:
    server = receiver()
    subscriptions = {
        event: subscribe(admin_user, server.url, event, name=event)[0] for event in WebhookEvent.values
    }
    everything, _ = subscribe(admin_user, server.url, *WebhookEvent.values, name="everything")
    SlaPolicy.objects.create(name="Fast", first_response_minutes=10, warn_at_percent=80)

    with time_travel(START):
        incident = incident_services.incident_create(actor=responder, title="Kettle lid flew off")
        incident_services.incident_set_priority(actor=responder, incident_id=incident.pk, priority="high")
        reply = reply_services.reply_create(
            actor=responder, incident_id=incident.pk, body="Sorry to hear that!"
        )
        reply_services.reply_submit(actor=responder, reply_id=reply.pk)  # no sign-off needed: approved too
        reply_services.reply_publish(actor=responder, reply_id=reply.pk, url="https://x.com/brand/status/9")
        crisis_services.crisis_start(actor=manager, reason="Kettle recall goes viral")
        crisis_services.crisis_end(actor=manager, reason="Calm again")
        surge_record(
            surge=Surge(
                tag="kettle",
                window_start=START,
                span_start=START,
                span_minutes=1,
                count=40,
                rate_per_minute=40.0,
                baseline_per_minute=6.0,
                threshold=25.0,
            ),
            factor=3.0,
            now=timezone.now(),
        )
        other = Incident.objects.get(pk=IncidentFactory(title="No one answered").pk)
        clocks_start(incident=other, now=timezone.now())
    for minutes in (9, 11):  # the warning comes before the 10-minute target, the breach after it
        with time_travel(START + timedelta(minutes=minutes)):
            sla_sweep()

    for event, subscription in subscriptions.items():
        got = set(WebhookDelivery.objects.filter(subscription=subscription).values_list("event", flat=True))
        assert got == {event}, event
    every = WebhookDelivery.objects.filter(subscription=everything)
    assert set(every.values_list("event", flat=True)) == set(WebhookEvent.values)

    with time_travel(START + timedelta(minutes=12)):
        webhooks_deliver_due()
    total = WebhookDelivery.objects.count()
    assert len(server.received) == total
    assert sorted(server.delivery_ids()) == sorted(
        str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)
    )
    assert WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).count() == total
    for request in server.received:
        body = json.loads(request.body)
        assert body["id"] == request.headers["x-firebreak-delivery"]
        assert body["type"] == request.headers["x-firebreak-event"]

    # What integrators get: the incident's summary, and for the others their own fields beside it.
    created = every.get(event="incident.created", incident=incident).payload
    assert created["type"] == "incident.created"
    assert created["data"] == {
        "id": incident.pk,
        "title": "Kettle lid flew off",
        "status": "new",
        "priority": "normal",
        "category": None,
        "url": f"http://localhost:8000/incidents/{incident.pk}/",
    }
    updated = every.get(event="incident.updated", payload__data__changes__has_key="priority").payload["data"]
    assert updated["priority"] == "high" and updated["changes"] == {
        "priority": {"from": "normal", "to": "high"}
    }
    published = every.get(event="reply.published").payload["data"]
    assert published["reply_id"] == reply.pk and published["url"] == "https://x.com/brand/status/9"
    assert published["incident"]["id"] == incident.pk
    breach = every.get(event="sla.breached", incident=other).payload["data"]
    assert breach["target"] == "first_response" and breach["incident"]["id"] == other.pk
    assert every.get(event="surge.detected").payload["data"]["tag"] == "kettle"
    assert every.get(event="crisis.ended").payload["data"]["ended_at"] is not None


def test_the_signature_verifies_with_the_documented_recipe_and_not_after_tampering(
    admin_user: Any, responder: Any, receiver: Any
) -> None:
    server = receiver()
    _, secret = subscribe(admin_user, server.url, "incident.created")
    incident_services.incident_create(actor=responder, title="Broken handle")
    webhooks_deliver_due()
    (request,) = server.received
    assert request.headers["content-type"] == "application/json"
    seen: set[str] = set()
    assert verify(secret, request.headers, request.body, seen)
    assert verify(secret, request.headers, request.body, seen) and len(seen) == 1  # a repeat is recognised
    assert not verify(secret, request.headers, request.body.replace(b"Broken", b"Lovely"), set())
    assert not verify("whsec_someone-else", request.headers, request.body, set())
    stale = {
        **request.headers,
        "x-firebreak-timestamp": str(int(request.headers["x-firebreak-timestamp"]) - 600),
    }
    assert not verify(secret, stale, request.body, set())


# --- Delivery: retries, backoff, at least once ------------------------------------------------------


def _one_delivery(admin_user: Any, responder: Any, url: str) -> WebhookDelivery:
    subscribe(admin_user, url, "incident.created")
    incident_services.incident_create(actor=responder, title="Late parcel")
    return WebhookDelivery.objects.get()


def test_a_500_is_retried_with_exponential_backoff_then_delivered_with_the_same_id(
    admin_user: Any, responder: Any, receiver: Any
) -> None:
    server = receiver(500, 500)
    with time_travel(START):
        delivery = _one_delivery(admin_user, responder, server.url)
        assert webhooks_deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    # 30 s, less up to 20% of jitter
    assert delivery.next_attempt_at is not None
    assert START + timedelta(seconds=24) <= delivery.next_attempt_at <= START + timedelta(seconds=30)
    with time_travel(START + timedelta(seconds=20)):
        assert webhooks_deliver_due() == 0  # not due yet
    with time_travel(START + timedelta(seconds=31)):
        webhooks_deliver_due()
    delivery.refresh_from_db()
    second = START + timedelta(seconds=31)
    assert delivery.attempts == 2
    assert delivery.next_attempt_at is not None
    assert second + timedelta(seconds=48) <= delivery.next_attempt_at <= second + timedelta(seconds=60)
    with time_travel(second + timedelta(seconds=61)):
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert server.delivery_ids() == [str(delivery.pk)] * 3
    assert len({r.body for r in server.received}) == 1  # the same frozen payload every time
    assert WebhookSubscription.objects.get().failing_since is None


def test_a_429_retry_after_is_honoured(admin_user: Any, responder: Any, receiver: Any) -> None:
    server = receiver(429, headers={"Retry-After": "120"})
    with time_travel(START):
        delivery = _one_delivery(admin_user, responder, server.url)
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at == START + timedelta(seconds=120)
    with time_travel(START + timedelta(seconds=100)):
        assert webhooks_deliver_due() == 0
    with time_travel(START + timedelta(seconds=121)):
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and len(server.received) == 2


def test_a_404_fails_at_once_and_marks_the_subscription_failing(
    admin_user: Any, responder: Any, receiver: Any
) -> None:
    server = receiver(default=404)
    with time_travel(START):
        delivery = _one_delivery(admin_user, responder, server.url)
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 1, 404)
    assert delivery.last_error.startswith("HTTP 404 from 127.0.0.1:")
    assert WebhookSubscription.objects.get().failing_since == START
    with time_travel(START + timedelta(hours=2)):
        assert webhooks_deliver_due() == 0
    assert len(server.received) == 1


def test_after_the_last_attempt_it_fails_then_a_replay_resends_the_same_delivery(
    admin_user: Any, responder: Any, receiver: Any, settings: Any, api_for: Any
) -> None:
    settings.FIREBREAK_OUTBOUND_MAX_ATTEMPTS = 2
    server = receiver(500, 500)
    with time_travel(START):
        delivery = _one_delivery(admin_user, responder, server.url)
        webhooks_deliver_due()
    with time_travel(START + timedelta(minutes=5)):
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    assert WebhookSubscription.objects.get().failing_since is not None
    page = signed_in(admin_user).get("/webhooks/")
    assert "Failing since" in page.content.decode()

    with time_travel(START + timedelta(minutes=10)):
        answer = api_for(admin_user).post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")
        assert answer.status_code == 200 and answer.json()["state"] == "pending"
        assert answer.json()["id"] == str(delivery.pk)
        webhooks_deliver_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 3)  # the attempts so far stay counted
    assert server.delivery_ids() == [str(delivery.pk)] * 3
    assert len({r.body for r in server.received}) == 1
    assert WebhookSubscription.objects.get().failing_since is None
    # Replaying what is still queued is refused with nothing changed.
    assert api_for(admin_user).post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/").status_code == 200
    again = api_for(admin_user).post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")
    assert again.status_code == 409


def test_replay_from_the_delivery_log_page(admin_user: Any, responder: Any, receiver: Any) -> None:
    server = receiver()
    delivery = _one_delivery(admin_user, responder, server.url)
    webhooks_deliver_due()
    client = signed_in(admin_user)
    page = client.get(f"/webhooks/{delivery.subscription_id}/").content.decode()
    assert str(delivery.pk) in page and "Delivered" in page and "Late parcel" in page
    answer = client.post(f"/webhook-deliveries/{delivery.pk}/replay/", {"page": "1"})
    assert answer.status_code == 302 and answer["Location"] == f"/webhooks/{delivery.subscription_id}/?page=1"
    webhooks_deliver_due()
    assert server.delivery_ids() == [str(delivery.pk)] * 2


def test_running_the_task_twice_sends_nothing_twice(admin_user: Any, responder: Any, receiver: Any) -> None:
    server = receiver()
    subscribe(admin_user, server.url, "incident.created")
    for n in range(3):
        incident_services.incident_create(actor=responder, title=f"Parcel {n}")
    assert webhooks_deliver_due() == 3
    assert webhooks_deliver_due() == 0
    assert sorted(server.delivery_ids()) == sorted(
        str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_delivery_once(receiver: Any) -> None:
    from tests.factories import UserFactory

    admin = UserFactory(username="ada2", roles=["admin"])
    responder = UserFactory(username="riley2", roles=["responder"])
    server = receiver()
    server.server.delay = 0.01
    subscribe(admin, server.url, "incident.created")
    for n in range(30):
        incident_services.incident_create(actor=responder, title=f"Parcel {n}")

    def work() -> None:
        try:
            webhooks_deliver_due()
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    ids = server.delivery_ids()
    assert len(ids) == 30 and len(set(ids)) == 30
    assert WebhookDelivery.objects.filter(state="delivered").count() == 30


def test_a_worker_killed_mid_delivery_leaves_a_lease_that_expires_and_it_is_sent_again(
    admin_user: Any, responder: Any, receiver: Any
) -> None:
    server = receiver()
    with time_travel(START):
        delivery = _one_delivery(admin_user, responder, server.url)
        (claimed,) = webhook_deliveries_claim(now=timezone.now(), limit=20)  # ...and then the worker died
        assert claimed.state == "delivering" and claimed.lease_expires_at is not None
        assert webhooks_deliver_due() == 0  # the lease still holds it
    with time_travel(claimed.lease_expires_at + timedelta(seconds=1)):
        assert webhooks_deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    assert server.delivery_ids() == [str(delivery.pk)]


def test_beat_sends_due_deliveries_every_15_seconds() -> None:
    entry = celery_app.conf.beat_schedule["deliver-due-webhooks"]
    assert entry["task"] == "incidents.tasks.webhooks_deliver_due" and entry["schedule"] == 15.0


# --- Cost in bulk intake ---------------------------------------------------------------------------


def _batch(first: int) -> list[dict[str, Any]]:
    return [
        mention_payload(n, author_handle=f"author{n}", thread_id=f"t{n}") for n in range(first, first + 100)
    ]


def _webhook_queries(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if "webhook" in q["sql"]]


def test_bulk_intake_emits_in_one_statement_and_costs_at_most_one_query_without_subscribers(
    admin_user: Any, integration: Any, django_assert_max_num_queries: Any
) -> None:
    def ingest(first: int) -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as context:
            results = mentions_ingest(items=_batch(first), actor=integration, actor_label="api:bridge")
        assert sum(r.status == "created" for r in results) == 100
        return len(context.captured_queries), _webhook_queries(context)

    _, asked = ingest(0)  # also warms the session's prepared statements
    assert len(asked) <= 1  # nobody subscribed: at most the (then cached) question whether anyone did
    without, cached = ingest(1000)
    assert cached == []  # answered from the cache: no query at all

    subscribe(admin_user, "https://tickets.example.com/hooks", "incident.created")
    # The subscription forgot the cached answer: asking again, then one INSERT … SELECT for the batch.
    with django_assert_max_num_queries(without + 2):
        _, used = ingest(2000)
    assert [sql.lstrip().split()[0] for sql in used] == ["SELECT", "INSERT"]
    assert WebhookDelivery.objects.filter(event="incident.created").count() == 100
    with django_assert_max_num_queries(without + 1):
        ingest(3000)
    assert WebhookDelivery.objects.filter(event="incident.created").count() == 200


# --- Who may, and what is accepted -----------------------------------------------------------------


def test_non_admins_get_403_on_the_pages_and_the_api(
    admin_user: Any, responder: Any, manager: Any, api_for: Any, receiver: Any
) -> None:
    server = receiver()
    delivery = _one_delivery(admin_user, responder, server.url)
    subscription_id = delivery.subscription_id
    for user in (responder, manager):
        client = signed_in(user)
        assert client.get("/webhooks/").status_code == 403
        assert client.get(f"/webhooks/{subscription_id}/").status_code == 403
        assert client.post(f"/webhook-deliveries/{delivery.pk}/replay/").status_code == 403
        assert client.post(f"/webhooks/{subscription_id}/deactivate/").status_code == 403
        api = api_for(user)
        assert api.get("/api/v1/webhooks/").status_code == 403
        assert api.post("/api/v1/webhooks/", {"name": "x"}, format="json").status_code == 403
        assert api.get(f"/api/v1/webhooks/{subscription_id}/deliveries/").status_code == 403
        assert api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/").status_code == 403
    assert WebhookSubscription.objects.get().is_active
    assert "Webhooks" not in signed_in(responder).get("/").content.decode()
    admin = signed_in(admin_user)
    assert 'href="/webhooks/"' in admin.get("/").content.decode()
    assert admin.get("/webhooks/").status_code == 200
    assert admin.get(f"/webhooks/{subscription_id}/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "T", "url": "https://t.example.com/h", "event_types": ["incident.deleted"]}, "event_types"),
        ({"name": "T", "url": "https://t.example.com/h", "event_types": []}, "event_types"),
        ({"name": "T", "url": "http://t.example.com/h", "event_types": ["sla.breached"]}, "url"),
        ({"name": "T", "url": "ftp://t.example.com/h", "event_types": ["sla.breached"]}, "url"),
        ({"name": " ", "url": "https://t.example.com/h", "event_types": ["sla.breached"]}, "name"),
        ({"name": "T", "url": "https://t.example.com/h"}, "event_types"),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_stores_nothing(
    admin_user: Any, api_for: Any, body: dict[str, Any], field: str
) -> None:
    answer = api_for(admin_user).post("/api/v1/webhooks/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_the_form_refuses_plain_http_to_another_host_with_nothing_stored(admin_user: Any) -> None:
    answer = signed_in(admin_user).post(
        "/webhooks/", {"name": "T", "url": "http://t.example.com/h", "event_types": ["sla.breached"]}
    )
    assert answer.status_code == 400 and "https://" in answer.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_plain_http_to_other_hosts_only_when_the_setting_allows_it(admin_user: Any, settings: Any) -> None:
    settings.FIREBREAK_OUTBOUND_ALLOW_HTTP = True
    subscription, _ = subscribe(admin_user, "http://t.example.com/h", "sla.breached")
    assert subscription.url == "http://t.example.com/h"


def test_the_secret_is_shown_once_on_creation_and_never_again(admin_user: Any, api_for: Any) -> None:
    api = api_for(admin_user)
    body = {
        "name": "Tickets",
        "url": "https://t.example.com/h",
        "event_types": ["sla.breached", "incident.created"],
    }
    created = api.post("/api/v1/webhooks/", body, format="json")
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created.json()["event_types"] == ["incident.created", "sla.breached"]
    subscription_id = created.json()["id"]
    assert secret not in api.get("/api/v1/webhooks/").content.decode()
    assert secret not in api.get(f"/api/v1/webhooks/{subscription_id}/").content.decode()
    client = signed_in(admin_user)
    made = client.post(
        "/webhooks/", {"name": "Chat", "url": "https://c.example.com/h", "event_types": ["reply.published"]}
    )
    shown = made.content.decode()
    page_secret = WebhookSubscription.objects.get(name="Chat").secret
    assert made.status_code == 200 and page_secret in shown and "no-store" in made["Cache-Control"]
    later = client.get("/webhooks/").content.decode()
    assert page_secret not in later and secret not in later


def test_a_switched_off_subscription_gets_no_new_events_and_its_queue_fails(
    admin_user: Any, responder: Any, api_for: Any, receiver: Any
) -> None:
    server = receiver()
    delivery = _one_delivery(admin_user, responder, server.url)
    api = api_for(admin_user)
    answer = api.post(f"/api/v1/webhooks/{delivery.subscription_id}/deactivate/")
    assert answer.status_code == 200 and answer.json()["is_active"] is False
    assert api.post(f"/api/v1/webhooks/{delivery.subscription_id}/deactivate/").status_code == 409
    incident_services.incident_create(actor=responder, title="After the switch-off")
    assert WebhookDelivery.objects.count() == 1
    webhooks_deliver_due()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "switched off" in delivery.last_error
    assert server.received == []
    assert WebhookSubscription.objects.get().failing_since is None  # switched off is not failing


def test_the_delivery_log_api_is_newest_first_and_paginated(
    admin_user: Any, responder: Any, api_for: Any
) -> None:
    subscribe(admin_user, "https://t.example.com/h", "incident.created")
    for n in range(3):
        with time_travel(START + timedelta(minutes=n)):
            incident_services.incident_create(actor=responder, title=f"Parcel {n}")
    subscription_id = WebhookSubscription.objects.get().pk
    page = api_for(admin_user).get(f"/api/v1/webhooks/{subscription_id}/deliveries/").json()
    titles = [row["payload"]["data"]["title"] for row in page["results"]]
    assert titles == ["Parcel 2", "Parcel 1", "Parcel 0"]
    assert {"next", "previous", "results"} <= set(page)


def test_a_merge_and_its_undo_are_incident_updates_of_the_duplicate(admin_user: Any, responder: Any) -> None:
    from incidents.services.merge import incident_merge, incident_merge_undo

    subscribe(admin_user, "https://t.example.com/h", "incident.updated")
    duplicate = IncidentFactory(title="Kettle lid flew off", status="triaged")
    survivor = IncidentFactory(title="Kettle lid flew off again", status="triaged")
    merge = incident_merge(actor=responder, source_id=duplicate.pk, target_id=survivor.pk)
    incident_merge_undo(actor=responder, merge_id=merge.pk)
    changes = [
        d.payload["data"]["changes"]
        for d in WebhookDelivery.objects.filter(incident=duplicate).order_by(
            "created_at", "payload__data__status"
        )
    ]
    assert {
        "status": {"from": "triaged", "to": "closed"},
        "merged_into_id": {"from": None, "to": survivor.pk},
    } in changes
    assert {
        "status": {"from": "closed", "to": "triaged"},
        "merged_into_id": {"from": survivor.pk, "to": None},
    } in changes
