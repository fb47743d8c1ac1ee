"""SLA clocks for the benchmarks, as the app writes them, loaded with COPY.

Every row comes from the app's own code: `sla_policy_book()` picks the incident's policy and
`new_clock()` freezes its target, calendar and escalation chain. Two shapes:

- background clocks: one running resolution clock per open incident, started in the last hour
  (`new_clock(started_at=..., now=setup)`), so the next moment of each (its warning at 75% of 8 to 72
  hours) lies hours ahead: they fill the partial index without firing during a run;
- due clocks: the incident's own clock (first response if nobody answered yet, else resolution) in
  the state the app leaves it just before its breach: a clock started by `new_clock` and moved in time
  so its `due_at` is the moment the benchmark wants, with every earlier event (the warning, warning
  steps) already advanced through `next_event`/`advance`. At fire time the sweeper reads only these
  timestamps and the frozen chain, never the calendar, so moving a clock in time changes no work.

Due clocks are loaded "parked" 60 days ahead and `activate()` shifts them onto the real timeline once
the worker is ticking, so the first deadline falls a few seconds after it is ready.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.env import BenchEnv

OPEN_STATUSES = ("new", "triaged", "in_progress", "waiting_on_customer")
COLUMNS = (
    "incident_id, kind, reference, status, policy_id, policy_name, calendar_name, calendar, chain, "
    "chain_name, target_seconds, warn_after_seconds, started_at, running_since, consumed_seconds, "
    "paused_at, paused_for_seconds, warn_at, due_at, warned_at, breached_at, stopped_at, next_step, "
    "step_repeats, escalation_stopped_at, next_fire_at, updated_at"
)
_TIMES = ("started_at", "running_since", "warn_at", "due_at", "warned_at", "next_fire_at", "updated_at")
PARK_AFTER = timedelta(days=60)
BACKGROUND_START_BUCKETS = 60  # background clocks started at one of 60 moments of the last hour
NULL = "\\N"


@dataclass(frozen=True)
class OpenIncident:
    id: int
    category_id: int | None
    priority: str
    answered: bool


def open_incidents(env: BenchEnv) -> list[OpenIncident]:
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, category_id, priority, first_responded_at IS NOT NULL FROM incidents_incident "
            "WHERE status = ANY(%s) ORDER BY id",
            (list(OPEN_STATUSES),),
        )
        return [OpenIncident(*row) for row in cur.fetchall()]


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _Proto:
    """A clock the app built, as the COPY line it becomes: fixed text plus timestamps moved per row."""

    def __init__(self, clock: Any) -> None:
        def opt(value: Any) -> str:
            return NULL if value is None else str(value)

        self.head = "\t".join(
            [
                clock.kind,
                clock.reference,
                clock.status,
                opt(clock.policy_id),
                _copy_text(clock.policy_name),
                _copy_text(clock.calendar_name),
                _copy_text(json.dumps(clock.calendar)),
                _copy_text(json.dumps(clock.chain)),
                _copy_text(clock.chain_name),
                str(clock.target_seconds),
                opt(clock.warn_after_seconds),
            ]
        )
        self.consumed = repr(float(clock.consumed_seconds))
        self.steps = f"{clock.next_step}\t{clock.step_repeats}"
        self.times = {name: getattr(clock, name) for name in _TIMES}
        self.due_at: datetime = clock.due_at
        self.next_fire_at: datetime | None = clock.next_fire_at
        self.breached = clock.breached_at is not None

    def line(self, incident_id: int, shift: timedelta = timedelta(0)) -> str:
        t = {name: (NULL if v is None else (v + shift).isoformat()) for name, v in self.times.items()}
        return (
            f"{incident_id}\t{self.head}\t{t['started_at']}\t{t['running_since']}\t{self.consumed}\t"
            f"{NULL}\t0\t{t['warn_at']}\t{t['due_at']}\t{t['warned_at']}\t{NULL}\t{NULL}\t{self.steps}\t"
            f"{NULL}\t{t['next_fire_at']}\t{t['updated_at']}\n"
        )


class ClockMaker:
    """Builds COPY lines for background and due clocks from the app's policies and `new_clock`."""

    def __init__(self, now: datetime) -> None:
        from protocols.selectors import sla_policy_book

        self.now = now
        self.park = now + PARK_AFTER
        self.book = sla_policy_book()
        if not self.book.by_match:
            raise RuntimeError("the bench database has no active SLA policy (see dataset.upgrade_plan)")
        self._background: dict[tuple[int, int], _Proto] = {}
        self._due: dict[tuple[int, str], _Proto] = {}

    def _policy(self, incident: OpenIncident) -> Any:
        policy = self.book.policy_for(category_id=incident.category_id, priority=incident.priority)
        if policy is None:
            raise RuntimeError(f"no SLA policy for incident {incident.id} ({incident.priority})")
        return policy

    def background(self, incident: OpenIncident) -> str:
        """A running resolution clock started within the last hour; nothing due for hours."""
        from incidents.services.clocks import new_clock

        policy = self._policy(incident)
        bucket = incident.id % BACKGROUND_START_BUCKETS
        key = (policy.policy_id, bucket)
        proto = self._background.get(key)
        if proto is None:
            started = self.now - timedelta(seconds=3600 * (bucket + 1) / BACKGROUND_START_BUCKETS)
            clock = new_clock(
                incident_id=0, kind="resolution", policy=policy, started_at=started, now=self.now
            )
            if clock is None:
                raise RuntimeError(f"policy {policy.name!r} sets no resolution target")
            proto = self._background[key] = _Proto(clock)
        return proto.line(incident.id)

    def due(self, incident: OpenIncident, due_at: datetime) -> str:
        """The incident's own clock as it stands just before its breach, due at `due_at`."""
        from incidents.services.clocks import advance, new_clock, next_event

        policy = self._policy(incident)
        kind = "resolution" if incident.answered else "first_response"
        key = (policy.policy_id, kind)
        proto = self._due.get(key)
        if proto is None:
            clock = new_clock(incident_id=0, kind=kind, policy=policy, started_at=self.now, now=self.now)
            if clock is None or clock.due_at is None:
                raise RuntimeError(f"policy {policy.name!r} sets no {kind} target")
            # Move the clock so it is due at `park`, then let everything before its breach happen.
            shift = self.park - clock.due_at
            for name in _TIMES:
                value = getattr(clock, name)
                if value is not None:
                    setattr(clock, name, value + shift)
            while (event := next_event(clock)) is not None and event.moment < clock.due_at:
                advance(clock, event)
            if clock.next_fire_at != clock.due_at:
                raise RuntimeError(f"{policy.name} {kind}: next moment {clock.next_fire_at}, not its breach")
            proto = self._due[key] = _Proto(clock)
        return proto.line(incident.id, due_at - self.park)


