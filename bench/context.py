"""What every benchmark needs: the run's parameters and the handles prepared once per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.env import BenchEnv


@dataclass
class Params:
    """Durations are in seconds; every loop is also capped by a count."""

    quick: bool = False
    workers: int = 3
    worker_class: str = "sync"
    threads: int = 4  # gthread only
    batch_size: int = 500
    # batch ingestion, in process
    inproc_duration: float = 15.0
    inproc_max_batches: int = 400
    # batch ingestion over HTTP
    http_batch_clients: int = 3
    http_batch_duration: float = 15.0
    http_max_batches_per_client: int = 160
    # COPY floors replay the app arm's batches (then copies with new ids) for at least this long
    floor_min_seconds: float = 5.0
    # single mention POST over HTTP
    single_concurrency: int = 4
    single_duration: float = 15.0
    single_warmup: float = 2.0
    # queue page, in process
    queue_duration: float = 8.0
    queue_min_iterations: int = 50
    queue_max_iterations: int = 3000
    queue_page_size: int = 50
    queue_deep_page: int = 2000
    # profile of the in-process ingestion
    profile_batches: int = 20
    profile_singles: int = 300
    profile_pages: int = 100
    # SLA engine (bench/sla.py): one Celery worker process, beat, clocks over the open incidents
    sla_pool: str = "prefork"
    sla_concurrency: int = 1
    sla_open_clocks: int = 250_000  # capped at the dataset's open incidents (one clock each)
    sla_rates: tuple[tuple[int, float], ...] = ((300, 60.0), (1000, 30.0))  # (deadlines/s, seconds)
    sla_alone_rates: tuple[tuple[int, float], ...] = ((1000, 30.0),)  # SLA worker without deliveries
    sla_max_wait: float = 120.0  # after the last deadline, for the firings still to come
    sla_backlog: int = 100_000
    sla_outage_seconds: float = 600.0
    sla_tick_iterations: int = 3000
    sla_tick_seconds: float = 20.0
    sla_memory_small: int = 10_000
    sla_memory_firing: int = 200  # deadlines that fire in both memory runs, so both ran the sweep
    sla_memory_ticks: int = 10  # ticks after those fired before memory is read
    # spike detection (bench/spikes.py)
    spike_counting_duration: float = 20.0
    spike_counting_max_batches: int = 200
    spike_series: int = 2000
    spike_rate_low: float = 5.0  # negative mentions per minute, log-uniform between low and high
    spike_rate_high: float = 60.0
    spike_gamma_shape: float = 25.0  # per-minute rate noise: CV 1/sqrt(shape) on top of Poisson
    spike_surge_share: float = 0.5
    spike_surge_factor: float = 3.0
    spike_surge_minutes: int = 10
    spike_surge_earliest_min: float = 5.0  # surge starts, minutes into the watched stretch
    spike_surge_latest_min: float = 18.0
    spike_eval_minutes: int = 30
    spike_step_seconds: int = 10  # the detector's beat interval
    # reports dashboard (bench/reports.py)
    reports_duration: float = 20.0
    reports_max_iterations: int = 200

    @classmethod
    def quick_preset(cls) -> Params:
        return cls(
            quick=True,
            inproc_duration=3.0,
            inproc_max_batches=40,
            http_batch_duration=4.0,
            http_max_batches_per_client=30,
            floor_min_seconds=1.5,
            single_duration=4.0,
            single_warmup=1.0,
            queue_duration=2.0,
            queue_min_iterations=20,
            queue_max_iterations=500,
            profile_batches=6,
            profile_singles=100,
            profile_pages=30,
            sla_rates=((300, 4.0), (1000, 2.0)),
            sla_alone_rates=((1000, 2.0),),
            sla_max_wait=30.0,
            sla_backlog=1_500,
            sla_outage_seconds=120.0,
            sla_tick_iterations=300,
            sla_tick_seconds=3.0,
            sla_memory_small=500,
            sla_memory_firing=20,
            sla_memory_ticks=2,
            spike_counting_duration=4.0,
            spike_counting_max_batches=30,
            spike_series=200,
            reports_duration=3.0,
        )


@dataclass
class Context:
    env: BenchEnv
    params: Params
    dataset: dict[str, Any]
    run_id: str
    seed: int
    now: float
    token: str
    results_dir: Path
    open_threads: list[tuple[str, str]] = field(default_factory=list)
    incident_ids: list[int] = field(default_factory=list)

    @property
    def author_pool(self) -> int:
        return int(self.dataset.get("author_pool", 1000))
