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
