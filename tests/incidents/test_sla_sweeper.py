"""The sweeper under concurrency and failure: two sweeps at once, a real Celery worker killed with
SIGKILL mid-sweep and restarted, ticks that find the sweeper busy. Each firing happens exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from incidents.models import ClockFiring, Incident, SlaClock, TimelineEvent
from incidents.services.clocks import clocks_start_for_new_incidents, incident_sla_sync
from incidents.services.sweeper import SWEEP_LOCK_NAMESPACE, sla_sweep, sla_sweep_if_free
from protocols.models import SlaPolicy

ROOT = Path(__file__).resolve().parents[2]


def overdue_incidents(count: int) -> list[int]:
    """`count` open incidents whose first-response clock fell due a minute ago (bulk, like intake)."""
    policy = SlaPolicy.objects.create(name="Fast", first_response_minutes=5)
    now = timezone.now()
    incidents = Incident.objects.bulk_create(
        Incident(title=f"Late {n}", priority="normal", status="new", created_at=now, updated_at=now)
        for n in range(count)
    )
    ids = [i.pk for i in incidents]
    clocks_start_for_new_incidents(
        incidents=[(pk, None, "normal") for pk in ids], now=now - timedelta(minutes=6)
    )
    incident_sla_sync(incident_ids=ids)
    assert SlaClock.objects.filter(policy=policy, next_fire_at__lte=now).count() == count
    return ids


def breach_counts() -> tuple[int, int, int]:
    return (
        ClockFiring.objects.filter(kind="breach").count(),
        ClockFiring.objects.filter(kind="breach").values("clock").distinct().count(),
        TimelineEvent.objects.filter(kind="sla_breached").count(),
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_over_1000_due_clocks_record_1000_breaches() -> None:
    overdue_incidents(1000)
    claimed: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        try:
            barrier.wait()
            claimed.append(sla_sweep(limit=50))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(claimed) == 1000 and all(c > 0 for c in claimed)  # both did part of the work
    assert breach_counts() == (1000, 1000, 1000)
    assert Incident.objects.filter(sla_state="breached").count() == 1000


@pytest.mark.django_db(transaction=True)
def test_a_tick_finding_every_sweeper_slot_busy_returns_at_once() -> None:
    overdue_incidents(3)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, 0)", [SWEEP_LOCK_NAMESPACE])
        assert sla_sweep_if_free(slots=1) is None  # busy: nothing done, nothing waited for
        assert breach_counts() == (0, 0, 0)
        assert sla_sweep_if_free(slots=2) == 3  # a second slot is free
    finally:
        other.close()
    # The holder's connection is gone, and with it its lock (the server notices the disconnect shortly).
    results: list[int | None] = []

    def swept_once_free() -> bool:
        results.append(sla_sweep_if_free(slots=1))
        return results[-1] is not None

    wait_for(swept_once_free, 10, "the lock")
    assert results[-1] == 0


def worker_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "TEST_REDIS_URL": settings.REDIS_URL,
        "FIREBREAK_SLA_SWEEP_BATCH": "25",  # many small transactions, so a kill lands mid-sweep
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def worker_log(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "worker.log"


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "sla",  # the clock worker of the Procfile: the SLA tasks' own queue
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=worker_env(),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_nothing_and_fires_nothing_twice(worker_log: Path) -> None:
    from incidents.tasks import sla_tick

    total = 3000
    overdue_incidents(total)
    worker = start_worker(worker_log)
    try:
        sla_tick.delay()
        # Let it commit some batches, then kill it without warning in the middle of the sweep.
        wait_for(lambda: breach_counts()[0] >= 100, 60, "the first batches")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        fired, distinct, events = breach_counts()
        assert 0 < fired < total, "the kill should land mid-sweep"
        # What committed is whole: each recorded firing has its timeline event, nothing half-done.
        assert fired == distinct == events
        assert SlaClock.objects.filter(breached_at__isnull=False).count() == fired

        # A new worker; the killed one's task is redelivered (acks_late) or the next tick comes.
        worker = start_worker(worker_log)
        sla_tick.delay()
        wait_for(lambda: breach_counts()[0] == total, 120, "the rest of the backlog")
        time.sleep(0.5)  # a redelivered duplicate tick would run now: it must find nothing
        sla_tick.delay()
        time.sleep(1.0)
        assert breach_counts() == (total, total, total)
        assert not SlaClock.objects.filter(status="running", next_fire_at__lte=timezone.now()).exists()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        print(worker_log.read_text(errors="replace")[-3000:])


@pytest.mark.django_db
def test_the_claim_reads_the_partial_index_of_active_clocks() -> None:
    """With 20,000 clocks, most of them stopped or far in the future, the sweep's claim is an index
    scan of the active-clock index (a bound "now", not now() in SQL), never a scan of the table."""
    from incidents.services.sweeper import due_clocks

    overdue_incidents(20)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incidents_slaclock (incident_id, kind, reference, status, policy_name, calendar_name,
                calendar, chain, chain_name, target_seconds, started_at, consumed_seconds,
                paused_for_seconds, next_step, step_repeats, next_fire_at, updated_at)
            SELECT i.id, 'resolution', g::text, CASE WHEN g % 3 = 0 THEN 'running' ELSE 'stopped' END,
                'P', '24/7', '{}', '[]', '', 3600, now(), 0, 0, 0, 0,
                CASE WHEN g % 3 = 0 THEN now() + g * interval '1 minute' END, now()
            FROM generate_series(1, 20000) AS g, (SELECT min(id) AS id FROM incidents_incident) AS i
            """
        )
        cursor.execute("ANALYZE incidents_slaclock")
    query = due_clocks(now=timezone.now(), limit=500)
    plan = query.explain()
    assert "clock_active_next_fire" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert len(list(query)) == 20  # only the overdue ones


@pytest.mark.django_db
def test_a_storm_of_breaches_reaches_each_person_as_one_digest(responder: Any, settings: Any) -> None:
    """After an outage: 30 targets missed at once on incidents assigned to one responder. Every breach
    is on its incident's timeline, but the responder gets one digest (in the app and by email), not 30."""
    from incidents.models import Notification

    settings.FIREBREAK_NOTIFY_DIGEST_AFTER = 10
    responder.email = "riley@example.com"
    responder.save(update_fields=["email"])
    ids = overdue_incidents(30)
    Incident.objects.filter(pk__in=ids).update(assignee=responder)
    assert sla_sweep() == 30
    assert breach_counts() == (30, 30, 30)
    in_app = Notification.objects.filter(recipient=responder, channel="in_app")
    assert [(n.kind, n.subject) for n in in_app] == [("sla_breach", "30 targets were missed")]
    assert "sla_state=breached" in in_app[0].link
    assert "… and 10 more." in in_app[0].body
    assert Notification.objects.filter(recipient=responder, channel="email").count() == 1


@pytest.mark.django_db
def test_a_few_breaches_are_notified_one_by_one(responder: Any, settings: Any) -> None:
    from incidents.models import Notification

    settings.FIREBREAK_NOTIFY_DIGEST_AFTER = 10
    ids = overdue_incidents(3)
    Incident.objects.filter(pk__in=ids).update(assignee=responder)
    sla_sweep()
    subjects = sorted(
        Notification.objects.filter(recipient=responder, channel="in_app").values_list("subject", flat=True)
    )
    assert subjects == sorted(f"Missed: first response on #{pk} Late {n}" for n, pk in enumerate(ids))
