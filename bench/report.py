"""Figures: percentiles, the one-line verdict each benchmark prints, and the JSON results file."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import ClientResult


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_ms(values: Sequence[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 3),
        "p90_ms": round(percentile(values, 0.90) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
        "mean_ms": round(sum(values) / len(values) * 1000, 3),
    }


def concurrent_figures(results: list[ClientResult]) -> dict[str, Any]:
    """Throughput of clients that ran side by side: everything measured over the shared window."""
    starts = [r.window_start for r in results if r.measured]
    ends = [r.window_end for r in results if r.measured]
    window = (max(ends) - min(starts)) if starts and ends else 0.0
    items = sum(r.items for r in results)
    requests = sum(r.measured for r in results)
    latencies = [x for r in results for x in r.latencies]
    outcomes: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for r in results:
        for key, value in r.outcomes.items():
            outcomes[key] = outcomes.get(key, 0) + value
        for key, value in r.statuses.items():
            statuses[key] = statuses.get(key, 0) + value
    return {
        "clients": len(results),
        "window_s": round(window, 3),
        "requests": requests,
        "items": items,
        "items_per_s": round(items / window, 1) if window > 0 else 0.0,
        "requests_per_s": round(requests / window, 1) if window > 0 else 0.0,
        "latency": latency_ms(latencies),
        "statuses": statuses,
        "outcomes": outcomes,
        "warmup_requests": sum(r.warmup_count for r in results),
        "errors": [e for r in results for e in r.errors][:20],
        "error_count": sum(len(r.errors) for r in results),
    }


def num(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


@dataclass
class Outcome:
    name: str
    line: str
    met: bool | None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.line, "goal_met": self.met, **self.data}


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("OK" if met else "MISS")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
