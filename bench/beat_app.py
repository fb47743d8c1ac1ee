"""The Celery app `celery beat` runs under in the SLA benchmarks: the app's own (config.celery) with its
own schedule, minus the entries that would change the dataset (auto-closing resolved incidents).

With BENCH_SLA_QUEUE set, the SLA entries (tick and audit) are sent to that queue instead of the
default one, so a worker started with `-Q <queue>` runs nothing else (the bench's "own queue" arm)."""

import os

from config.celery import app

# close-resolved-incidents would close dataset incidents resolved more than a week before the run.
EXCLUDED = ("close-resolved-incidents",)
SLA_ENTRIES = ("sla-tick", "sla-audit")

_queue = os.environ.get("BENCH_SLA_QUEUE", "")
_schedule = {}
for _name, _entry in app.conf.beat_schedule.items():
    if _name in EXCLUDED:
        continue
    if _queue and _name in SLA_ENTRIES:
        _entry = {**_entry, "options": {**_entry.get("options", {}), "queue": _queue}}
    _schedule[_name] = _entry
app.conf.beat_schedule = _schedule

__all__ = ["app"]
