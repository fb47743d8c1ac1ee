"""Closing long-resolved incidents: the service step, its idempotency, and a real Celery worker."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from config.celery import app
from incidents.models import Incident, TimelineEvent
from incidents.services.incidents import incidents_close_resolved
from incidents.tasks import close_resolved_incidents
from tests.factories import IncidentFactory


@pytest.mark.django_db
def test_only_incidents_resolved_long_enough_are_closed_once() -> None:
    now = timezone.now()
    stale = IncidentFactory(status="resolved", resolved_at=now - timedelta(days=8))
    fresh = IncidentFactory(status="resolved", resolved_at=now - timedelta(days=1))
    still_open = IncidentFactory(status="in_progress")
    assert close_resolved_incidents() == 1
    assert close_resolved_incidents() == 0  # idempotent: nothing left to do
    stale.refresh_from_db()
    assert stale.status == "closed" and stale.closed_at is not None
    assert Incident.objects.get(pk=fresh.pk).status == "resolved"
    assert Incident.objects.get(pk=still_open.pk).status == "in_progress"
    assert list(TimelineEvent.objects.filter(incident=stale).values_list("kind", "actor_label")) == [
        ("closed", "system")
    ]


@pytest.mark.django_db
def test_batches_until_no_work_is_left() -> None:
    old = timezone.now() - timedelta(days=30)
    for _ in range(5):
        IncidentFactory(status="resolved", resolved_at=old)
    assert incidents_close_resolved(resolved_before=timezone.now(), limit=2) == 2
    assert close_resolved_incidents() == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task_from_redis() -> None:
    stale = IncidentFactory(status="resolved", resolved_at=timezone.now() - timedelta(days=9))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        close_resolved_incidents.delay()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Incident.objects.get(pk=stale.pk).status != "closed":
            time.sleep(0.1)
    assert Incident.objects.get(pk=stale.pk).status == "closed"
    assert TimelineEvent.objects.filter(incident=stale, kind="closed").count() == 1


def test_beat_schedules_the_task(settings: Any) -> None:
    schedule = app.conf.beat_schedule
    assert any(entry["task"] == close_resolved_incidents.name for entry in schedule.values())


def test_the_sla_sweeper_ticks_every_second_and_stale_ticks_are_dropped() -> None:
    tick = next(e for e in app.conf.beat_schedule.values() if e["task"] == "incidents.tasks.sla_tick")
    assert tick["schedule"] == 1.0
    assert 0 < tick["options"]["expires"] <= 10  # a busy worker drops old ticks instead of queueing them
    audit = next(e for e in app.conf.beat_schedule.values() if e["task"] == "incidents.tasks.sla_audit")
    assert audit["schedule"] <= 60


def test_celery_is_configured_for_at_least_once_delivery_of_idempotent_tasks() -> None:
    conf = app.conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > conf.task_time_limit > conf.task_soft_time_limit


def test_sla_tasks_have_their_own_queue_and_the_procfile_runs_a_worker_for_it() -> None:
    """A backlog of deliveries on the default queue must never delay a deadline."""
    from pathlib import Path

    assert app.amqp.router.route({}, "incidents.tasks.sla_tick")["queue"].name == "sla"
    assert app.amqp.router.route({}, "incidents.tasks.sla_audit")["queue"].name == "sla"
    assert app.amqp.router.route({}, "incidents.tasks.notifications_deliver_due")["queue"].name == "celery"
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    clock = next(line for line in procfile.splitlines() if line.startswith("clock:"))
    assert " worker -Q sla " in clock
