"""The SLA engine under load, with its real parts: one Celery worker, beat ticking every second, clocks
in PostgreSQL over the whole dataset, notifications by email to an SMTP sink.

- sla_lag_<rate>: deadlines expire at <rate>/s for a window; lag = `fired_at - scheduled_at` of each
  breach firing (the database's clock at insert minus the due moment). Goal: p99 < 2 s at 1,000/s.
- sla_backlog: N clocks already overdue (deadlines spread over a 10-minute outage) when the worker
  starts; time from the first tick the worker receives to the last breach recorded, confirmed by
  nothing left overdue. Goal: < 30 s for 100,000.
- sla_tick: the body of `sla_tick` with nothing due (Redis lock, sweep query, release), in process,
  interleaved with the default queue page's SQL floor (bench/queuepage.py). Goal: p50 no more than it.
- sla_memory: worker RSS and Redis used_memory after ticks over 10,000 and over all open clocks, the
  same small set of deadlines firing in both. Goal: the same within 10%.

Each scenario starts from no clocks, loads its own (bench/clocks.py) and removes every clock, firing,
timeline event and notification it caused (dataset.cleanup). Worker and beat logs are kept in
bench/results/sla-<run>/.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import clocks, dataset
from bench.celeryproc import Engine, WorkerLog, engine
from bench.context import Context
from bench.env import REPO, BenchEnv, log
from bench.report import Outcome, latency_ms, num, percentile, verdict

LAG_GOAL_P99 = 2.0
LAG_GOAL_RATE = 1000
BACKLOG_GOAL = 30.0
TICK_GOAL_RATIO = 1.0
MEMORY_GOAL = 0.10
LEAD_SECONDS = 3.0  # first deadline this long after the due clocks are activated
DRAIN_OVERDUE_SECONDS = 2.0  # "nothing left overdue": no active clock more than this past its moment
MIB = 1024 * 1024

ENGINE_FILES = (
    "incidents/services/sweeper.py",
    "incidents/services/clocks.py",
    "incidents/services/notifications.py",
    "incidents/services/recipients.py",
    "incidents/tasks.py",
    "config/celery.py",
    "config/settings/base.py",
)

_open_cache: dict[str, list[clocks.OpenIncident]] = {}


def engine_digest() -> dict[str, str]:
    """sha1 of the engine's source files as they ran (the tree may be uncommitted while it changes)."""
    return {
        path: hashlib.sha1((REPO / path).read_bytes(), usedforsecurity=False).hexdigest()[:12]
        for path in ENGINE_FILES
        if (REPO / path).exists()
    }


def _open(env: BenchEnv) -> list[clocks.OpenIncident]:
    if env.name not in _open_cache:
        _open_cache[env.name] = clocks.open_incidents(env)
    return _open_cache[env.name]


def _fresh(ctx: Context) -> None:
    """No clock, firing, notification or SLA timeline event left from anything before."""
    from django.db import connections

    connections.close_all()
    dataset.cleanup(ctx.env, ctx.dataset)


def _now() -> datetime:
    return datetime.now(UTC)


def _load(ctx: Context, label: str, **kwargs: Any) -> clocks.Population:
    population = clocks.populate(ctx.env, _open(ctx.env), now=_now(), seed=ctx.seed, **kwargs)
    ctx.env.vacuum_analyze(["incidents_slaclock"], checkpoint=True)
    log(
        f"  {label}: {population.background + population.due:,} running clocks loaded "
        f"({population.due:,} due, {population.background:,} background) in "
        f"{population.seconds_to_load:.1f}s"
    )
    return population


def _queues() -> tuple[str, str]:
    """(the queue the app routes sla_tick to, "" if none; the default queue)."""
    from django.conf import settings

    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    route = routes.get("incidents.tasks.sla_tick") if isinstance(routes, dict) else None
    default = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", None) or "celery"
    return (route or {}).get("queue", ""), default


def topology(*, alone: bool) -> dict[str, Any]:
    """As deployed: when the app routes the SLA tasks to a queue of their own (the Procfile's `clock`
    worker), one SLA worker on that queue plus one worker for the rest (deliveries); otherwise one
    worker for everything. `alone`: the SLA worker without any delivery worker (the sweeper's own
    capacity; deliveries stay queued)."""
    sla_queue, default = _queues()
    if sla_queue:
        return {"sla_queues": [sla_queue], "delivery_queues": None if alone else [default]}
    if alone:
        return {"sla_queues": ["sla"], "delivery_queues": None, "beat_sla_queue": "sla"}
    return {"sla_queues": None, "delivery_queues": None}


