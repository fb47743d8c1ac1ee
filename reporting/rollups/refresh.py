"""Keeping the rollups fresh: drain the queue the triggers fill, rewrite those incidents' facts, then the
slices of every day that changed. Run by beat every 15 seconds; safe to run twice at once (the second
finds the lock taken and leaves) and after a crash (the queue and the dirty days are rows, drained in
the transaction that applies them)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from reporting.rollups.facts import facts_rewrite, recurrence_rewrite_all
from reporting.rollups.slices import slices_rebuild

LOCK_KEY = 7_201_612  # pg advisory lock: one refresh at a time
BATCH = 20_000
BUILD_FROM = 50_000
DAYS_PER_TRANSACTION = 7


@dataclass(frozen=True)
class Refreshed:
    incidents: int
    days: int
    seconds: float
    complete_as_of: datetime | None  # None: another refresh held the lock


def _ensure_state() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reporting_rollupstate (id, last_incidents, last_days, last_seconds, "
            "recurrence_pending) VALUES (1, 0, 0, 0, false) ON CONFLICT (id) DO NOTHING"
        )


def rollup_refresh() -> Refreshed:
    """Applies every change committed before this call started to the rollups."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        (locked,) = cursor.fetchone()
    if not locked:
        return Refreshed(0, 0, 0.0, None)
    try:
        with connection.cursor() as cursor:
            # Every change committed before now has queued its incidents (the triggers run in the
            # changing transaction): once the queue below is drained, the rollups hold all of them.
            cursor.execute("SELECT statement_timestamp()")
            (as_of,) = cursor.fetchone()
        _ensure_state()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM reporting_rollupdirty")
            (queued,) = cursor.fetchone()
            # A build (a new install, an upgrade, a restore): recurrence once for all at the end, not
            # per batch (each would re-probe the 30 days before it). Recorded first, so a build that
            # dies half way still ends with it.
            cursor.execute(
                "UPDATE reporting_rollupstate SET recurrence_pending = recurrence_pending OR %s WHERE id = 1 "
                "RETURNING recurrence_pending",
                [queued >= BUILD_FROM],
            )
            (building,) = cursor.fetchone()
        incidents = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "WITH taken AS (DELETE FROM reporting_rollupdirty WHERE id IN ("
                    "SELECT id FROM reporting_rollupdirty ORDER BY id LIMIT %s) RETURNING incident_id) "
                    "SELECT DISTINCT incident_id FROM taken",
                    [BATCH],
                )
                ids = [pk for (pk,) in cursor.fetchall()]
                if not ids:
                    break
                incidents += len(ids)
                _days_dirty(facts_rewrite(ids, recurrence=not building))
        if building:
            with transaction.atomic():
                _days_dirty(recurrence_rewrite_all())
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE reporting_rollupstate SET recurrence_pending = false WHERE id = 1")
        days_done = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM reporting_rollupdirtyday WHERE day IN (SELECT day FROM "
                    "reporting_rollupdirtyday ORDER BY day LIMIT %s) RETURNING day",
                    [DAYS_PER_TRANSACTION],
                )
                todo = [d for (d,) in cursor.fetchall()]
                if not todo:
                    break
                slices_rebuild(todo)
                days_done += len(todo)
        seconds = time.perf_counter() - started
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE reporting_rollupstate SET complete_as_of = %s, refreshed_at = %s, "
                "last_incidents = %s, last_days = %s, last_seconds = %s WHERE id = 1",
                [as_of, timezone.now(), incidents, days_done, seconds],
            )
        return Refreshed(incidents, days_done, seconds, as_of)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _days_dirty(days: set[Any]) -> None:
    if days:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO reporting_rollupdirtyday (day) SELECT unnest(%s::date[]) ON CONFLICT DO NOTHING",
                [sorted(days)],
            )


def rollup_complete_as_of() -> datetime | None:
    """Up to when the rollups hold every change (None: never built)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT complete_as_of FROM reporting_rollupstate WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None
