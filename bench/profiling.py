"""Where the in-process intake spends its time: SQL statement timings, a cProfile, EXPLAINs.

Three passes over fresh batches (never timed against a goal):
  1. every SQL statement of the request timed at the psycopg2 cursor (a cursor_factory installed on
     Django's connection for this pass only) plus the COMMIT, so a request splits into
     "in PostgreSQL round trips" and "in Python";
  2. cProfile over the same kind of batches: top functions by own time and the cumulative time of the
     pipeline's stages;
  3. the same split for single-mention requests, which is what the single POST benchmark sends.
The SELECTs the intake ran are EXPLAIN ANALYZEd afterwards (read-only) as evidence.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import psycopg2.extensions

from bench import synth
from bench.context import Context
from bench.env import log
from bench.inproc import InProcessClient
from bench.report import latency_ms, percentile

INTAKE_PATH = "/api/v1/mentions/"
_TABLE_RE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
HINTS = (
    "pg_advisory_xact_lock",
    "unnest",
    "thread_key = ANY",
    "author_key = ANY",
    "ON CONFLICT",
    "to_tsvector",
)
QUEUE_PATH = "/api/v1/incidents/"
INTAKE_STAGES = [
    ("incidents/api/views.py", "post"),
    ("incidents/api/views.py", "_read_json_body"),
    ("incidents/services/ingestion.py", "mentions_ingest"),
    ("incidents/intake.py", "parse_mention"),
    ("incidents/sentiment.py", "sentiment_of"),
    ("incidents/services/ingestion.py", "_store"),
    ("incidents/services/ingestion.py", "_place"),
    ("incidents/triage.py", "triage"),
    ("protocols/selectors.py", "triage_rule_list_active"),
    ("incidents/services/ingestion.py", "_insert_incidents"),
    ("incidents/services/ingestion.py", "_update_touched"),
    ("incidents/services/ingestion.py", "_insert_events"),
    ("psycopg2/extras.py", "execute_values"),
    ("protocols/authentication.py", "authenticate"),
    ("rest_framework/response.py", "rendered_content"),
]
QUEUE_STAGES = [
    ("rest_framework/mixins.py", "list"),
    ("protocols/authentication.py", "authenticate"),
    ("django_filters/rest_framework/backends.py", "filter_queryset"),
    ("incidents/api/pagination.py", "paginate_queryset"),
    ("django/db/models/sql/compiler.py", "as_sql"),
    ("django/db/models/sql/compiler.py", "execute_sql"),
    ("django/db/models/query.py", "_fetch_all"),
    ("django/db/models/sql/compiler.py", "results_iter"),
    ("django/db/models/base.py", "from_db"),
    ("rest_framework/serializers.py", "data"),
    ("incidents/api/serializers.py", "get_url"),
    ("django/http/request.py", "build_absolute_uri"),
    ("rest_framework/fields.py", "to_representation"),
    ("rest_framework/response.py", "rendered_content"),
    ("rest_framework/utils/encoders.py", "default"),
]


def label_of(sql: str) -> str:
    text = " ".join(sql[:4000].split())
    if text == "SELECT 1":
        return "SELECT 1 [Django CONN_HEALTH_CHECKS]"
    if "set_config('TimeZone'" in text:
        return "SELECT set_config TimeZone [Django opening a connection: CONN_MAX_AGE expired]"
    verb = text.split(" ", 1)[0].upper() if text else "?"
    if verb == "EXECUTE":  # a prepared statement (config/prepared.py): its name says which one
        return "EXECUTE " + text.split(" ", 2)[1].split("(", 1)[0]
    match = _TABLE_RE.search(text)
    table = match.group(1) if match else ""
    hints = [h.split(" ")[0] for h in HINTS if h in text]
    return " ".join(x for x in (verb, table, "[" + ",".join(hints) + "]" if hints else "") if x)


class StatementLog:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.samples: dict[str, str] = {}
        self.request_sql = 0.0
        self.request_statements = 0

    def add(self, sql: Any, elapsed: float) -> None:
        text = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
        label = label_of(text)
        self.times.setdefault(label, []).append(elapsed)
        if label not in self.samples:
            self.samples[label] = text
        self.request_sql += elapsed
        self.request_statements += 1


def _timed_cursor_class(stmts: StatementLog) -> type:
    class TimedCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return super().execute(query, vars)
            finally:
                stmts.add(self.query or query, time.perf_counter() - started)

    return TimedCursor


def _instrumented(stmts: StatementLog) -> Callable[[], None]:
    """Installs the statement timer and a COMMIT timer on Django's connection; returns the undo."""
    from django.db import connection as django_connection

    connection: Any = django_connection  # the PostgreSQL wrapper: _commit is its COMMIT
    # Through OPTIONS, so the timer survives Django re-opening the connection (CONN_MAX_AGE).
    connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["cursor_factory"] = _timed_cursor_class(stmts)
    original_commit = connection._commit

    def timed_commit() -> Any:
        started = time.perf_counter()
        try:
            return original_commit()
        finally:
            stmts.add("COMMIT", time.perf_counter() - started)

    connection._commit = timed_commit

    def undo() -> None:
        options.pop("cursor_factory", None)
        connection._commit = original_commit
        connection.close()

    return undo