def _engine(ctx: Context, scenario: str, *, alone: bool = False) -> Any:
    p = ctx.params
    return engine(
        ctx.env,
        ctx.results_dir / f"sla-{ctx.run_id}" / scenario,
        name=f"bench-{scenario}-{ctx.run_id}",
        pool=p.sla_pool,
        concurrency=p.sla_concurrency,
        **topology(alone=alone),
    )


def _layout(eng: Engine) -> str:
    if eng.delivery is not None:
        return "SLA worker on its own queue + a delivery worker (as deployed)"
    if eng.commands["worker"][-2:-1] == ["-Q"]:
        return "SLA worker alone (deliveries not consumed)"
    return "one worker for every task (as deployed)"


def _scalar(env: BenchEnv, sql: str, args: Any = None) -> Any:
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def _breaches(env: BenchEnv) -> int:
    return int(_scalar(env, "SELECT count(*) FROM incidents_clockfiring WHERE kind = 'breach'"))


def _overdue(env: BenchEnv, by_seconds: float = 0.0) -> int:
    """Active clocks whose next moment passed more than `by_seconds` ago (the sweeper's predicate)."""
    return int(
        _scalar(
            env,
            "SELECT count(*) FROM incidents_slaclock WHERE status = 'running' AND next_fire_at IS NOT NULL "
            "AND next_fire_at <= now() - make_interval(secs => %s)",
            (by_seconds,),
        )
    )


def _wait_for(
    env: BenchEnv,
    eng: Engine,
    *,
    expected: int,
    deadline: float,
    poll: float,
    label: str,
    done: Callable[[], bool] | None = None,
) -> tuple[int, float]:
    """Polls the breach count until `expected` (and `done()`), or the deadline. (count, when seen)."""
    last_log = time.time()
    count = 0
    while True:
        eng.check_alive()
        count = _breaches(env)
        seen = time.time()
        if count >= expected and (done is None or done()):
            return count, seen
        if seen > deadline:
            return count, seen
        if seen - last_log > 10:
            last_log = seen
            log(f"    {label}: {count:,}/{expected:,} breaches recorded")
        time.sleep(poll)


def _tick_stats(wlog: WorkerLog, since: float) -> dict[str, Any]:
    wlog.read()
    ticks = wlog.runs_of("sla_tick", since)
    claimed = [int(r.result) for r in ticks if r.result.strip().isdigit()]
    busy = [r.seconds or 0.0 for r, n in zip(ticks, claimed, strict=False) if n > 0]
    deliveries = wlog.runs_of("notifications_deliver_due", since)
    others = [
        r for r in wlog.runs if (r.finished_at or 0) >= since and r not in ticks and r not in deliveries
    ]
    return {
        "ticks": len(ticks),
        "ticks_with_work": len(busy),
        "clocks_claimed": sum(claimed),
        "max_claimed_per_tick": max(claimed, default=0),
        "tick_seconds": latency_ms([r.seconds or 0.0 for r in ticks]),
        "busy_tick_seconds": latency_ms(busy),
        "delivery_runs": len(deliveries),
        "delivery_seconds_total": round(sum(r.seconds or 0.0 for r in deliveries), 3),
        "delivery_seconds_max": round(max((r.seconds or 0.0 for r in deliveries), default=0.0), 3),
        "emails_delivered_by_runs": sum(int(r.result) for r in deliveries if r.result.strip().isdigit()),
        "other_task_runs": {r.name: sum(1 for o in others if o.name == r.name) for r in others},
        "discarded_messages": wlog.discarded,
        "errors": wlog.errors[:10],
    }


def _side_effects(ctx: Context) -> dict[str, Any]:
    """What the firings wrote: firings by kind, notifications by channel and status, timeline events,
    incidents' SLA states."""
    with ctx.env.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT kind, count(*) FROM incidents_clockfiring GROUP BY kind ORDER BY kind")
        firings = dict(cur.fetchall())
        cur.execute(
            "SELECT channel || ':' || status, count(*) FROM incidents_notification GROUP BY 1 ORDER BY 1"
        )
        notifications = dict(cur.fetchall())
        cur.execute(
            "SELECT kind, count(*) FROM incidents_timelineevent WHERE id > %s GROUP BY kind ORDER BY kind",
            (int(ctx.dataset["max_ids"]["event"]),),
        )
        events = dict(cur.fetchall())
        cur.execute("SELECT sla_state, count(*) FROM incidents_incident WHERE sla_state <> 'none' GROUP BY 1")
        states = dict(cur.fetchall())
    return {
        "firings": firings,
        "notifications": notifications,
        "timeline_events": events,
        "sla_state": states,
    }


