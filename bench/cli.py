"""`python -m bench`: build or reuse the dataset, run every benchmark's floor and app arms, report.

Exit status: 0 when every benchmark ran (goals missed or not; add --strict to fail on a MISS),
1 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
import traceback
import warnings
from datetime import UTC, datetime
from typing import Any

from bench import dataset
from bench.context import Context, Params
from bench.env import RESULTS, BenchEnv, cpu_busy_share, log, machine, versions
from bench.ingest import ingest_batch_http, ingest_batch_inprocess, single_post_http
from bench.profiling import print_profile, profile_intake
from bench.queuepage import queue_pages
from bench.report import Outcome, write_json
from bench.reports import reports
from bench.server import gunicorn
from bench.sla import engine_digest, sla_backlog, sla_lag, sla_memory, sla_tick_idle
from bench.spikes import spike_counting, spike_detection

BENCHMARKS = (
    "queue",
    "ingest_inprocess",
    "ingest_http",
    "single_http",
    "profile",
    "sla_lag",
    "sla_backlog",
    "sla_tick",
    "sla_memory",
    "spike_counting",
    "spike_detection",
    "reports",
)
REFERENCE_INCIDENTS = 1_000_000
QUICK_INCIDENTS = 20_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small dataset (20,000 incidents), short runs")
    parser.add_argument("--incidents", type=int, help=f"dataset size (default {REFERENCE_INCIDENTS:,})")
    parser.add_argument("--mentions", type=int, help="mentions in the dataset (default 2 x incidents)")
    parser.add_argument("--seed", type=int, default=20261122, help="dataset and payload seed")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the dataset even if it matches")
    parser.add_argument("--build-only", action="store_true", help="build/reuse the dataset, run nothing")
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)} (default: all)", default=""
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], help="gunicorn worker class (default sync)"
    )
    parser.add_argument("--threads", type=int, help="threads per gthread worker (default 4)")
    parser.add_argument("--concurrency", type=int, help="clients of the single POST benchmark (default 4)")
    parser.add_argument("--batch-clients", type=int, help="clients of the HTTP batch benchmark (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per timed arm (overrides the presets)")
    parser.add_argument(
        "--database-url",
        help="default: $BENCH_DATABASE_URL, else firebreak_bench on 127.0.0.1 "
        "(firebreak_bench_quick with --quick)",
    )
    parser.add_argument("--redis-url", help="default: $BENCH_REDIS_URL or redis://127.0.0.1:6379/12")
    parser.add_argument("--settings", help="Django settings module (default config.settings.production)")
    parser.add_argument(
        "--sla-pool", choices=["prefork", "solo"], help="Celery pool of the SLA benchmarks' worker (prefork)"
    )
    parser.add_argument(
        "--sla-concurrency", type=int, help="processes of the SLA benchmarks' worker (default 1: one worker)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a goal is missed")
    return parser.parse_args(argv)


def build_params(args: argparse.Namespace) -> Params:
    params = Params.quick_preset() if args.quick else Params()
    if args.workers:
        params.workers = args.workers
    if args.worker_class:
        params.worker_class = args.worker_class
    if args.threads:
        params.threads = args.threads
    if args.concurrency:
        params.single_concurrency = args.concurrency
    if args.batch_clients:
        params.http_batch_clients = args.batch_clients
    if args.sla_pool:
        params.sla_pool = args.sla_pool
    if args.sla_concurrency:
        params.sla_concurrency = args.sla_concurrency
    if args.duration:
        params.inproc_duration = params.http_batch_duration = params.single_duration = args.duration
        params.queue_duration = max(2.0, args.duration / 2)
    return params


def _prepare_context(env: BenchEnv, params: Params, info: dict[str, Any], seed: int) -> Context:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from protocols.models import ApiToken
    from protocols.services import api_token_create

    run_id = secrets.token_hex(3)
    user = get_user_model().objects.get(username="bench-client")
    ApiToken.objects.filter(user=user).delete()
    token = api_token_create(user=user, name=f"bench {run_id}").secret
    max_incident = info["max_ids"]["incident"]
    with connection.cursor() as cur:
        # Open threads new mentions reply in (25% of the payloads), spread over the dataset.
        cur.execute(
            "SELECT platform, thread_key FROM incidents_incident WHERE status IN "
            "('new','triaged','in_progress','waiting_on_customer') AND id <= %s AND id %% 53 = 0 "
            "ORDER BY id LIMIT 5000",
            [max_incident],
        )
        threads = [(platform, key.split(":", 1)[1]) for platform, key in cur.fetchall()]
        cur.execute(
            "SELECT id FROM incidents_incident WHERE id <= %s AND id %% 211 = 0 ORDER BY id LIMIT 5000",
            [max_incident],
        )
        incident_ids = [i for (i,) in cur.fetchall()] or [1]
    RESULTS.mkdir(parents=True, exist_ok=True)
    return Context(
        env=env,
        params=params,
        dataset=info,
        run_id=run_id,
        seed=seed,
        now=time.time(),
        token=token,
        results_dir=RESULTS,
        open_threads=threads,
        incident_ids=incident_ids,
    )


def _redis_version(url: str) -> str | None:
    try:
        import redis

        return str(redis.Redis.from_url(url, socket_connect_timeout=2).info("server").get("redis_version"))
    except Exception:
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = build_params(args)
    selected = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHMARKS)
    unknown = set(selected) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(
            f"Unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}."
        )
    incidents = args.incidents or (QUICK_INCIDENTS if args.quick else REFERENCE_INCIDENTS)
    spec = dataset.Spec(incidents=incidents, mentions=args.mentions or 2 * incidents, seed=args.seed)

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through every finally: gunicorn stops, rows are removed

    signal.signal(signal.SIGTERM, on_term)
    started_at = datetime.now(UTC)
    started = time.time()
    env = BenchEnv.configure(args.database_url, args.redis_url, args.settings, quick=args.quick)
    log(
        f"bench database {env.name!r} ({'created' if env.ensure_database() else 'exists'}), "
        f"settings {env.settings_module}"
    )
    env.hold_exclusive()  # held until the process exits
    warnings.filterwarnings("ignore", message="No directory at")
    env.django_setup()
    env.migrate()
    info, built = dataset.ensure(env, spec, rebuild=args.rebuild)
    plan_changes = dataset.upgrade_plan(env)
    if plan_changes:
        log(f"  plan brought up to date: {plan_changes}")
    unfilled = dataset.unfilled_columns(env)
    if unfilled:
        log(
            f"  NOTE: the generator does not fill {', '.join(unfilled)} (added by a migration?): "
            "update bench/dataset.py"
        )
    if not built:
        log(
            f"  reusing dataset built {info['built_at']} ({info['rows']['incidents']:,} incidents, "
            f"seed {info['seed']})"
        )
    if args.build_only:
        return 0

    ctx = _prepare_context(env, params, info, args.seed)
    background = cpu_busy_share(2.0)
    busy_note = (
        f"WARNING: the machine was {background:.0%} busy before the run (other processes); "
        "figures will be noisy"
        if background > 0.15
        else ""
    )
    log(f"run {ctx.run_id}: {', '.join(selected)}; CPU busy before start {background:.0%}")
    if busy_note:
        log(busy_note)
    outcomes: list[Outcome] = []
    failures: dict[str, str] = {}
    profile: dict[str, Any] | None = None

    def attempt(name: str, fn: Any) -> Any:
        try:
            return fn()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            failures[name] = "".join(traceback.format_exception(exc))[-4000:]
            log(f"  {name} FAILED: {type(exc).__name__}: {exc}")
            return None

    def done(outcome: Outcome | None) -> None:
        if outcome is not None:
            outcome.data["loadavg_after"] = list(os.getloadavg())
            outcomes.append(outcome)
            print(outcome.line, flush=True)

    try:
        if "queue" in selected:
            for outcome in attempt("queue", lambda: queue_pages(ctx)) or []:
                done(outcome)
        if "ingest_inprocess" in selected:
            env.vacuum_analyze([], checkpoint=True)
            done(attempt("ingest_inprocess", lambda: ingest_batch_inprocess(ctx)))
        if "ingest_http" in selected or "single_http" in selected:
            log_path = RESULTS / f"gunicorn-{ctx.run_id}.log"
            with gunicorn(
                env,
                workers=params.workers,
                worker_class=params.worker_class,
                threads=params.threads,
                log_path=log_path,
            ) as server:
                if "ingest_http" in selected:
                    env.vacuum_analyze([], checkpoint=True)
                    done(attempt("ingest_http", lambda: ingest_batch_http(ctx, server)))
                if "single_http" in selected:
                    env.vacuum_analyze([], checkpoint=True)
                    done(attempt("single_http", lambda: single_post_http(ctx, server)))
        if "profile" in selected:
            profile = attempt("profile", lambda: profile_intake(ctx))
            if profile:
                print("profile of the in-process intake:")
                print_profile(profile)
        if "sla_tick" in selected:
            done(attempt("sla_tick", lambda: sla_tick_idle(ctx)))
        if "sla_lag" in selected:
            for rate, seconds in params.sla_rates:
                done(attempt(f"sla_lag_{rate}", lambda r=rate, s=seconds: sla_lag(ctx, r, s)))
            for rate, seconds in params.sla_alone_rates:
                done(
                    attempt(f"sla_lag_{rate}_alone", lambda r=rate, s=seconds: sla_lag(ctx, r, s, alone=True))
                )
        if "sla_backlog" in selected:
            done(attempt("sla_backlog", lambda: sla_backlog(ctx)))
        if "sla_memory" in selected:
            done(attempt("sla_memory", lambda: sla_memory(ctx)))
        if "spike_counting" in selected:
            env.vacuum_analyze([], checkpoint=True)
            done(attempt("spike_counting", lambda: spike_counting(ctx)))
        if "spike_detection" in selected:
            done(attempt("spike_detection", lambda: spike_detection(ctx)))
        if "reports" in selected:
            done(attempt("reports", lambda: reports(ctx)))
    finally:
        log("cleaning up: removing the rows this run ingested, VACUUM ANALYZE")
        try:
            from django.db import connections

            from protocols.models import ApiToken

            ApiToken.objects.filter(name=f"bench {ctx.run_id}").delete()
            connections.close_all()
            removed = dataset.cleanup(env, info)
            env.vacuum_analyze(dataset.BIG_TABLES)
            log(f"  removed {removed:,} rows")
        except Exception as exc:
            failures["cleanup"] = f"{type(exc).__name__}: {exc}"
        payload = {
            "run_id": ctx.run_id,
            "started_at": started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "duration_s": round(time.time() - started, 1),
            "command": sys.argv,
            "quick": args.quick,
            "seed": args.seed,
            "dataset": {
                **info,
                "built_this_run": built,
                "columns_not_generated": unfilled,
                "plan_changes_this_run": plan_changes,
            },
            "params": vars(params),
            "database": env.name,
            "settings_module": env.settings_module,
            "versions": {
                **versions(env),
                "redis": _redis_version(env.redis_url),
                "sla_engine_files_sha1": engine_digest(),
            },
            "machine": {**machine(env), "cpu_busy_before_run": round(background, 3)},
            "benchmarks": [o.as_dict() for o in outcomes],
            "profile": profile,
            "failures": failures,
        }
        label = "quick" if args.quick else f"{incidents}"
        path = RESULTS / f"bench-{started_at:%Y%m%dT%H%M%SZ}-{label}-{ctx.run_id}.json"
        write_json(path, payload)
        write_json(RESULTS / "latest.json", payload)

    print()
    print(
        f"Firebreak bench — {info['rows']['incidents']:,} incidents / {info['rows']['mentions']:,} mentions, "
        f"seed {args.seed}"
    )
    for outcome in outcomes:
        print("  " + outcome.line)
    for name in failures:
        print(f"  {name}: FAILED (see JSON)")
    if busy_note:
        print("  " + busy_note)
    print(f"results: {path}")
    if failures:
        return 1
    if args.strict and any(o.met is False for o in outcomes):
        return 2
    return 0
