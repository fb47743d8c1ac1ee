"""Spike detection: intake counts mentions per product and minute, the detector flags a surge of
negative ones against the tag's own robust baseline, and a surge opens one incident that PR and managers
hear about once."""

from __future__ import annotations

import math
import random
import statistics
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.models import EventKind, Incident, MentionBucket, Notification
from incidents.services.ingestion import mentions_ingest
from incidents.services.spikes import baseline_of, spikes_detect
from incidents.tasks import spikes_detect as spikes_detect_task
from tests.factories import mention_payload
from tests.sla import T0, at

pytestmark = pytest.mark.django_db
TAG = "kettle"


def fill(start: datetime, counts: list[int], *, tag: str = TAG, sentiment: str = "negative") -> None:
    """Per-minute counts from `start` straight into the buckets table (zeros are left out, as intake does)."""
    MentionBucket.objects.bulk_create(
        MentionBucket(tag=tag, sentiment=sentiment, bucket_start=start + timedelta(minutes=i), count=n)
        for i, n in enumerate(counts)
        if n
    )


def add(minute: datetime, n: int, *, tag: str = TAG) -> None:
    bucket, _ = MentionBucket.objects.get_or_create(tag=tag, sentiment="negative", bucket_start=minute)
    MentionBucket.objects.filter(pk=bucket.pk).update(count=bucket.count + n)


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: deterministic for a seeded generator."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def surges() -> Any:
    return Incident.objects.filter(thread_key__startswith="surge:")


def test_a_threefold_surge_is_flagged_within_one_bucket_and_ten_seconds() -> None:
    rng = random.Random(5)
    fill(T0 - timedelta(hours=6), [poisson(rng, 6.0) for _ in range(6 * 60)])
    with at(T0 - timedelta(seconds=5)):
        assert spikes_detect_task() == 0
    flagged_at = None
    # 18 a minute (three times the usual 6) arriving from T0; beat runs the detector every 10 seconds.
    for tick in range(0, 80, 10):
        if tick < 60:
            add(T0, 3)
        else:
            add(T0 + timedelta(minutes=1), 3)
        with at(T0 + timedelta(seconds=tick, milliseconds=500)):
            spikes_detect_task()
        if surges().exists():
            flagged_at = tick
            break
    assert flagged_at is not None and flagged_at <= 70
    incident = surges().get()
    assert incident.title == f"Surge: {TAG}" and incident.priority == "high"
    event = incident.timeline.get(kind=EventKind.SURGE_DETECTED)
    assert event.after["tag"] == TAG and event.after["baseline_per_minute"] == 6.0
    assert event.after["rate_per_minute"] >= 18 and event.after["factor"] == 3.0


def test_a_surge_no_single_minute_shows_is_flagged_once_two_minutes_make_it_clear() -> None:
    fill(T0 - timedelta(hours=6), [5] * (6 * 60))  # a steady product: 5 a minute
    fill(T0, [13])  # 2.6 times: one minute alone is not enough ...
    assert spikes_detect(now=T0 + timedelta(seconds=59)) == 0
    fill(T0 + timedelta(minutes=1), [13])  # ... but two such minutes in a row are
    assert spikes_detect(now=T0 + timedelta(minutes=1, seconds=59)) == 1
    event = surges().get().timeline.get(kind=EventKind.SURGE_DETECTED)
    assert event.after["span_minutes"] == 2 and event.after["count"] == 26
    assert event.after["rate_per_minute"] == 13.0 and "over 2 min" in event.note


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_baseline_is_the_median_and_mad_of_every_minute_zeros_included(seed: int) -> None:
    rng = random.Random(seed)
    minutes = [rng.choice([0, 0, 1, 2, 3, 5, 8, 13]) for _ in range(rng.randint(5, 400))]
    histogram: dict[int, int] = {}
    for n in minutes:
        if n:  # intake stores no row for a minute without mentions
            histogram[n] = histogram.get(n, 0) + 1
    median = statistics.median(minutes)
    baseline = baseline_of(histogram, minutes=len(minutes))
    assert baseline.median == median
    assert baseline.mad == statistics.median(abs(n - median) for n in minutes)


def test_a_week_of_noise_around_six_a_minute_never_flags() -> None:
    rng = random.Random(20261116)
    start = T0 - timedelta(hours=6)
    minutes = 7 * 24 * 60 + 6 * 60
    fill(start, [poisson(rng, 6.0) for _ in range(minutes)])
    for step in range(0, 7 * 24 * 60, 29):  # every 29 minutes: every time of day, every weekday
        for seconds in (5, 55):
            assert spikes_detect(now=T0 + timedelta(minutes=step, seconds=seconds)) == 0
    assert not surges().exists()


def test_a_quiet_product_does_not_flag_on_a_burst_of_three() -> None:
    rng = random.Random(7)
    fill(T0 - timedelta(hours=6), [rng.choice((0, 0, 0, 1)) for _ in range(6 * 60)])
    fill(T0, [3])
    assert spikes_detect(now=T0 + timedelta(seconds=30)) == 0
    assert spikes_detect(now=T0 + timedelta(seconds=70)) == 0
    assert not surges().exists()
    # The same product with a real burst (the minimum of 5, well over 3x the floor) does flag.
    fill(T0 + timedelta(minutes=2), [6])
    assert spikes_detect(now=T0 + timedelta(minutes=2, seconds=30)) == 1