def copy_lines(env: BenchEnv, lines: Iterable[str], chunk: int = 20_000) -> int:
    """COPYs clock lines in chunks; returns the number of rows."""
    rows = 0
    with env.pg() as conn, conn.cursor() as cur:
        buffer: list[str] = []

        def flush() -> None:
            nonlocal rows
            if buffer:
                cur.copy_expert(
                    f"COPY incidents_slaclock ({COLUMNS}) FROM STDIN", io.BytesIO("".join(buffer).encode())
                )
                rows += len(buffer)
                buffer.clear()

        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                flush()
        flush()
        cur.execute("ANALYZE incidents_slaclock")
    return rows


@dataclass
class Population:
    """What a scenario loaded: `background` silent clocks plus `due` clocks (parked or overdue)."""

    maker: ClockMaker
    background: int
    due: int
    due_incidents: list[int]
    seconds_to_load: float


def populate(
    env: BenchEnv,
    incidents: Sequence[OpenIncident],
    *,
    total: int,
    due_offsets: Sequence[float],
    now: datetime,
    seed: int,
    overdue: bool = False,
) -> Population:
    """Loads `total` running clocks over distinct open incidents: len(due_offsets) due clocks (offset
    seconds after the park moment, or before `now` when `overdue`), the rest background. The incidents
    with due clocks are a seeded random sample, so the sweep touches incidents all over the table."""
    import time

    if total > len(incidents):
        raise RuntimeError(f"{total:,} clocks need as many open incidents; there are {len(incidents):,}")
    if len(due_offsets) > total:
        raise RuntimeError("more due clocks than clocks")
    started = time.perf_counter()
    rng = random.Random(seed)
    chosen = rng.sample(list(incidents), total)
    due_part, background_part = chosen[: len(due_offsets)], chosen[len(due_offsets) :]
    maker = ClockMaker(now)
    base = now if overdue else maker.park

    def lines() -> Iterator[str]:
        for incident, offset in zip(due_part, due_offsets, strict=True):
            yield maker.due(incident, base + timedelta(seconds=offset))
        for incident in background_part:
            yield maker.background(incident)

    copy_lines(env, lines())
    return Population(
        maker=maker,
        background=len(background_part),
        due=len(due_part),
        due_incidents=[i.id for i in due_part],
        seconds_to_load=time.perf_counter() - started,
    )


def activate(env: BenchEnv, population: Population, first_due_at: datetime) -> dict[str, Any]:
    """Moves the parked due clocks onto the real timeline: the clock parked at offset 0 becomes due at
    `first_due_at`, every other one keeps its distance. One UPDATE; returns when it committed."""
    import time

    shift = first_due_at - population.maker.park
    sets = ", ".join(f"{name} = {name} + %(shift)s" for name in _TIMES)
    started = time.time()
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE incidents_slaclock SET {sets} WHERE status = 'running' AND due_at >= %(from)s",
            {"shift": shift, "from": population.maker.park - timedelta(days=1)},
        )
        moved = cur.rowcount
    if moved != population.due:
        raise RuntimeError(f"activated {moved:,} clocks, expected {population.due:,}")
    return {"moved": moved, "update_seconds": round(time.time() - started, 3), "committed_at": time.time()}


def remove_all(env: BenchEnv, *, dataset_clocks: int = 0) -> dict[str, int]:
    """Every firing and notification and every clock above the dataset's own (its stopped clocks, ids
    up to `dataset_clocks`, are the reports' data and stay), the incidents' SLA summary put back to what
    no running clock gives ("none", no deadline). Timeline events go with dataset.cleanup (by id)."""
    counts: dict[str, int] = {}
    with env.pg() as conn, conn.cursor() as cur:
        for table in ("incidents_clockfiring", "incidents_notification"):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
        cur.execute(
            "UPDATE incidents_incident SET sla_state = 'none', sla_due_at = NULL "
            "WHERE (sla_state <> 'none' OR sla_due_at IS NOT NULL) "
            "AND id IN (SELECT incident_id FROM incidents_slaclock WHERE id > %s)",
            (dataset_clocks,),
        )
        counts["incidents_reset"] = cur.rowcount
        cur.execute("TRUNCATE incidents_clockfiring, incidents_notification RESTART IDENTITY")
        cur.execute("DELETE FROM incidents_slaclock WHERE id > %s", (dataset_clocks,))
        counts["incidents_slaclock"] = cur.rowcount
    return counts
