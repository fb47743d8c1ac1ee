"""The default triage queue page through the API, in process, against the SQL it runs done raw.

`GET /api/v1/incidents/` with no parameters is the default queue: open incidents, most urgent first,
50 per page. The floor arm is exactly the SQL Django ran for that request (captured with
CaptureQueriesContext, after a warm-up request so the once-a-minute token `last_used_at` UPDATE is
not part of it), replayed statement by statement through psycopg2 with every row fetched. The two
arms alternate request by request, so background load on the machine hits both alike.

The deep page is page 2,000 (rows 99,951-100,000): its cursor is built the way the API builds
`next_cursor` (from the last row of page 1,999, via `incidents.keyset.encode_cursor`), checked against
the real `next_cursor` of page 1 -> 2. Smaller datasets use their deepest full page instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from bench.context import Context
from bench.env import log
from bench.inproc import InProcessClient
from bench.report import Outcome, latency_ms, num, percentile, verdict

QUEUE_PATH = "/api/v1/incidents/"
RATIO_GOAL = 8.0
DEEP_GOAL = 1.2
WARMUP = 5
SKIPPED_PREFIXES = ("UPDATE", "INSERT", "DELETE", "SAVEPOINT", "RELEASE", "ROLLBACK")


def _cursor_for_page(page: int, size: int) -> tuple[str | None, int | None]:
    """The `cursor` query value that returns page `page` (1-based), and the id of its first row."""
    from incidents.keyset import encode_cursor, sort_for
    from incidents.models import OPEN_STATUS_VALUES, Incident

    sort = sort_for(None)
    qs = Incident.objects.filter(status__in=OPEN_STATUS_VALUES).order_by(*sort.order_by)
    if page <= 1:
        first = qs.values_list("id", flat=True).first()
        return None, first
    offset = (page - 1) * size
    before = qs.only(*sort.columns)[offset - 1 : offset + 1]
    rows = list(before)
    if len(rows) < 2:
        return None, None
    return encode_cursor(sort, rows[0]), rows[1].pk


def _capture(client: InProcessClient, query: str) -> tuple[list[str], list[str], dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.call("GET", QUEUE_PATH, query=query)  # warm: token last_used_at is fresh after this
    with CaptureQueriesContext(connection) as captured:
        status, body, _ = client.call("GET", QUEUE_PATH, query=query)
    if status != 200:
        raise RuntimeError(f"queue page answered HTTP {status}: {body[:300]!r}")
    sqls = [q["sql"] for q in captured.captured_queries]
    kept = [s for s in sqls if not s.lstrip().upper().startswith(SKIPPED_PREFIXES)]
    skipped = [s for s in sqls if s not in kept]
    return kept, skipped, json.loads(body)


@dataclass
class _Page:
    label: str
    query: str
    sqls: list[str]
    skipped: list[str]
    answer: dict[str, Any]
    app: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    per_statement: list[list[float]] = field(default_factory=list)


def _interleaved(ctx: Context, client: InProcessClient, pages: list[_Page]) -> None:
    """Round by round: each page through the app, then the raw replay of its SQL. Both arms and both
    pages see the same machine, so background load moves their ratios little."""
    p = ctx.params
    for page in pages:
        page.per_statement = [[] for _ in page.sqls]
    with ctx.env.pg() as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        _prepare_like_the_app(cur, [sql for page in pages for sql in page.sqls])
        deadline = time.time() + len(pages) * 2 * p.queue_duration
        rounds = 0
        while rounds < p.queue_max_iterations + WARMUP and (
            time.time() < deadline or rounds < p.queue_min_iterations + WARMUP
        ):
            for page in pages:
                status, body, elapsed = client.call("GET", QUEUE_PATH, query=page.query)
                if status != 200:
                    raise RuntimeError(f"queue page answered HTTP {status}: {body[:300]!r}")
                times = replay(cur, page.sqls)
                if rounds >= WARMUP:
                    page.app.append(elapsed)
                    page.floor.append(sum(times))
                    for n, t in enumerate(times):
                        page.per_statement[n].append(t)
            rounds += 1


def replay(cur: Any, sqls: list[str]) -> list[float]:
    """The floor arm: each captured statement run raw with every row fetched; seconds per statement."""
    times = []
    for sql in sqls:
        started = time.perf_counter()
        cur.execute(sql)
        if cur.description is not None:
            cur.fetchall()
        times.append(time.perf_counter() - started)
    return times


def default_queue_floor(ctx: Context) -> tuple[list[str], Any]:
    """The statements of the default queue page (page 1) and a function that opens a psycopg2 session
    prepared to replay them exactly as the floor arm does (for other benchmarks to compare against)."""
    kept, _, _ = _capture(InProcessClient(ctx.token), "")

    def session() -> Any:
        conn = ctx.env.connect()
        cur = conn.cursor()
        cur.execute("SET TIME ZONE 'UTC'")
        _prepare_like_the_app(cur, kept)
        return conn, cur

    return kept, session


def _prepare_like_the_app(cur: Any, sqls: list[str]) -> None:
    """The app runs some statements as server-side prepared statements (config.prepared); the floor
    prepares the same ones on its own session, so both arms run identical SQL."""
    from config.prepared import REGISTRY

    names = {sql.split()[1] for sql in sqls if sql.lstrip().upper().startswith("EXECUTE ")}
    if names:
        cur.execute("SET plan_cache_mode = force_generic_plan")
    for name in sorted(names):
        cur.execute(REGISTRY[name].prepare_sql)


def _explain(ctx: Context, sql: str) -> list[str]:
    with ctx.env.pg() as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cur.fetchall()]


def _main_query(sqls: list[str]) -> str | None:
    for sql in sqls:
        if '"incidents_incident"' in sql and "LIMIT" in sql:
            return sql
    return None


def _figures(ctx: Context, page: _Page) -> dict[str, Any]:
    main = _main_query(page.sqls)
    return {
        "query_string": page.query,
        "rows_returned": len(page.answer.get("results", [])),
        "first_id": page.answer["results"][0]["id"] if page.answer.get("results") else None,
        "app": {"latency": latency_ms(page.app)},
        "floor": {
            "latency": latency_ms(page.floor),
            "statements": [
                {"sql": sql, "p50_ms": round(percentile(t, 0.5) * 1000, 3)}
                for sql, t in zip(page.sqls, page.per_statement, strict=True)
            ],
            "skipped_writes": page.skipped,
        },
        "ratio_p50": round(percentile(page.app, 0.5) / percentile(page.floor, 0.5), 3),
        "explain_main_query": _explain(ctx, main) if main else [],
    }


def queue_pages(ctx: Context) -> list[Outcome]:
    p = ctx.params
    client = InProcessClient(ctx.token)
    open_count = int(ctx.dataset["rows"]["open_incidents"])
    deep = min(p.queue_deep_page, open_count // p.queue_page_size)
    first_page = _Page("queue_page1_inprocess", "", *_capture(client, ""))

    # The constructed cursor must be what the API itself hands out: check on page 2.
    cursor2, _ = _cursor_for_page(2, p.queue_page_size)
    cursor_check = cursor2 == first_page.answer.get("next_cursor")
    if not cursor_check:
        raise RuntimeError(f"constructed cursor {cursor2!r} differs from the API's next_cursor")
    cursor, expected_first = _cursor_for_page(deep, p.queue_page_size)
    deep_label = f"queue_page{deep}_inprocess"
    query = f"cursor={cursor}" if cursor else ""
    deep_page = _Page(deep_label, query, *_capture(client, query))
    log(
        f"  queue pages 1 and {deep}: app and floor arms interleaved ({4 * p.queue_duration:.0f}s or "
        f"{p.queue_max_iterations} rounds; floor = the {len(first_page.sqls)} captured statements)"
    )
    _interleaved(ctx, client, [first_page, deep_page])
    first, second = _figures(ctx, first_page), _figures(ctx, deep_page)
    if second["first_id"] != expected_first:
        raise RuntimeError(f"page {deep} starts at id {second['first_id']}, expected {expected_first}")

    outcomes = []
    app1, floor1 = first["app"]["latency"]["p50_ms"], first["floor"]["latency"]["p50_ms"]
    ratio1 = first["ratio_p50"]
    met1 = ratio1 <= RATIO_GOAL
    outcomes.append(
        Outcome(
            "queue_page1_inprocess",
            f"queue_page1_inprocess  app p50 {num(app1, 2)} ms  floor(SQL) p50 {num(floor1, 2)} ms  "
            f"ratio {ratio1:.1f}  goal <= {RATIO_GOAL:.0f}  {verdict(met1)}",
            met1,
            {"page": 1, "page_size": p.queue_page_size, **first, "goal": {"ratio_p50_at_most": RATIO_GOAL}},
        )
    )
    app2, floor2 = second["app"]["latency"]["p50_ms"], second["floor"]["latency"]["p50_ms"]
    deep_ratio = app2 / app1
    met2 = deep_ratio <= DEEP_GOAL
    note = "" if deep == p.queue_deep_page else f" (deepest full page of {open_count:,} open)"
    outcomes.append(
        Outcome(
            "queue_page_deep_inprocess",
            f"{deep_label}  app p50 {num(app2, 2)} ms  floor(SQL) p50 {num(floor2, 2)} ms  "
            f"ratio {second['ratio_p50']:.1f}  page{deep}/page1 {deep_ratio:.2f}  goal <= {DEEP_GOAL:.1f}  "
            f"{verdict(met2)}{note}",
            met2,
            {
                "page": deep,
                "page_size": p.queue_page_size,
                **second,
                "deep_over_page1_p50": round(deep_ratio, 3),
                "cursor_matches_api_next_cursor": cursor_check,
                "goal": {"deep_over_page1_at_most": DEEP_GOAL},
            },
        )
    )
    return outcomes