def ingest_negative(n: int, posted_at: datetime, *, first: int, actor: Any) -> list[int]:
    items = [
        mention_payload(
            first + i,
            text=f"The {TAG} broke after a day, awful",
            sentiment="negative",
            products=[TAG],
            posted_at=posted_at.isoformat(),
        )
        for i in range(n)
    ]
    results = mentions_ingest(items=items, actor=actor, actor_label="api:bridge")
    return [r.mention_id for r in results if r.mention_id is not None]


def test_a_surge_opens_one_incident_updates_it_and_notifies_pr_and_managers_once(
    pr_user: Any, manager: Any, responder: Any, integration: Any
) -> None:
    fill(T0 - timedelta(hours=6), [6] * (6 * 60))
    with at(T0 + timedelta(seconds=30)):
        mention_ids = ingest_negative(20, T0 + timedelta(seconds=20), first=1, actor=integration)
        assert spikes_detect_task() == 1
        assert spikes_detect_task() == 0  # same window, same incident: nothing new
    with at(T0 + timedelta(seconds=65)):
        assert spikes_detect_task() == 0  # the window is now complete, but already on record
    for minute in (1, 2, 5):
        fill(T0 + timedelta(minutes=minute), [20])
        with at(T0 + timedelta(minutes=minute, seconds=40)):
            assert spikes_detect_task() == 1
    incident = surges().get()
    assert incident.thread_key == f"surge:{TAG}" and incident.priority == "high"
    detections = list(incident.timeline.filter(kind=EventKind.SURGE_DETECTED))
    assert len(detections) == 4
    assert set(detections[0].after["mention_ids"]) <= set(mention_ids) and detections[0].after["mention_ids"]
    assert [d.after["notified"] for d in detections] == [True, False, False, False]

    def told(user: Any) -> int:
        return Notification.objects.filter(recipient=user, channel="in_app", kind="surge").count()

    assert (told(pr_user), told(manager), told(responder)) == (1, 1, 0)
    # A surge still going 15 minutes after the last notice is worth telling again.
    fill(T0 + timedelta(minutes=16), [20])
    with at(T0 + timedelta(minutes=16, seconds=40)):
        assert spikes_detect_task() == 1
    assert (told(pr_user), told(manager)) == (2, 2)
    assert surges().count() == 1

    client = Client()
    client.force_login(pr_user)
    with at(T0 + timedelta(minutes=17)):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "<svg" in page and 'class="negative"' in page
    assert f'id="surge-mention-{detections[0].after["mention_ids"][0]}"' in page
    # Read the next day, the chart still shows the surge, not the quiet hours before the reader came.
    with at(T0 + timedelta(days=1)):
        later = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f"{T0 + timedelta(minutes=16):%H:%M} UTC: 20 negative of 20" in later


def test_intake_counts_each_batch_in_one_statement(integration: Any) -> None:
    minute = T0.replace(second=0)

    def batch(first: int, products: list[list[str]]) -> list[dict[str, Any]]:
        return [
            mention_payload(
                first + i,
                sentiment="negative" if i % 2 == 0 else "positive",
                products=p,
                posted_at=(minute + timedelta(seconds=25 * i)).isoformat(),
            )
            for i, p in enumerate(products)
        ]

    # The first batch on a connection prepares its statements; measure the ones after it.
    mentions_ingest(items=batch(100, [["warmup"]]), actor=integration, actor_label="api")
    shape: list[list[str]] = [[], [], [], [], []]
    with CaptureQueriesContext(connection) as without:
        mentions_ingest(items=batch(200, shape), actor=integration, actor_label="api")
    products = [["kettle"], ["kettle", "toaster"], [], ["kettle", "kettle"], ["toaster"]]
    with CaptureQueriesContext(connection) as with_products:
        mentions_ingest(items=batch(300, products), actor=integration, actor_label="api")
    assert len(with_products) == len(without) + 1
    assert sum("fb_ingest_buckets" in q["sql"] for q in with_products.captured_queries) == 1

    counts = {
        (b.tag, b.sentiment, b.bucket_start): b.count for b in MentionBucket.objects.exclude(tag="warmup")
    }
    # Posted 0, 25, 50, 75, 100 s after the minute; negative at even positions.
    second = minute + timedelta(minutes=1)
    assert counts == {
        ("kettle", "negative", minute): 1,
        ("kettle", "positive", minute): 1,
        ("toaster", "positive", minute): 1,
        ("kettle", "positive", second): 1,
        ("toaster", "negative", second): 1,
    }
    # A mention sent again is a duplicate and is not counted twice.
    mentions_ingest(items=batch(300, products), actor=integration, actor_label="api")
    assert MentionBucket.objects.get(tag="kettle", sentiment="negative", bucket_start=minute).count == 1