# --- deadlines expiring at a rate ---------------------------------------------------------------------


def _lags(env: BenchEnv) -> tuple[list[float], int, int]:
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT extract(epoch FROM fired_at - scheduled_at)::float8 FROM incidents_clockfiring "
            "WHERE kind = 'breach' ORDER BY scheduled_at"
        )
        lags = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT count(*), count(DISTINCT clock_id) FROM incidents_clockfiring WHERE kind = 'breach'"
        )
        total, distinct = cur.fetchone()
    return lags, total, distinct


def _lag_by_window(env: BenchEnv, first_due: datetime, bucket: float) -> list[dict[str, Any]]:
    """Lag percentiles per slice of the window (by due moment), to show whether the engine keeps up."""
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT floor(extract(epoch FROM scheduled_at - %s) / %s)::int AS slice, count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - scheduled_at)), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - scheduled_at)), "
            "max(extract(epoch FROM fired_at - scheduled_at)) "
            "FROM incidents_clockfiring WHERE kind = 'breach' GROUP BY 1 ORDER BY 1",
            (first_due, bucket),
        )
        return [
            {
                "from_s": s * bucket,
                "n": n,
                "p50_s": round(float(p50), 3),
                "p99_s": round(float(p99), 3),
                "max_s": round(float(mx), 3),
            }
            for s, n, p50, p99, mx in cur.fetchall()
        ]


def sla_lag(ctx: Context, rate: int, seconds: float, *, alone: bool = False) -> Outcome:
    """As deployed (see `topology`); with `alone` the SLA worker runs without a delivery worker (a
    diagnostic arm: the sweeper's own capacity)."""
    env, p = ctx.env, ctx.params
    name = f"sla_lag_{rate}" + ("_alone" if alone else "")
    digest = engine_digest()
    expected = round(rate * seconds)
    _fresh(ctx)
    incidents = _open(env)
    population = _load(
        ctx,
        name,
        total=min(len(incidents), p.sla_open_clocks),
        due_offsets=[i / rate for i in range(expected)],
    )
    try:
        with _engine(ctx, name, alone=alone) as eng:
            layout = _layout(eng)
            beat_started = eng.start_beat()
            eng.wait_ticks(2, since=beat_started)
            first_due = _now() + timedelta(seconds=LEAD_SECONDS)
            activation = clocks.activate(env, population, first_due)
            if activation["committed_at"] > first_due.timestamp():
                log(f"    WARNING: the due clocks were activated {activation['update_seconds']}s late")
            log(
                f"    {expected:,} deadlines at {rate:,}/s from {first_due:%H:%M:%S.%f}"[:-3]
                + f" for {seconds:.0f}s (activated in {activation['update_seconds']:.2f}s)"
            )
            last_due = first_due.timestamp() + (expected - 1) / rate
            _, seen = _wait_for(
                env,
                eng,
                expected=expected,
                deadline=last_due + p.sla_max_wait,
                poll=1.0,
                label=name,
            )
            memory = eng.memory()
            ticks = _tick_stats(eng.worker_log, first_due.timestamp() - 1)
            deliveries = (
                _tick_stats(eng.delivery_log, first_due.timestamp() - 1) if eng.delivery_log else None
            )
            emails = eng.smtp.messages
        lags, total, distinct = _lags(env)
        by_window = _lag_by_window(env, first_due, max(1.0, seconds / 10))
        effects = _side_effects(ctx)
    finally:
        _fresh(ctx)

    unfired = expected - distinct
    # A clock that never fired has a lag of at least "until we stopped waiting": counted as such.
    waited = seen - first_due.timestamp()
    lags_all = lags + [waited - i / rate for i in range(distinct, expected)] if unfired > 0 else lags
    p50, p99 = percentile(lags_all, 0.5), percentile(lags_all, 0.99)
    worst = max(lags_all, default=float("nan"))
    once = total == distinct
    applies = rate >= LAG_GOAL_RATE and not alone
    met = (p99 < LAG_GOAL_P99 and unfired == 0 and once) if applies else None
    ge = "≥" if unfired else ""
    fired_text = f"fired {distinct:,}/{expected:,} {'once' if once else f'({total - distinct:,} DUPLICATES)'}"
    if unfired:
        fired_text += f" ({unfired:,} not within {p.sla_max_wait:.0f}s)"
    if alone:
        goal = "(diagnostic: SLA worker alone, no delivery worker)"
    elif applies:
        goal = f"goal p99 < {LAG_GOAL_P99:.0f} s at {LAG_GOAL_RATE:,}/s"
    else:
        goal = f"(goal set at {LAG_GOAL_RATE:,}/s)"
    line = (
        f"{name}  p50 {ge}{num(p50, 2)} s  p99 {ge}{num(p99, 2)} s  max {ge}{num(worst, 2)} s  {fired_text}  "
        f"{goal}  {verdict(met)}"
    )
    return Outcome(
        name,
        line,
        met,
        {
            "rate_per_s": rate,
            "layout": layout,
            "engine_files_sha1": digest,
            "delivery_worker": deliveries,
            "window_s": seconds,
            "deadlines": expected,
            "open_clocks": population.due + population.background,
            "lag_s": {
                "p50": round(p50, 4),
                "p90": round(percentile(lags_all, 0.9), 4),
                "p99": round(p99, 4),
                "max": round(worst, 4),
                "min": round(min(lags_all, default=float("nan")), 4),
            },
            "breach_firings": total,
            "distinct_clocks_breached": distinct,
            "unfired": unfired,
            "lag_by_window_slice": by_window,
            "activation": activation,
            "ticks": ticks,
            "emails_received_by_smtp_sink": emails,
            "side_effects": effects,
            "worker_memory_kib": memory,
            "load_seconds": round(population.seconds_to_load, 1),
            "goal": {"p99_s_below": LAG_GOAL_P99, "at_rate_per_s": LAG_GOAL_RATE},
        },
    )


