"""Mention intake benchmarks, each as a floor arm and an app arm over the same rows.

* ingest_batch_inprocess: lists of 500 through `POST /api/v1/mentions/` via the WSGI handler, one
  stream; floor = COPY of the same 500-row batches into `incidents_mention` (the real table: same
  indexes, same size, same WAL, same FK check), one COPY per transaction, one stream; the two arms
  alternate batch by batch.
* ingest_batch_http: the same through gunicorn with N concurrent clients; floor = N concurrent COPY
  streams replaying exactly the batches each client sent (then the same rows again under new ids
  until the floor arm has run `floor_min_seconds`).
* single_post_http: one mention per POST with N concurrent clients; floor = the app's own single-row
  `INSERT ... ON CONFLICT DO NOTHING RETURNING` on N concurrent autocommit connections.

Both arms of a benchmark generate their rows from the same seeded stream and differ only in the
external_id prefix (same length), so neither arm sees the other's rows as duplicates.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from bench import load
from bench.context import Context
from bench.env import log
from bench.inproc import InProcessClient
from bench.report import Outcome, concurrent_figures, latency_ms, num, verdict
from bench.server import Server

INTAKE_PATH = "/api/v1/mentions/"
BATCH_GOAL = 0.30
SINGLE_GOAL_RPS = 1000.0
SINGLE_GOAL_P99_MS = 25.0


def _floor_spec(ctx: Context, **kwargs: Any) -> load.ClientSpec:
    return load.ClientSpec(
        seed=ctx.seed,
        now=ctx.now,
        open_threads=ctx.open_threads,
        author_pool=ctx.author_pool,
        dsn=ctx.env.dsn(),
        incident_ids=ctx.incident_ids,
        batch_size=ctx.params.batch_size,
        **kwargs,
    )


def _http_spec(ctx: Context, server: Server, **kwargs: Any) -> load.ClientSpec:
    return load.ClientSpec(
        seed=ctx.seed,
        now=ctx.now,
        open_threads=ctx.open_threads,
        author_pool=ctx.author_pool,
        batch_size=ctx.params.batch_size,
        port=server.port,
        token=ctx.token,
        path=INTAKE_PATH,
        **kwargs,
    )


def ingest_batch_inprocess(ctx: Context) -> Outcome:
    """App batch i, then the COPY of the same rows (other id prefix), alternately: both arms see the
    same machine and the same table size. Batch 0 warms both and is not measured."""
    p = ctx.params
    stream = "ingest-inproc"
    client = InProcessClient(ctx.token)
    app_spec = _floor_spec(ctx, mode="pg_copy", client=0, stream=stream, id_prefix=ctx.run_id + "ai0")
    floor_spec = _floor_spec(ctx, mode="pg_copy", client=0, stream=stream, id_prefix=ctx.run_id + "fi0")
    latencies: list[float] = []
    floor = load.ClientResult(client=0, mode="pg_copy")
    done: list[int] = []
    outcomes = {"created": 0, "duplicate": 0, "invalid": 0}
    errors: list[str] = []
    deadline = time.time() + p.inproc_duration
    log(
        f"  ingest_batch_inprocess: app and floor arms interleaved by batch ({p.inproc_duration:.0f}s, "
        f"batches of {p.batch_size})"
    )
    with ctx.env.pg() as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        for index in range(p.inproc_max_batches):
            if time.time() >= deadline and len(latencies) >= 3:
                break
            body = json.dumps(
                [pl for pl, _ in load.batch_of(app_spec, index)], separators=(",", ":")
            ).encode()
            status, content, elapsed = client.call("POST", INTAKE_PATH, body=body)
            done.append(index)
            if status != 200:
                errors.append(f"batch {index}: HTTP {status}: {content[:300]!r}")
                if len(errors) > 5:
                    break
                continue
            answer = json.loads(content)
            for key in outcomes:
                outcomes[key] += int(answer.get(key, 0))
            data = load.copy_text(floor_spec, load.batch_of(floor_spec, index), index)
            started = time.perf_counter()
            cur.copy_expert(load.MENTION_COPY, io.BytesIO(data), size=1 << 20)
            floor_elapsed = time.perf_counter() - started
            if index > 0:  # the first batch warms caches (VADER's lexicon, triage rules, imports)
                latencies.append(elapsed)
                floor.latencies.append(floor_elapsed)
                floor.busy += floor_elapsed
                floor.items += cur.rowcount
                floor.measured += 1
    if not latencies:
        raise RuntimeError(f"in-process ingestion failed: {errors[:3]}")
    app_rate = p.batch_size * len(latencies) / sum(latencies)
    floor_rate = floor.items / floor.busy if floor.busy else 0.0
    ratio = app_rate / floor_rate if floor_rate else 0.0
    met = ratio >= BATCH_GOAL
    line = (
        f"ingest_batch_inprocess  app {num(app_rate)} mentions/s  floor(COPY) {num(floor_rate)} rows/s  "
        f"ratio {ratio:.2f}  goal >= {BATCH_GOAL:.2f}  {verdict(met)}"
    )
    return Outcome(
        "ingest_batch_inprocess",
        line,
        met,
        {
            "unit": "mentions/s",
            "batch_size": p.batch_size,
            "app": {
                "mentions_per_s": round(app_rate, 1),
                "batches_measured": len(latencies),
                "batches_total": len(done),
                "batch_latency": latency_ms(latencies),
                "outcomes": outcomes,
                "errors": errors,
            },
            "floor": {
                "method": "COPY incidents_mention FROM STDIN, one 500-row COPY per transaction, real table",
                "rows_per_s": round(floor_rate, 1),
                "batches_measured": floor.measured,
                "batch_latency": latency_ms(floor.latencies),
                "errors": floor.errors,
            },
            "ratio": round(ratio, 4),
            "goal": {"ratio_at_least": BATCH_GOAL},
        },
    )


def ingest_batch_http(ctx: Context, server: Server) -> Outcome:
    p = ctx.params
    stream = "ingest-http"
    n = p.http_batch_clients
    log(
        f"  ingest_batch_http: app arm ({n} clients, {server.workers} {server.worker_class} workers, "
        f"{p.http_batch_duration:.0f}s)"
    )
    specs = [
        _http_spec(
            ctx,
            server,
            mode="http_batch",
            client=c,
            stream=stream,
            id_prefix=ctx.run_id + "ah" + load.PASS_CHARS[0],
            batches=[c + k * n for k in range(p.http_max_batches_per_client)],
            duration=p.http_batch_duration,
            warmup=0.0,
            warmup_batches=1,
            timeout=120.0,
        )
        for c in range(n)
    ]
    app_results = load.run_clients(specs)
    app = concurrent_figures(app_results)
    log(f"  ingest_batch_http: floor arm ({n} concurrent COPY streams, the same batches)")
    floor_specs = [
        _floor_spec(
            ctx,
            mode="pg_copy",
            client=r.client,
            stream=stream,
            id_prefix=ctx.run_id + "fh",
            batches=r.batches_done,
            warmup_batches=1,
            min_seconds=p.floor_min_seconds,
            max_passes=len(load.PASS_CHARS),
        )
        for r in app_results
    ]
    floor = concurrent_figures(load.run_clients(floor_specs))
    ratio = app["items_per_s"] / floor["items_per_s"] if floor["items_per_s"] else 0.0
    met = ratio >= BATCH_GOAL and not app["error_count"]
    line = (
        f"ingest_batch_http  app {num(app['items_per_s'])} mentions/s  "
        f"floor(COPY) {num(floor['items_per_s'])} rows/s  "
        f"ratio {ratio:.2f}  goal >= {BATCH_GOAL:.2f}  {verdict(met)}"
    )
    return Outcome(
        "ingest_batch_http",
        line,
        met,
        {
            "unit": "mentions/s",
            "batch_size": p.batch_size,
            "server": {
                "workers": server.workers,
                "worker_class": server.worker_class,
                "command": server.command,
            },
            "app": app,
            "floor": {"method": f"{n} concurrent COPY streams, 500 rows per COPY/transaction", **floor},
            "ratio": round(ratio, 4),
            "goal": {"ratio_at_least": BATCH_GOAL},
        },
    )


def single_post_http(ctx: Context, server: Server) -> Outcome:
    p = ctx.params
    stream = "single"
    c = p.single_concurrency
    common = {"duration": p.single_duration, "warmup": p.single_warmup, "stream": stream, "timeout": 30.0}
    log(
        f"  single_post_http: app arm ({c} clients, {server.workers} {server.worker_class} workers, "
        f"{p.single_duration:.0f}s)"
    )
    app = concurrent_figures(
        load.run_clients(
            [
                _http_spec(ctx, server, mode="http_single", client=i, id_prefix=ctx.run_id + "as", **common)
                for i in range(c)
            ]
        )
    )
    log(f"  single_post_http: floor arm ({c} connections, single-row INSERT ... ON CONFLICT, autocommit)")
    floor = concurrent_figures(
        load.run_clients(
            [
                _floor_spec(ctx, mode="pg_insert", client=i, id_prefix=ctx.run_id + "fs", **common)
                for i in range(c)
            ]
        )
    )
    rps = app["requests_per_s"]
    p99 = app["latency"].get("p99_ms", float("nan"))
    ratio = rps / floor["requests_per_s"] if floor["requests_per_s"] else 0.0
    met = rps >= SINGLE_GOAL_RPS and p99 < SINGLE_GOAL_P99_MS and not app["error_count"]
    line = (
        f"single_post_http  app {num(rps)} req/s p50 {num(app['latency'].get('p50_ms'), 1)} ms "
        f"p99 {num(p99, 1)} ms  floor(INSERT) {num(floor['requests_per_s'])} rows/s "
        f"p99 {num(floor['latency'].get('p99_ms'), 2)} ms  ratio {ratio:.3f}  "
        f"goal >= {num(SINGLE_GOAL_RPS)} req/s at p99 < {SINGLE_GOAL_P99_MS:.0f} ms  {verdict(met)}"
    )
    return Outcome(
        "single_post_http",
        line,
        met,
        {
            "unit": "requests/s",
            "concurrency": c,
            "server": {
                "workers": server.workers,
                "worker_class": server.worker_class,
                "command": server.command,
            },
            "app": app,
            "floor": {
                "method": "INSERT INTO incidents_mention ... ON CONFLICT DO NOTHING RETURNING, autocommit",
                **floor,
            },
            "ratio": round(ratio, 4),
            "goal": {"requests_per_s_at_least": SINGLE_GOAL_RPS, "p99_ms_below": SINGLE_GOAL_P99_MS},
        },
    )