def _split(ctx: Context, bodies: list[bytes], per_request_items: int) -> dict[str, Any]:
    client = InProcessClient(ctx.token)
    stmts = StatementLog()
    totals: list[float] = []
    sql_times: list[float] = []
    counts: list[int] = []
    undo = _instrumented(stmts)
    try:
        for body in bodies:
            stmts.request_sql, stmts.request_statements = 0.0, 0
            status, content, elapsed = client.call("POST", INTAKE_PATH, body=body)
            if status not in (200, 201):
                raise RuntimeError(f"intake answered HTTP {status}: {content[:300]!r}")
            totals.append(elapsed)
            sql_times.append(stmts.request_sql)
            counts.append(stmts.request_statements)
    finally:
        undo()
    n = len(bodies)
    total = sum(totals)
    sql = sum(sql_times)
    by_statement = sorted(
        (
            {
                "statement": label,
                "per_request": round(len(times) / n, 2),
                "total_ms_per_request": round(sum(times) / n * 1000, 3),
                "share_of_request": round(sum(times) / total, 4),
                "p50_ms": round(percentile(times, 0.5) * 1000, 3),
                "sample": stmts.samples[label][:400],
            }
            for label, times in stmts.times.items()
        ),
        key=lambda row: -cast(float, row["total_ms_per_request"]),
    )
    return {
        "requests": n,
        "items_per_request": per_request_items,
        "request_latency": latency_ms(totals),
        "per_item_ms": round(total / (n * per_request_items) * 1000, 4),
        "sql_share": round(sql / total, 4),
        "python_share": round(1 - sql / total, 4),
        "statements_per_request": round(sum(counts) / n, 2),
        "by_statement": by_statement,
        "_samples": stmts.samples,
    }


def _explain_selects(ctx: Context, samples: dict[str, str]) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = {}
    with ctx.env.pg() as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        for label, sql in samples.items():
            kind = label.split(": ", 1)[1]
            if (
                not kind.startswith("SELECT")
                or "pg_advisory" in kind
                or "HEALTH" in kind
                or len(sql) > 200_000
            ):
                continue
            try:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plans[label] = [row[0] for row in cur.fetchall()]
            except psycopg2.Error as exc:
                plans[label] = [f"(not explained: {type(exc).__name__})"]
    return plans