# --- a backlog after an outage ------------------------------------------------------------------------


def sla_backlog(ctx: Context) -> Outcome:
    env, p = ctx.env, ctx.params
    incidents = _open(env)
    n = min(p.sla_backlog, len(incidents))
    name = f"sla_backlog_{n}"
    digest = engine_digest()
    outage = p.sla_outage_seconds
    _fresh(ctx)
    # Deadlines spread evenly over the outage, the last one just before the worker comes back.
    population = _load(
        ctx,
        name,
        total=min(len(incidents), p.sla_open_clocks),
        due_offsets=[-outage + i * (outage - 1.0) / max(1, n - 1) for i in range(n)],
        overdue=True,
    )
    try:
        with _engine(ctx, name) as eng:
            layout = _layout(eng)
            overdue_at_start = _overdue(env)
            beat_started = eng.start_beat()
            log(f"    {overdue_at_start:,} clocks overdue; beat started")
            drained_seen: list[float] = []

            def nothing_overdue() -> bool:
                if _overdue(env, DRAIN_OVERDUE_SECONDS) == 0:
                    drained_seen.append(time.time())
                    return True
                return False

            _, seen = _wait_for(
                env,
                eng,
                expected=n,
                deadline=time.time() + max(120.0, 10 * BACKLOG_GOAL) + n / 500,
                poll=2.0,
                label=name,
                done=nothing_overdue,
            )
            eng.worker_log.read()
            tick_runs = eng.worker_log.runs_of("sla_tick", beat_started)
            first_tick_received = min((r.received_at for r in tick_runs if r.received_at), default=None)
            memory = eng.memory()
            ticks = _tick_stats(eng.worker_log, beat_started)
            emails = eng.smtp.messages
        with env.pg() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT extract(epoch FROM min(fired_at))::float8, "
                "extract(epoch FROM max(fired_at))::float8, count(*), count(DISTINCT clock_id) "
                "FROM incidents_clockfiring WHERE kind = 'breach'"
            )
            first_fired, last_fired, total, distinct = cur.fetchone()
        effects = _side_effects(ctx)
    finally:
        _fresh(ctx)

    drained = bool(drained_seen) and distinct >= n
    start = first_tick_received or beat_started
    drain = (last_fired - start) if (drained and last_fired) else float("nan")
    once = total == distinct
    met = drained and once and drain < BACKLOG_GOAL
    # Breaches recorded per second from the first tick to the last breach (also when it stalled).
    rate = distinct / (last_fired - start) if last_fired and last_fired > start else float("nan")
    killed = sum("SoftTimeLimitExceeded" in e or "TimeLimitExceeded" in e for e in ticks["errors"])
    fired_text = f"fired {distinct:,}/{n:,} {'once' if once else f'({total - distinct:,} DUPLICATES)'}"
    if drained:
        time_text = f"drained in {num(drain, 1)} s ({num(rate)} clocks/s)"
    else:
        time_text = f"NOT drained after {seen - start:.0f} s ({num(rate)} clocks/s until the last breach"
        time_text += f"; {killed} tick(s) killed by the time limit)" if killed else ")"
    line = (
        f"{name}  {time_text}  first tick → last breach  {fired_text}  "
        f"goal < {BACKLOG_GOAL:.0f} s  {verdict(met)}"
    )
    return Outcome(
        name,
        line,
        met,
        {
            "backlog": n,
            "layout": layout,
            "engine_files_sha1": digest,
            "outage_s": outage,
            "overdue_at_start": overdue_at_start,
            "open_clocks": population.due + population.background,
            "drain_s": None if drain != drain else round(drain, 3),
            "clocks_per_s": None if rate != rate else round(rate, 1),
            "first_tick_received_at": first_tick_received,
            "beat_started_at": beat_started,
            "first_breach_fired_at": first_fired,
            "last_breach_fired_at": last_fired,
            "first_tick_to_first_breach_s": round(first_fired - start, 3) if first_fired else None,
            "breach_firings": total,
            "distinct_clocks_breached": distinct,
            "nothing_overdue_seen_at": drained_seen[0] if drained_seen else None,
            "ticks_killed_by_time_limit": killed,
            "ticks": ticks,
            "emails_received_by_smtp_sink": emails,
            "side_effects": effects,
            "worker_memory_kib": memory,
            "goal": {"drain_s_below": BACKLOG_GOAL},
        },
    )


