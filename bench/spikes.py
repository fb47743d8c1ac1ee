"""Spike detection benchmarks.

* spike_counting: what keeping the per-minute counts costs intake. Lists of 500 (every mention naming a
  product, the worst case) go to `POST /api/v1/mentions/` in process; the one statement intake adds
  (`_count_buckets`) is timed inside each request. Share = time in that statement / whole request time.
  A second arm runs the same stream with the statement switched off, alternating batch by batch, as a
  cross-check of the instrumented share.
* spike_detection: 2,000 synthetic tags, each with its own noisy negative-mention rate (log-uniform 5 to
  60 per minute, gamma-mixed Poisson: burstier than Poisson alone), six hours of history in the buckets
  table, then a 30-minute stretch in which half the tags get a 3x surge lasting 10 minutes starting at a
  random second. Arrivals are laid minute by minute as they would arrive; every 10 simulated seconds the
  app's own detector (`surges_find`, the decision `spikes_detect` acts on) reads the real table. Recall =
  surges flagged / surges injected; precision = surges flagged / (surges flagged + false alarms), where a
  false alarm is every flagged (tag, window) with no surge in it (each would open or update an
  incident); delay = first flag - surge start.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import load
from bench.context import Context
from bench.env import log
from bench.inproc import InProcessClient
from bench.report import Outcome, latency_ms, num, percentile, verdict
from bench.synth import PRODUCTS

INTAKE_PATH = "/api/v1/mentions/"
COUNTING_GOAL = 0.05
PRECISION_GOAL = RECALL_GOAL = 0.95
TAG_PREFIX = "bench-spike-"
# A fixed moment far from the dataset and from real time, so no other bucket is in the detector's windows.
SIM_T0 = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)


# --- spike counting cost ---


def spike_counting(ctx: Context) -> Outcome:
    from incidents.services import ingestion

    p = ctx.params
    client = InProcessClient(ctx.token)
    original = ingestion._count_buckets
    counting_time = [0.0]

    def timed(cur: Any, fresh: list[Any]) -> None:
        started = time.perf_counter()
        original(cur, fresh)
        counting_time[0] += time.perf_counter() - started

    def switched_off(cur: Any, fresh: list[Any]) -> None:
        return None

    spec = load.ClientSpec(
        mode="pg_copy",
        client=0,
        seed=ctx.seed,
        stream="spike-counting",
        id_prefix=ctx.run_id + "sc0",
        now=ctx.now,
        open_threads=ctx.open_threads,
        author_pool=ctx.author_pool,
        batch_size=p.batch_size,
    )
    on: list[tuple[float, float]] = []  # (request seconds, of which counting)
    off: list[float] = []
    errors: list[str] = []
    mentions_counted = 0
    deadline = time.time() + p.spike_counting_duration
    log(
        f"  spike_counting: batches of {p.batch_size} in process, every mention naming a product, "
        f"counting on/off alternately ({p.spike_counting_duration:.0f}s)"
    )
    try:
        for index in range(p.spike_counting_max_batches):
            if time.time() >= deadline and len(on) >= 3 and len(off) >= 3:
                break
            payloads = []
            for n, (payload, _) in enumerate(load.batch_of(spec, index)):
                payload.setdefault("products", [PRODUCTS[(index + n) % len(PRODUCTS)]])
                payloads.append(payload)
            counting = index % 2 == 1  # batch 0 warms up (with counting off), then alternate
            ingestion._count_buckets = timed if counting else switched_off  # type: ignore[assignment]
            counting_time[0] = 0.0
            body = json.dumps(payloads, separators=(",", ":")).encode()
            status, content, elapsed = client.call("POST", INTAKE_PATH, body=body)
            if status != 200:
                errors.append(f"batch {index}: HTTP {status}: {content[:300]!r}")
                if len(errors) > 5:
                    break
                continue
            if index == 0:
                continue
            if counting:
                on.append((elapsed, counting_time[0]))
                mentions_counted += int(json.loads(content).get("created", 0))
            else:
                off.append(elapsed)
    finally:
        ingestion._count_buckets = original  # type: ignore[assignment]
    if not on or not off:
        raise RuntimeError(f"spike counting benchmark could not ingest: {errors[:3]}")
    total = sum(t for t, _ in on)
    counted = sum(c for _, c in on)
    share = counted / total
    mean_on = total / len(on)
    mean_off = sum(off) / len(off)
    ab_share = (mean_on - mean_off) / mean_on
    per_mention_us = counted / max(mentions_counted, 1) * 1e6
    met = share < COUNTING_GOAL
    line = (
        f"spike_counting  counting {per_mention_us:.1f} us/mention = {share:.2%} of intake "
        f"({mean_on * 1000:.0f} ms per batch of {p.batch_size}); on/off A/B {ab_share:+.2%}  "
        f"goal < {COUNTING_GOAL:.0%}  {verdict(met)}"
    )
    return Outcome(
        "spike_counting",
        line,
        met,
        {
            "batch_size": p.batch_size,
            "batches_counting": len(on),
            "batches_not_counting": len(off),
            "mentions_counted": mentions_counted,
            "share_instrumented": round(share, 5),
            "share_ab": round(ab_share, 5),
            "counting_per_mention_us": round(per_mention_us, 2),
            "counting_statement": latency_ms([c for _, c in on]),
            "batch_counting_on": latency_ms([t for t, _ in on]),
            "batch_counting_off": latency_ms(off),
            "errors": errors,
            "goal": {"share_below": COUNTING_GOAL},
        },
    )


# --- detection quality ---


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's product method below 30; Hoermann's PTRS (transformed rejection) above, O(1) per draw."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, prod = math.exp(-lam), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v * inv_alpha / (a / (us * us) + b)) <= -lam + k * loglam - math.lgamma(k + 1):
            return int(k)


@dataclass
class Series:
    tag: str
    rate: float
    surge_start: float | None  # seconds after SIM_T0
    history: list[int]  # per minute, oldest first, ending the minute before SIM_T0
    arrivals: list[float] = field(default_factory=list)  # seconds after SIM_T0, sorted


def _series(seed: int, index: int, *, history_minutes: int, p: Any) -> Series:
    rng = random.Random(f"{seed}:spike-series:{index}")
    rate = math.exp(rng.uniform(math.log(p.spike_rate_low), math.log(p.spike_rate_high)))
    shape = p.spike_gamma_shape  # per-minute rate = rate x Gamma(shape, 1/shape): mean rate, CV 1/sqrt(shape)

    def minute_rate() -> float:
        return rate * rng.gammavariate(shape, 1 / shape)

    surge_start = None
    if rng.random() < p.spike_surge_share:
        surge_start = rng.uniform(p.spike_surge_earliest_min * 60, p.spike_surge_latest_min * 60)
    history = [poisson(rng, minute_rate()) for _ in range(history_minutes)]
    series = Series(tag=f"{TAG_PREFIX}{index:04d}", rate=rate, surge_start=surge_start, history=history)
    surge_end = None if surge_start is None else surge_start + p.spike_surge_minutes * 60
    for minute in range(p.spike_eval_minutes):
        lo, hi = minute * 60.0, minute * 60.0 + 60.0
        base = minute_rate()
        # Split the minute where a surge starts or ends: each part has its own rate.
        cuts = sorted({lo, hi, *(c for c in (surge_start, surge_end) if c is not None and lo < c < hi)})
        for start, end in itertools.pairwise(cuts):
            mid = (start + end) / 2
            surging = surge_start is not None and surge_end is not None and surge_start <= mid < surge_end
            lam = base * (p.spike_surge_factor if surging else 1.0) * (end - start) / 60.0
            series.arrivals.extend(rng.uniform(start, end) for _ in range(poisson(rng, lam)))
    series.arrivals.sort()
    return series


BUCKET_UPSERT = (
    "INSERT INTO incidents_mentionbucket (tag, sentiment, bucket_start, count) "
    "SELECT t, 'negative', b, c FROM unnest(%s::text[], %s::timestamptz[], %s::int[]) AS x(t, b, c) "
    "ON CONFLICT (tag, sentiment, bucket_start) DO UPDATE SET count = EXCLUDED.count"
)


def _remove_sim_rows(cur: Any) -> None:
    cur.execute("DELETE FROM incidents_mentionbucket WHERE tag LIKE %s", (TAG_PREFIX + "%",))


def spike_detection(ctx: Context) -> Outcome:
    from bisect import bisect_left

    from incidents.services.spikes import surges_find
    from protocols.services.spikes import spike_settings_load

    p = ctx.params
    config = spike_settings_load()
    width = config.bucket_minutes
    history_minutes = config.baseline_hours * 60 + width
    log(
        f"  spike_detection: {p.spike_series:,} series, {config.baseline_hours} h history, "
        f"{p.spike_eval_minutes} min watched every {p.spike_step_seconds} s; settings: factor "
        f"{config.factor:g}, minimum {config.minimum_count}, window {width} min"
    )
    started = time.time()
    series = [_series(ctx.seed, i, history_minutes=history_minutes, p=p) for i in range(p.spike_series)]
    by_tag = {s.tag: s for s in series}
    log(f"    generated in {time.time() - started:.1f}s; loading the history")
    with ctx.env.pg() as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            _remove_sim_rows(cur)
            buffer = io.StringIO()
            first = SIM_T0 - timedelta(minutes=history_minutes)
            for s in series:
                for m, n in enumerate(s.history):
                    if n:
                        minute_at = (first + timedelta(minutes=m)).isoformat()
                        buffer.write(f"{s.tag}\tnegative\t{minute_at}\t{n}\n")
            buffer.seek(0)
            cur.copy_expert(
                "COPY incidents_mentionbucket (tag, sentiment, bucket_start, count) FROM STDIN", buffer
            )
            cur.execute("ANALYZE incidents_mentionbucket")
            # (tag, window) -> (first seen, seconds after T0; the first window of the span that flagged)
            flags: dict[tuple[str, datetime], tuple[float, datetime]] = {}
            detector_seconds: list[float] = []
            steps = p.spike_eval_minutes * 60 // p.spike_step_seconds
            try:
                for step in range(1, steps + 1):
                    t = step * p.spike_step_seconds
                    minute = (t - 1) // 60  # the minute an arrival at t - epsilon falls in
                    tags, starts, counts = [], [], []
                    for m in sorted({minute, max(minute - 1, 0)}):  # the current minute, the one just ended
                        lo, hi = m * 60.0, min(float(t), m * 60.0 + 60.0)
                        for s in series:
                            n = bisect_left(s.arrivals, hi) - bisect_left(s.arrivals, lo)
                            if n:
                                tags.append(s.tag)
                                starts.append(SIM_T0 + timedelta(seconds=lo))
                                counts.append(n)
                    cur.execute(BUCKET_UPSERT, (tags, starts, counts))
                    now = SIM_T0 + timedelta(seconds=t)
                    run_started = time.perf_counter()
                    found = surges_find(now=now, config=config)
                    detector_seconds.append(time.perf_counter() - run_started)
                    for surge in found:
                        if surge.tag.startswith(TAG_PREFIX):
                            flags.setdefault((surge.tag, surge.window_start), (float(t), surge.span_start))
            finally:
                _remove_sim_rows(cur)
    return _detection_outcome(p, config, by_tag, flags, detector_seconds)


def _detection_outcome(
    p: Any,
    config: Any,
    by_tag: dict[str, Series],
    flags: dict[tuple[str, datetime], tuple[float, datetime]],
    detector_seconds: list[float],
) -> Outcome:
    width_s = config.bucket_minutes * 60
    surge_s = p.spike_surge_minutes * 60
    first_flag: dict[str, float] = {}
    false_alarms: list[dict[str, Any]] = []
    for (tag, window), (seen, span_start) in sorted(flags.items(), key=lambda item: item[1][0]):
        s = by_tag[tag]
        w0 = (span_start - SIM_T0).total_seconds()
        w1 = (window - SIM_T0).total_seconds() + width_s
        # A span that flagged after a surge ended but still holds some of its minutes is the surge.
        overlaps = s.surge_start is not None and w0 < s.surge_start + surge_s and w1 > s.surge_start
        if overlaps:
            first_flag.setdefault(tag, seen)
        else:
            false_alarms.append(
                {"tag": tag, "rate": round(s.rate, 1), "span_start_s": w0, "window_end_s": w1, "seen_s": seen}
            )
    injected = [s for s in by_tag.values() if s.surge_start is not None]
    detected = [s for s in injected if s.tag in first_flag]
    delays = [first_flag[s.tag] - float(s.surge_start or 0) for s in detected]
    within = sum(1 for d in delays if d <= width_s + p.spike_step_seconds)
    recall = len(detected) / len(injected) if injected else math.nan
    precision = len(detected) / (len(detected) + len(false_alarms)) if detected or false_alarms else math.nan
    quiet = [s for s in by_tag.values() if s.surge_start is None]
    quiet_alarmed = {a["tag"] for a in false_alarms if by_tag[a["tag"]].surge_start is None}
    quiet_hours = len(quiet) * p.spike_eval_minutes / 60
    quiet_false = sum(1 for a in false_alarms if by_tag[a["tag"]].surge_start is None)
    per_series_day = quiet_false / quiet_hours * 24 if quiet_hours else math.nan
    met = precision >= PRECISION_GOAL and recall >= RECALL_GOAL
    p50, p95 = percentile(delays, 0.5), percentile(delays, 0.95)
    line = (
        f"spike_detection  {len(by_tag):,} series, {len(injected)} 3x surges: recall {recall:.3f} "
        f"precision {precision:.3f} ({len(false_alarms)} false alarms, {per_series_day:.2f} per quiet "
        f"series-day); delay p50 {num(p50, 0)} s "
        f"p95 {num(p95, 0)} s max {num(max(delays) if delays else math.nan, 0)} s "
        f"({within / max(len(detected), 1):.0%} within one bucket + {p.spike_step_seconds} s); "
        f"detector run p50 {num(percentile(detector_seconds, 0.5) * 1000, 0)} ms  "
        f"goal precision and recall >= {PRECISION_GOAL}  {verdict(met)}"
    )
    return Outcome(
        "spike_detection",
        line,
        met,
        {
            "series": len(by_tag),
            "surges_injected": len(injected),
            "surges_detected": len(detected),
            "false_alarms": len(false_alarms),
            "false_alarm_examples": false_alarms[:20],
            "quiet_series_with_a_false_alarm": len(quiet_alarmed),
            "quiet_series": len(quiet),
            "false_alarms_on_quiet_series": quiet_false,
            "false_alarms_per_quiet_series_day": round(per_series_day, 3),
            "recall": round(recall, 4),
            "precision": round(precision, 4),
            "delay_s": {
                "p50": round(p50, 1),
                "p90": round(percentile(delays, 0.9), 1),
                "p95": round(p95, 1),
                "max": round(max(delays), 1) if delays else None,
                "within_one_bucket_plus_step": within,
            },
            "missed_examples": [
                {"tag": s.tag, "rate": round(s.rate, 1)} for s in injected if s.tag not in first_flag
            ][:20],
            "detector_run": latency_ms(detector_seconds),
            "settings": {
                "bucket_minutes": config.bucket_minutes,
                "baseline_hours": config.baseline_hours,
                "minimum_count": config.minimum_count,
                "factor": config.factor,
                "quiet_floor_per_minute": config.quiet_floor_per_minute,
            },
            "model": {
                "rate_per_minute": [p.spike_rate_low, p.spike_rate_high],
                "gamma_shape": p.spike_gamma_shape,
                "surge_factor": p.spike_surge_factor,
                "surge_minutes": p.spike_surge_minutes,
                "surge_share": p.spike_surge_share,
                "eval_minutes": p.spike_eval_minutes,
                "step_seconds": p.spike_step_seconds,
            },
            "goal": {"precision_at_least": PRECISION_GOAL, "recall_at_least": RECALL_GOAL},
        },
    )