def _explain_writes(ctx: Context, samples: dict[str, str]) -> dict[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS, WAL) of a batch's INSERTs and UPDATE, each in a transaction that is
    rolled back: shows per-index and FK-trigger costs. The mention INSERT re-runs on rows that now
    exist, so it shows the ON CONFLICT path, not the insert."""
    plans: dict[str, list[str]] = {}
    with ctx.env.pg() as conn:
        conn.autocommit = False
        with conn.cursor() as cur:
            for label, sql in samples.items():
                kind = label.split(": ", 1)[1]
                if not label.startswith("batch: ") or not kind.startswith(("INSERT", "UPDATE")):
                    continue
                try:
                    cur.execute("SET LOCAL TIME ZONE 'UTC'")
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + sql)
                    plans[label] = [row[0] for row in cur.fetchall()]
                except psycopg2.Error as exc:
                    plans[label] = [f"(not explained: {type(exc).__name__}: {exc})"]
                finally:
                    conn.rollback()
    return plans


def _batch_bodies(ctx: Context, stream: str, prefix: str, count: int, size: int) -> list[bytes]:
    bodies = []
    for index in range(count):
        batch = synth.batch_payloads(
            ctx.seed, stream, index, size, prefix, ctx.now, ctx.open_threads, ctx.author_pool
        )
        items: Any = [p for p, _ in batch] if size > 1 else batch[0][0]
        bodies.append(json.dumps(items, separators=(",", ":")).encode())
    return bodies


def _cprofile(
    call: Callable[[int], Any], count: int, out: Path, stages: list[tuple[str, str]]
) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(count):
        call(n)
    profiler.disable()
    profiler.dump_stats(str(out))
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in entries.items():
        rows.append((tottime, cumtime, calls, _short(filename), line, name))
    top_own = [
        {
            "function": f"{f}:{ln}({n})",
            "calls": c,
            "own_s": round(t, 4),
            "own_share": round(t / total, 4),
            "cum_s": round(cu, 4),
        }
        for t, cu, c, f, ln, n in sorted(rows, reverse=True)[:25]
    ]
    found = []
    for suffix, name in stages:
        for _t, cu, c, f, ln, n in rows:
            if n == name and f.endswith(suffix):
                found.append(
                    {
                        "function": f"{f}:{ln}({n})",
                        "calls": c,
                        "cum_s": round(cu, 4),
                        "cum_share": round(cu / total, 4),
                    }
                )
                break
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("cumulative").print_stats(30)
    return {
        "total_s": round(total, 3),
        "requests": count,
        "top_own_time": top_own,
        "stages": found,
        "prof_file": str(out),
        "cumulative_listing": text.getvalue()[-6000:],
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profile_intake(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    log(f"  profile: statement timings over {p.profile_batches} batches of {p.batch_size}")
    bodies = _batch_bodies(ctx, "profile-split", ctx.run_id + "pb", p.profile_batches, p.batch_size)
    batches = _split(ctx, bodies, p.batch_size)
    log(f"  profile: cProfile over {p.profile_batches} batches")
    client = InProcessClient(ctx.token)
    bodies = _batch_bodies(ctx, "profile-cprofile", ctx.run_id + "pc", p.profile_batches, p.batch_size)
    cprof = _cprofile(
        lambda n: client.call("POST", INTAKE_PATH, body=bodies[n]),
        len(bodies),
        ctx.results_dir / f"profile-ingest-{ctx.run_id}.prof",
        INTAKE_STAGES,
    )
    log(f"  profile: statement timings over {p.profile_singles} single-mention requests")
    singles = _split(ctx, _batch_bodies(ctx, "profile-single", ctx.run_id + "ps", p.profile_singles, 1), 1)
    log(f"  profile: cProfile over {p.profile_pages} queue pages")
    client.call("GET", QUEUE_PATH)
    queue = _cprofile(
        lambda n: client.call("GET", QUEUE_PATH),
        p.profile_pages,
        ctx.results_dir / f"profile-queue-{ctx.run_id}.prof",
        QUEUE_STAGES,
    )
    samples = {f"batch: {k}": v for k, v in batches.pop("_samples").items()}
    samples.update({f"single: {k}": v for k, v in singles.pop("_samples").items()})
    plans = {**_explain_selects(ctx, samples), **_explain_writes(ctx, samples)}
    return {"batch": batches, "single": singles, "cprofile": cprof, "queue_cprofile": queue, "explain": plans}


def print_profile(profile: dict[str, Any]) -> None:
    for key, title in (("batch", "batch of 500, in process"), ("single", "single mention, in process")):
        part = profile[key]
        lat = part["request_latency"]
        print(
            f"  {title}: p50 {lat['p50_ms']:.1f} ms/request, "
            f"{part['statements_per_request']:.0f} SQL statements, "
            f"SQL {part['sql_share']:.0%} / Python {part['python_share']:.0%}"
        )
        for row in part["by_statement"][:8]:
            print(
                f"      {row['total_ms_per_request']:8.2f} ms  x{row['per_request']:<5}  "
                f"{row['share_of_request']:5.1%}  {row['statement']}"
            )
    for key, title in (("cprofile", "batches of 500"), ("queue_cprofile", "default queue pages")):
        cprof = profile[key]
        print(f"  cProfile, {cprof['requests']} {title} ({cprof['total_s']:.2f}s): stages (cumulative)")
        for row in cprof["stages"]:
            print(f"      {row['cum_s']:7.3f}s {row['cum_share']:6.1%}  x{row['calls']:<6} {row['function']}")
        print("    top functions by own time")
        for row in cprof["top_own_time"][:12]:
            print(f"      {row['own_s']:7.3f}s {row['own_share']:6.1%}  x{row['calls']:<7} {row['function']}")