# --- a tick with nothing due --------------------------------------------------------------------------


def sla_tick_idle(ctx: Context) -> Outcome:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.queuepage import default_queue_floor, replay
    from incidents.services.sweeper import sla_sweep
    from incidents.tasks import sla_tick

    env, p = ctx.env, ctx.params
    digest = engine_digest()
    _fresh(ctx)
    incidents = _open(env)
    population = _load(ctx, "sla_tick", total=min(len(incidents), p.sla_open_clocks), due_offsets=[])
    try:
        sqls, session = default_queue_floor(ctx)
        conn, cur = session()

        arms: dict[str, Callable[[], Any]] = {
            "tick": sla_tick.run,  # the task's body, as the worker calls it: coordination + sweep
            "sweep_only": sla_sweep,  # the sweep alone (the query that finds nothing, in its transaction)
            "queue_floor": lambda: replay(cur, sqls),
        }
        times: dict[str, list[float]] = {k: [] for k in arms}
        warm = 20
        deadline = time.time() + p.sla_tick_seconds
        rounds = 0
        try:
            while rounds < warm + p.sla_tick_iterations and (time.time() < deadline or rounds < warm + 50):
                for arm, fn in arms.items():
                    started = time.perf_counter()
                    result = fn()
                    elapsed = time.perf_counter() - started
                    if arm == "tick" and result:
                        raise RuntimeError(f"a tick with nothing due claimed {result} clocks")
                    if rounds >= warm:
                        times[arm].append(elapsed)
                rounds += 1
        finally:
            conn.close()
        with CaptureQueriesContext(connection) as captured:
            sla_sweep()
        sweep_sql = next(q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"])
        with env.pg() as c2, c2.cursor() as cur2:
            cur2.execute("EXPLAIN (ANALYZE, BUFFERS) " + sweep_sql)
            plan = [row[0] for row in cur2.fetchall()]
        statements = [q["sql"] for q in captured.captured_queries]
    finally:
        _fresh(ctx)

    p50 = {arm: percentile(v, 0.5) for arm, v in times.items()}
    ratio = p50["tick"] / p50["queue_floor"]
    met = ratio <= TICK_GOAL_RATIO
    ms = {arm: num(value * 1000, 2) for arm, value in p50.items()}
    line = (
        f"sla_tick_idle  tick p50 {ms['tick']} ms (sweep alone {ms['sweep_only']} ms)  "
        f"queue floor(SQL) p50 {ms['queue_floor']} ms  ratio {ratio:.2f}  goal <= {TICK_GOAL_RATIO:.0f}  "
        f"{verdict(met)}"
    )
    return Outcome(
        "sla_tick_idle",
        line,
        met,
        {
            "open_clocks": population.background,
            "engine_files_sha1": digest,
            "iterations": len(times["tick"]),
            "latency": {arm: latency_ms(v) for arm, v in times.items()},
            "ratio_p50": round(ratio, 3),
            "sweep_statements": statements,
            "explain_sweep_query": plan,
            "queue_floor_statements": sqls,
            "goal": {"ratio_p50_at_most": TICK_GOAL_RATIO},
        },
    )


# --- memory with few and many open clocks ---------------------------------------------------------------


def _redis_memory(env: BenchEnv) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(env.redis_url, socket_connect_timeout=2)
    info = client.info("memory")
    keys = 0
    key_bytes = 0
    for key in client.scan_iter(count=1000):
        keys += 1
        key_bytes += int(client.memory_usage(key) or 0)
    return {
        "used_memory": int(info["used_memory"]),
        "used_memory_rss": int(info.get("used_memory_rss", 0)),
        "bench_db_keys": keys,
        "bench_db_key_bytes": key_bytes,
    }


def _memory_run(ctx: Context, clocks_total: int) -> dict[str, Any]:
    env, p = ctx.env, ctx.params
    label = f"sla_memory_{clocks_total}"
    _fresh(ctx)
    warm = p.sla_memory_firing
    population = _load(ctx, label, total=clocks_total, due_offsets=[i * 2.0 / warm for i in range(warm)])
    try:
        with _engine(ctx, label) as eng:
            layout = _layout(eng)
            redis_before = _redis_memory(env)
            beat_started = eng.start_beat()
            eng.wait_ticks(2, since=beat_started)
            first_due = _now() + timedelta(seconds=LEAD_SECONDS)
            clocks.activate(env, population, first_due)
            fired, _ = _wait_for(
                env, eng, expected=warm, deadline=time.time() + 60 + LEAD_SECONDS, poll=0.5, label=label
            )
            settled = time.time()
            eng.wait_ticks(p.sla_memory_ticks, since=settled, timeout=p.sla_memory_ticks * 3 + 30)
            memory = eng.memory()
            redis_after = _redis_memory(env)
            ticks = _tick_stats(eng.worker_log, beat_started)
    finally:
        _fresh(ctx)
    return {
        "open_clocks": population.due + population.background,
        "layout": layout,
        "engine_files_sha1": engine_digest(),
        "deadlines_fired": fired,
        "worker": memory,
        "redis_before_beat": redis_before,
        "redis": redis_after,
        "ticks": ticks,
    }


def _change(small: float, large: float) -> float:
    return (large - small) / small if small else float("nan")


def sla_memory(ctx: Context) -> Outcome:
    p = ctx.params
    incidents = _open(ctx.env)
    small_n = min(p.sla_memory_small, len(incidents))
    large_n = min(p.sla_open_clocks, len(incidents))
    small = _memory_run(ctx, small_n)
    large = _memory_run(ctx, large_n)
    worker_small = small["worker"]["total_rss_kib"] * 1024
    worker_large = large["worker"]["total_rss_kib"] * 1024
    redis_small, redis_large = small["redis"]["used_memory"], large["redis"]["used_memory"]
    worker_change, redis_change = _change(worker_small, worker_large), _change(redis_small, redis_large)
    met = abs(worker_change) <= MEMORY_GOAL and abs(redis_change) <= MEMORY_GOAL
    line = (
        f"sla_memory  worker RSS {small_n:,} clocks {num(worker_small / MIB, 1)} MiB / {large_n:,} clocks "
        f"{num(worker_large / MIB, 1)} MiB ({worker_change:+.1%})  Redis used_memory "
        f"{num(redis_small / MIB, 2)} / {num(redis_large / MIB, 2)} MiB ({redis_change:+.1%}; bench db keys "
        f"{small['redis']['bench_db_keys']} / {large['redis']['bench_db_keys']})  goal within "
        f"{MEMORY_GOAL:.0%}  {verdict(met)}"
    )
    return Outcome(
        "sla_memory",
        line,
        met,
        {
            "small": small,
            "large": large,
            "worker_rss_change": round(worker_change, 4),
            "redis_used_memory_change": round(redis_change, 4),
            "goal": {"change_within": MEMORY_GOAL},
        },
    )
