"""The notification outbox and the inbox: drafts and dedupe, delivery with retries and backoff against a
real local chat webhook and the mail backend, two workers at once, and the bell and inbox pages."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app
from incidents import tasks
from incidents.models import Notification
from incidents.services.notifications import notifications_deliver_batch, notifications_enqueue
from incidents.services.recipients import (
    NotificationDraft,
    notification_drafts_for_role,
    notification_drafts_for_users,
)
from protocols.models import RoleAssignment, WebhookEndpoint
from tests.factories import IncidentFactory, UserFactory
from tests.roles import ROLES, TEAM

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ChatServer:
    """A chat webhook on 127.0.0.1: answers each POST with the next scripted status (then `default`)
    and remembers the notification id header and the JSON body of every request it got."""

    def __init__(self, statuses: list[int], *, default: int, delay: float) -> None:
        self.statuses = list(statuses)
        self.default = default
        self.delay = delay
        self.hits: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._lock:
                    server.hits.append(self.headers.get("X-Firebreak-Notification", ""))
                    server.bodies.append(json.loads(body))
                    status = server.statuses.pop(0) if server.statuses else server.default
                if server.delay:
                    time.sleep(server.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out closed the socket the handler writes to

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.where = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.where}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def chat_server() -> Iterator[Callable[..., ChatServer]]:
    started: list[ChatServer] = []

    def start(statuses: list[int] | None = None, *, default: int = 200, delay: float = 0.0) -> ChatServer:
        server = ChatServer(statuses or [], default=default, delay=delay)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_draft(endpoint: WebhookEndpoint, key: str, **overrides: Any) -> NotificationDraft:
    fields: dict[str, Any] = {
        "recipient_id": endpoint.user_id,
        "channel": "webhook",
        "endpoint_id": endpoint.pk,
        "incident_id": None,
        "kind": "sla.breach",
        "subject": "First response overdue on #12",
        "body": "Nobody has answered the customer yet.",
        "link": "/incidents/12/",
        "dedupe_key": key,
    }
    return NotificationDraft(**{**fields, **overrides})


def inbox_drafts(user_ids: list[int], *, key: str, subject: str = "Breach", **extra: Any) -> list[Any]:
    return notification_drafts_for_users(
        user_ids=user_ids,
        kind=extra.get("kind", "sla.breach"),
        subject=subject,
        body=extra.get("body", "Please answer"),
        link=extra.get("link", ""),
        incident_id=extra.get("incident_id"),
        key=key,
    )


def deliver() -> int:
    return notifications_deliver_batch(now=timezone.now())


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


HTMX = {"HX-Request": "true"}


# --- Delivery to chat webhooks -------------------------------------------------------------------


def test_a_failing_webhook_is_retried_with_backoff_and_delivered_once(
    responder: Any, chat_server: Any, time_machine: Any, settings: Any
) -> None:
    settings.FIREBREAK_BASE_URL = "https://firebreak.example.com/"
    server = chat_server([500, 500], default=200)
    time_machine.move_to(START, tick=False)
    endpoint = WebhookEndpoint.objects.create(name="Riley's Slack", url=server.url, user=responder)
    notifications_enqueue(items=[webhook_draft(endpoint, "breach:12")])
    notification = Notification.objects.get()

    assert deliver() == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert notification.next_attempt_at == START + timedelta(seconds=30)
    assert notification.last_error == f"HTTP 500 from {server.where}"

    time_machine.move_to(START + timedelta(seconds=29), tick=False)
    assert deliver() == 0
    assert len(server.hits) == 1

    time_machine.move_to(START + timedelta(seconds=30), tick=False)
    assert deliver() == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("pending", 2)
    assert notification.next_attempt_at == START + timedelta(seconds=90)

    time_machine.move_to(START + timedelta(seconds=89), tick=False)
    assert deliver() == 0
    time_machine.move_to(START + timedelta(seconds=90), tick=False)
    assert deliver() == 1
    notification.refresh_from_db()
    assert notification.status == "delivered"
    assert notification.delivered_at == START + timedelta(seconds=90)
    assert notification.attempts == 2 and notification.last_error == ""

    time_machine.move_to(START + timedelta(days=1), tick=False)
    assert deliver() == 0
    assert server.hits == [str(notification.pk)] * 3
    assert server.bodies[-1] == {
        "text": "First response overdue on #12\nNobody has answered the customer yet.\n"
        "https://firebreak.example.com/incidents/12/"
    }


def test_teams_webhooks_get_a_message_card(responder: Any, chat_server: Any, settings: Any) -> None:
    settings.FIREBREAK_BASE_URL = "https://firebreak.example.com"
    server = chat_server()
    endpoint = WebhookEndpoint.objects.create(name="PR Teams", url=server.url, flavor="teams", role="pr")
    notifications_enqueue(items=[webhook_draft(endpoint, "teams:1", recipient_id=None)])
    assert deliver() == 1
    assert server.bodies == [
        {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": "First response overdue on #12",
            "title": "First response overdue on #12",
            "text": "Nobody has answered the customer yet.",
            "potentialAction": [
                {
                    "@type": "OpenUri",
                    "name": "Open in Firebreak",
                    "targets": [{"os": "default", "uri": "https://firebreak.example.com/incidents/12/"}],
                }
            ],
        }
    ]
    assert Notification.objects.get().status == "delivered"


def test_an_endpoint_that_keeps_failing_is_shown_to_admins_until_a_message_gets_through(
    responder: Any, admin_user: Any, chat_server: Any, time_machine: Any, settings: Any, mailoutbox: Any
) -> None:
    settings.FIREBREAK_NOTIFY_MAX_ATTEMPTS = 3
    server = chat_server(default=500)
    time_machine.move_to(START, tick=False)
    endpoint = WebhookEndpoint.objects.create(name="Responders Slack", url=server.url, role="responder")
    drafts = notification_drafts_for_role(
        role="responder", kind="sla.breach", subject="Breach", body="", link="", incident_id=None, key="b:1"
    )
    notifications_enqueue(items=drafts)

    assert deliver() == 2  # the member's email and the role's channel
    assert len(mailoutbox) == 1
    for seconds in (30, 90):
        time_machine.move_to(START + timedelta(seconds=seconds), tick=False)
        assert deliver() == 1
    notification = Notification.objects.get(channel="webhook")
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.next_attempt_at is None
    endpoint.refresh_from_db()
    assert endpoint.failing_since == START + timedelta(seconds=90)
    assert endpoint.last_error == f"HTTP 500 from {server.where}"

    time_machine.move_to(START + timedelta(days=1), tick=False)
    assert deliver() == 0
    assert len(server.hits) == 3

    admin_page = signed_in(admin_user).get("/notifications/").content.decode()
    assert "Failing chat webhooks" in admin_page
    assert "Responders Slack" in admin_page and f"HTTP 500 from {server.where}" in admin_page
    assert "secret" not in admin_page  # the URL's path carries the channel's secret
    responder_page = signed_in(responder).get("/notifications/").content.decode()
    assert "Failing chat webhooks" not in responder_page and "Responders Slack" not in responder_page

    server.default = 200
    notifications_enqueue(items=[webhook_draft(endpoint, "b:2", recipient_id=None)])
    assert deliver() == 1
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert "Responders Slack" not in signed_in(admin_user).get("/notifications/").content.decode()


def test_connection_refused_is_a_readable_failure(responder: Any) -> None:
    port = free_port()
    endpoint = WebhookEndpoint.objects.create(
        name="Gone", url=f"http://127.0.0.1:{port}/hook", user=responder
    )
    notifications_enqueue(items=[webhook_draft(endpoint, "gone:1")])
    assert deliver() == 1
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert notification.last_error == f"connection refused by 127.0.0.1:{port}"


def test_a_timeout_is_readable_and_the_rest_of_the_batch_does_not_wait_for_it_again(
    responder: Any, chat_server: Any, settings: Any
) -> None:
    settings.FIREBREAK_WEBHOOK_TIMEOUT_SECONDS = 1
    server = chat_server(delay=2)
    endpoint = WebhookEndpoint.objects.create(name="Slow", url=server.url, user=responder)
    notifications_enqueue(items=[webhook_draft(endpoint, "slow:1"), webhook_draft(endpoint, "slow:2")])
    started = time.monotonic()
    assert deliver() == 2
    assert time.monotonic() - started < 1.9
    assert len(server.hits) == 1
    assert [(n.attempts, n.last_error) for n in Notification.objects.order_by("pk")] == [
        (1, "timed out after 1s"),
        (1, "timed out after 1s"),
    ]


def test_a_switched_off_endpoint_fails_without_being_marked_failing(responder: Any, chat_server: Any) -> None:
    server = chat_server()
    endpoint = WebhookEndpoint.objects.create(name="Old", url=server.url, user=responder)
    notifications_enqueue(items=[webhook_draft(endpoint, "old:1")])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    assert deliver() == 1
    assert Notification.objects.get().status == "failed"
    assert server.hits == []
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_deliver_each_notification_once(chat_server: Any) -> None:
    server = chat_server(delay=0.01)
    endpoint = WebhookEndpoint.objects.create(name="Everyone", url=server.url, role="responder")
    notifications_enqueue(items=[webhook_draft(endpoint, f"many:{n}", recipient_id=None) for n in range(30)])
    now = timezone.now()
    start_together = threading.Barrier(2)
    processed: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start_together.wait(timeout=10)
            while count := notifications_deliver_batch(now=now, limit=4):
                processed.append(count)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(processed) == 30
    assert Notification.objects.filter(status="delivered").count() == 30
    ids = {str(pk) for pk in Notification.objects.values_list("pk", flat=True)}
    assert Counter(server.hits) == Counter(dict.fromkeys(ids, 1))


# --- Email ---------------------------------------------------------------------------------------


def test_email_goes_through_the_mail_backend_once(responder: Any, mailoutbox: Any, settings: Any) -> None:
    settings.FIREBREAK_BASE_URL = "https://firebreak.example.com"
    notifications_enqueue(
        items=inbox_drafts(
            [responder.pk], key="warn:7", subject="Reply due in 10 minutes", link="/incidents/7/"
        )
    )
    assert deliver() == 1
    assert deliver() == 0
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [responder.email]
    assert mail.subject == "Reply due in 10 minutes"
    assert mail.body == "Please answer\n\nhttps://firebreak.example.com/incidents/7/"
    email = Notification.objects.get(channel="email")
    assert mail.extra_headers["X-Firebreak-Notification"] == str(email.pk)
    assert email.status == "delivered" and email.delivered_at is not None


def test_email_without_an_address_fails_at_once(responder: Any, mailoutbox: Any) -> None:
    notifications_enqueue(items=inbox_drafts([responder.pk], key="k"))
    type(responder).objects.filter(pk=responder.pk).update(email="")
    assert deliver() == 1
    email = Notification.objects.get(channel="email")
    assert (email.status, email.last_error) == ("failed", "the recipient has no email address")
    assert mailoutbox == []


# --- Drafts and enqueue --------------------------------------------------------------------------


def test_enqueueing_the_same_drafts_twice_stores_them_once(
    responder: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    queued: list[bool] = []
    monkeypatch.setattr(tasks.notifications_deliver_due, "delay", lambda: queued.append(True))
    drafts = inbox_drafts([responder.pk], key="breach:3")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notifications_enqueue(items=drafts) == 2
        assert notifications_enqueue(items=drafts) == 2
    assert Notification.objects.count() == 2
    in_app = Notification.objects.get(channel="in_app")
    assert in_app.status == "delivered" and in_app.delivered_at is not None and in_app.read_at is None
    email = Notification.objects.get(channel="email")
    assert email.status == "pending" and email.next_attempt_at == email.created_at
    assert len(callbacks) == 2 and len(queued) == 2  # one per enqueue that drafted something to send


def test_in_app_only_drafts_queue_no_delivery(
    responder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    type(responder).objects.filter(pk=responder.pk).update(email="")
    with django_capture_on_commit_callbacks() as callbacks:
        notifications_enqueue(items=inbox_drafts([responder.pk], key="k"))
    assert callbacks == []
    assert Notification.objects.get().channel == "in_app"


def test_drafts_for_a_role_reach_members_on_duty_and_the_roles_channels(
    responder: Any, manager: Any, django_assert_num_queries: Any
) -> None:
    off_duty = UserFactory(username="otto", roles=["responder"])
    RoleAssignment.objects.filter(user=off_duty).update(is_on_duty=False)
    UserFactory(username="gone", roles=["responder"], is_active=False)
    no_mail = UserFactory(username="nomail", email="", roles=["responder"])
    own = WebhookEndpoint.objects.create(name="Riley DM", url="https://hooks.example.com/a", user=responder)
    WebhookEndpoint.objects.create(
        name="Off", url="https://hooks.example.com/b", user=responder, is_active=False
    )
    WebhookEndpoint.objects.create(name="Otto DM", url="https://hooks.example.com/c", user=off_duty)
    team = WebhookEndpoint.objects.create(name="Team", url="https://hooks.example.com/d", role="responder")
    WebhookEndpoint.objects.create(name="Managers", url="https://hooks.example.com/e", role="manager")

    with django_assert_num_queries(3):
        drafts = notification_drafts_for_role(
            role="responder", kind="k", subject="s", body="b", link="", incident_id=None, key="f:1"
        )
    assert {(d.recipient_id, d.channel, d.endpoint_id, d.dedupe_key) for d in drafts} == {
        (responder.pk, "in_app", None, f"f:1:u{responder.pk}:in_app"),
        (responder.pk, "email", None, f"f:1:u{responder.pk}:email"),
        (responder.pk, "webhook", own.pk, f"f:1:u{responder.pk}:webhook:e{own.pk}"),
        (no_mail.pk, "in_app", None, f"f:1:u{no_mail.pk}:in_app"),
        (None, "webhook", team.pk, f"f:1:rresponder:webhook:e{team.pk}"),
    }


def test_drafts_for_many_users_take_two_queries_and_long_keys_are_hashed(
    django_assert_num_queries: Any, db: Any
) -> None:
    users = [UserFactory() for _ in range(6)]
    with django_assert_num_queries(2):
        drafts = inbox_drafts([u.pk for u in users], key="x" * 250)
    assert len(drafts) == 12
    keys = [d.dedupe_key for d in drafts]
    assert len(set(keys)) == 12 and all(len(k) <= 200 for k in keys)


# --- The inbox -----------------------------------------------------------------------------------


def test_a_user_sees_only_their_own_notifications(responder: Any, manager: Any) -> None:
    incident = IncidentFactory(title="Blender exploded")
    notifications_enqueue(
        items=inbox_drafts(
            [responder.pk],
            key="a",
            subject="For Riley",
            incident_id=incident.pk,
            link=f"/incidents/{incident.pk}/",
        )
        + inbox_drafts([manager.pk], key="b", subject="For Morgan")
    )
    html = signed_in(responder).get("/notifications/").content.decode()
    assert "For Riley" in html and "For Morgan" not in html
    assert f'href="/incidents/{incident.pk}/">#{incident.pk} Blender exploded</a>' in html
    assert "1 unread" in html


def test_marking_another_users_notification_is_404_and_changes_nothing(responder: Any, manager: Any) -> None:
    notifications_enqueue(items=inbox_drafts([manager.pk], key="b"))
    theirs = Notification.objects.get(channel="in_app")
    client = signed_in(responder)
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.post(f"/notifications/{theirs.pk}/read/", headers=HTMX).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_bell_counts_unread_and_marking_read_updates_it(responder: Any, manager: Any) -> None:
    for key in ("a", "b", "c"):
        notifications_enqueue(items=inbox_drafts([responder.pk], key=key, subject=f"Note {key}"))
    notifications_enqueue(items=inbox_drafts([manager.pk], key="m"))
    client = signed_in(responder)
    bell = client.get("/notifications/bell/", headers=HTMX).content.decode()
    assert 'aria-label="Notifications, 3 unread"' in bell
    assert '<span class="bell-badge" aria-hidden="true">3</span>' in bell
    assert "aria-current" not in bell
    on_inbox = {**HTMX, "HX-Current-URL": "http://testserver/notifications/"}
    assert 'aria-current="page"' in client.get("/notifications/bell/", headers=on_inbox).content.decode()

    first = Notification.objects.filter(recipient=responder, channel="in_app").order_by("pk").first()
    assert first is not None
    answer = client.post(f"/notifications/{first.pk}/read/", headers=HTMX).content.decode()
    assert f'id="notification-{first.pk}" class="notification"' in answer  # no longer unread
    assert 'aria-label="Notifications, 2 unread"' in answer
    assert client.post(f"/notifications/{first.pk}/read/", headers=HTMX).status_code == 200  # idempotent
    assert 'aria-label="Notifications, 2 unread"' in client.get("/notifications/bell/").content.decode()

    answer = client.post("/notifications/read-all/", headers=HTMX).content.decode()
    assert 'aria-label="Notifications, 0 unread"' in answer and "bell-badge" not in answer
    assert "Marked 2 notifications read." in answer
    assert not Notification.objects.filter(
        recipient=responder, read_at__isnull=True, channel="in_app"
    ).exists()
    assert Notification.objects.get(recipient=manager, channel="in_app").read_at is None


def test_plain_posts_redirect_back_to_the_inbox(responder: Any) -> None:
    notifications_enqueue(items=inbox_drafts([responder.pk], key="a"))
    mine = Notification.objects.get(channel="in_app")
    client = signed_in(responder)
    response = client.post(f"/notifications/{mine.pk}/read/")
    assert (response.status_code, response["Location"]) == (302, "/notifications/")
    assert client.post("/notifications/read-all/").status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


@pytest.mark.parametrize("role", ROLES)
def test_inbox_pages_by_role(request: pytest.FixtureRequest, role: str) -> None:
    user = request.getfixturevalue(role)
    client = signed_in(user)
    expected = 200 if role in TEAM else 403
    assert client.get("/notifications/").status_code == expected
    assert client.get("/notifications/bell/").status_code == expected
    assert client.post("/notifications/read-all/").status_code == (302 if role in TEAM else 403)


def test_anonymous_is_sent_to_login() -> None:
    for path in ("/notifications/", "/notifications/bell/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert Client().post("/notifications/read-all/").status_code == 302


def test_every_page_has_a_polling_bell_for_team_members(responder: Any, outsider: Any) -> None:
    html = signed_in(responder).get("/").content.decode()
    assert 'hx-get="/notifications/bell/" hx-trigger="load, every 15s"' in html
    assert 'href="/notifications/"' in html and 'aria-label="Notifications"' in html
    assert "/notifications/bell/" not in signed_in(outsider).get("/").content.decode()


def test_inbox_query_count_does_not_grow_with_notifications(admin_user: Any) -> None:
    def count_queries() -> int:
        client = signed_in(admin_user)
        client.get("/notifications/")
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/notifications/")
        assert response.status_code == 200
        return len(queries)

    incident = IncidentFactory()
    notifications_enqueue(items=inbox_drafts([admin_user.pk], key="k0", incident_id=incident.pk))
    WebhookEndpoint.objects.create(
        name="Broken", url="https://hooks.example.com/x", role="admin", failing_since=timezone.now()
    )
    few = count_queries()
    for n in range(1, 40):
        notifications_enqueue(items=inbox_drafts([admin_user.pk], key=f"k{n}", incident_id=incident.pk))
        WebhookEndpoint.objects.create(
            name=f"Broken {n}",
            url="https://hooks.example.com/x",
            user=admin_user,
            failing_since=timezone.now(),
        )
    many = count_queries()
    assert many == few
    assert many <= 6  # session, user, roles, notifications, unread count, failing webhooks


# --- The task ------------------------------------------------------------------------------------


def test_the_task_works_through_batches_until_nothing_is_due(
    responder: Any, mailoutbox: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(tasks, "NOTIFY_BATCH", 2)
    for key in ("a", "b", "c", "d", "e"):
        notifications_enqueue(items=inbox_drafts([responder.pk], key=key))
    assert tasks.notifications_deliver_due() == 5
    assert tasks.notifications_deliver_due() == 0
    assert len(mailoutbox) == 5


def test_beat_runs_delivery_every_15_seconds() -> None:
    entries = [
        e for e in app.conf.beat_schedule.values() if e["task"] == tasks.notifications_deliver_due.name
    ]
    assert len(entries) == 1 and entries[0]["schedule"] == 15.0


def test_admin_lists_failing_webhooks_and_the_outbox(db: Any) -> None:
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    WebhookEndpoint.objects.create(
        name="Broken channel", url="https://hooks.example.com/a", role="pr", failing_since=timezone.now()
    )
    WebhookEndpoint.objects.create(name="Fine channel", url="https://hooks.example.com/b", role="pr")
    client = signed_in(superuser)
    html = client.get("/admin/protocols/webhookendpoint/?failing=yes").content.decode()
    assert "Broken channel" in html and "Fine channel" not in html
    assert client.get("/admin/incidents/notification/").status_code == 200
