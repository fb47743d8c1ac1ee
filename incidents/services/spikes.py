"""Spike detection: compares each product tag's negative mentions in the latest window with a robust
baseline of its own recent history, and opens or updates one "Surge: <tag>" incident per tag."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count

from incidents.models import (
    IS_OPEN,
    EventKind,
    Incident,
    IncidentStatus,
    Mention,
    MentionBucket,
    TimelineEvent,
)
from incidents.services import clocks
from incidents.services.incidents import incident_refresh_search
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Message, drafts_for
from incidents.services.sweeper import incident_link
from incidents.services.webhooks import webhook_event_emit
from protocols.models import Priority, Role, Sentiment, SpikeSettings
from protocols.services.spikes import spike_settings_load

SURGE_PREFIX = "surge:"
ACTOR_LABEL = "spike detection"
EXAMPLES = 5
# Spans of 1, 2 and 3 windows are tested, each with the noise band it must clear (in standard deviations
# above the median: the robust deviation, 1.4826 x MAD, but never below Poisson's sqrt(median), since a
# steady series has a MAD of 0). One window must reach `factor` times the baseline and catches a big
# surge within seconds; two or three windows together need only be likelier at `factor` than at the
# baseline, which catches a persistent surge that one window's count cannot tell from noise. The
# figures were tuned with `make bench BENCH_ARGS="--only spike_detection"` (bench/spikes.py).
SPAN_SIGMAS = {1: 4.0, 2: 5.0, 3: 4.5}
SPANS = tuple(SPAN_SIGMAS)
MAD_SCALE = 1.4826
RENOTIFY_AFTER = timedelta(minutes=15)
NOTIFIED_ROLES = (Role.PR, Role.MANAGER)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Surge:
    tag: str
    window_start: datetime  # the last window of the span that flagged: a surge is recorded once per window
    span_start: datetime  # the first window of that span
    span_minutes: int
    count: int
    rate_per_minute: float
    baseline_per_minute: float
    threshold: float


@dataclass(frozen=True)
class Baseline:
    """A tag's per-minute history as median and MAD (missing minutes count as zeros)."""

    median: float
    mad: float


def surge_thread_key(tag: str) -> str:
    return SURGE_PREFIX + tag


def _window_start(now: datetime, minutes: int) -> datetime:
    """The start of the window of `minutes` that contains `now` (windows are aligned to whole minutes)."""
    elapsed = int((now - _EPOCH).total_seconds() // 60)
    return _EPOCH + timedelta(minutes=elapsed - elapsed % minutes)


def _weighted_median(histogram: dict[float, int]) -> float:
    """The median of a multiset given as {value: how many}, averaging the two middle values when even."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    seen, lower = 0, None
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            return (float(lower if lower is not None else value) + float(value)) / 2
    raise AssertionError("unreachable: the ranks are below the total")


def baseline_of(histogram: dict[int, int], *, minutes: int) -> Baseline:
    """Median and MAD of `minutes` per-minute counts, given only the minutes that had any (as
    {count: minutes with it}); the rest were zeros."""
    full: dict[float, int] = {float(k): v for k, v in histogram.items() if k}
    zeros = minutes - sum(full.values())
    if zeros > 0:
        full[0.0] = full.get(0.0, 0) + zeros
    median = _weighted_median(full)
    deviations: dict[float, int] = defaultdict(int)
    for value, n in full.items():
        deviations[abs(value - median)] += n
    return Baseline(median=median, mad=_weighted_median(deviations))


def likelihood_point(factor: float) -> float:
    """From this multiple of the baseline on, a Poisson count is likelier to come from `factor` times
    the baseline than from the baseline: (factor - 1) / ln(factor)."""
    return (factor - 1) / math.log(factor) if factor > 1 else 1.0


def surge_threshold(
    *, baseline: Baseline, width: int, span: int, config: SpikeSettings
) -> tuple[float, float]:
    """(baseline rate per minute, the count `span` windows of `width` minutes must reach together).

    The baseline rate is the median minute, never below the quiet floor (at least 1 per minute). The
    count must reach `minimum_count`, the span's noise band above the median, and `factor` times the
    baseline (one window) or the point from which it is likelier to come from `factor` times the
    baseline than from the baseline itself (longer spans; 1.82x for 3x)."""
    minutes = width * span
    baseline_rate = max(baseline.median, config.quiet_floor_per_minute, 1.0)
    factor = config.factor
    likelier = baseline_rate * (factor if span == 1 else likelihood_point(factor))
    sigma = max(MAD_SCALE * baseline.mad, math.sqrt(baseline_rate))
    noise = SPAN_SIGMAS[span] * sigma * math.sqrt(minutes)
    threshold = max(likelier * minutes, baseline.median * minutes + noise, float(config.minimum_count))
    return baseline_rate, threshold


def _histograms(tags: list[str], since: datetime, until: datetime) -> dict[str, dict[int, int]]:
    """{tag: {count: minutes with that count}} of negative mentions over [since, until): PostgreSQL
    groups the minutes, so the detector reads a few dozen rows per tag, not one per minute."""
    rows = (
        MentionBucket.objects.filter(
            tag__in=tags, sentiment=Sentiment.NEGATIVE, bucket_start__gte=since, bucket_start__lt=until
        )
        .values_list("tag", "count")
        .annotate(minutes=Count("id"))
        .order_by()
    )
    histograms: dict[str, dict[int, int]] = defaultdict(dict)
    for tag, count, minutes in rows:
        histograms[tag][count] = minutes
    return histograms


def surges_find(*, now: datetime, config: SpikeSettings) -> list[Surge]:
    """Reads only the buckets table: the tags with negative mentions in the last few windows, then
    those tags' baselines over the trailing hours before them. Each tag is tested on spans of 1 to 3
    windows ending with the in-progress window (so a surge flags before its minute ends) and with the
    last complete one; the span ending latest that flags speaks for the tag."""
    width = config.bucket_minutes
    current_start = _window_start(now, width)
    oldest = current_start - timedelta(minutes=width * max(SPANS))
    baseline_start = oldest - timedelta(hours=config.baseline_hours)
    recent: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for tag, start, count in MentionBucket.objects.filter(
        sentiment=Sentiment.NEGATIVE, bucket_start__gte=oldest, bucket_start__lte=now
    ).values_list("tag", "bucket_start", "count"):
        recent[tag][_window_start(start, width)] += count
    if not recent:
        return []
    histograms = _histograms(list(recent), baseline_start, oldest)
    minutes = config.baseline_hours * 60
    surges = []
    for tag, windows in sorted(recent.items()):
        baseline = baseline_of(histograms.get(tag, {}), minutes=minutes)
        surge = surge_of(
            tag=tag, windows=windows, baseline=baseline, current_start=current_start, config=config
        )
        if surge is not None:
            surges.append(surge)
    return surges


def surge_of(
    *,
    tag: str,
    windows: dict[datetime, int],
    baseline: Baseline,
    current_start: datetime,
    config: SpikeSettings,
) -> Surge | None:
    """The decision for one tag, from its negative counts per window start: of the spans that reach
    their threshold, the one ending latest, then the one furthest over it."""
    width = config.bucket_minutes
    window = timedelta(minutes=width)
    best: tuple[datetime, float, Surge] | None = None
    for end in (current_start, current_start - window):
        for span in SPANS:
            count = sum(windows.get(end - window * i, 0) for i in range(span))
            rate, threshold = surge_threshold(baseline=baseline, width=width, span=span, config=config)
            if count < threshold:
                continue
            surge = Surge(
                tag=tag,
                window_start=end,
                span_start=end - window * (span - 1),
                span_minutes=width * span,
                count=count,
                rate_per_minute=round(count / (width * span), 2),
                baseline_per_minute=round(rate, 2),
                threshold=round(threshold, 2),
            )
            if best is None or (end, count / threshold) > best[:2]:
                best = (end, count / threshold, surge)
    return best[2] if best is not None else None


def spikes_detect(*, now: datetime) -> int:
    """One detector run: opens or updates the surge incident of each flagged tag. Safe to run twice or
    concurrently: a tag's window is recorded once, and notifications at most once per 15 minutes."""
    config = spike_settings_load()
    recorded = 0
    for surge in surges_find(now=now, config=config):
        recorded += surge_record(surge=surge, factor=config.factor, now=now)
    return recorded


def _examples(tag: str, since: datetime) -> list[int]:
    return list(
        Mention.objects.filter(products__contains=[tag], sentiment=Sentiment.NEGATIVE, posted_at__gte=since)
        .order_by("-posted_at", "-id")
        .values_list("pk", flat=True)[:EXAMPLES]
    )


def _open_incident(tag: str, now: datetime) -> tuple[Incident, bool]:
    """The open surge incident of the tag, created if there is none; the partial unique constraint on
    open surge thread keys turns a concurrent second creation into finding the first."""
    key = surge_thread_key(tag)
    existing = Incident.objects.filter(IS_OPEN, thread_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=f"Surge: {tag}"[:200],
                description=f"Negative mentions about {tag} are arriving far faster than usual.",
                priority=Priority.HIGH,
                status=IncidentStatus.NEW,
                assigned_role=Role.PR,
                tags=["surge"],
                products=[tag],
                thread_key=key,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return Incident.objects.get(IS_OPEN, thread_key=key), False
    incident_refresh_search(incident.pk)
    clocks.clocks_start(incident=incident, now=now)
    TimelineEvent.objects.create(
        incident=incident,
        kind=EventKind.CREATED,
        actor_label=ACTOR_LABEL,
        after={"title": incident.title, "priority": incident.priority, "tag": tag},
        note=f"Opened by spike detection for {tag}",
        created_at=now,
    )
    webhook_event_emit(event="incident.created", data={}, incident_id=incident.pk)
    return incident, True


@transaction.atomic
def surge_record(*, surge: Surge, factor: float, now: datetime) -> int:
    """Records one flagged window on the tag's surge incident; returns 1 if an event was appended."""
    incident, created = _open_incident(surge.tag, now)
    events = TimelineEvent.objects.filter(incident=incident, kind=EventKind.SURGE_DETECTED)
    window = surge.window_start.isoformat()
    if events.filter(after__window_start=window).exists():
        return 0  # this window is on record already (a re-run, or the in-progress window now complete)
    # Compare-and-set on updated_at: of two detectors recording the same tag at once, one writes.
    if (
        not created
        and Incident.objects.filter(pk=incident.pk, updated_at=incident.updated_at).update(updated_at=now)
        != 1
    ):
        return 0
    last_notified = events.filter(after__notified=True).order_by("-created_at", "-id").first()
    notify = last_notified is None or now - last_notified.created_at >= RENOTIFY_AFTER
    mention_ids = _examples(surge.tag, surge.span_start - timedelta(minutes=10))
    event = TimelineEvent.objects.create(
        incident=incident,
        kind=EventKind.SURGE_DETECTED,
        actor_label=ACTOR_LABEL,
        after={
            "tag": surge.tag,
            "window_start": window,
            "span_start": surge.span_start.isoformat(),
            "span_minutes": surge.span_minutes,
            "count": surge.count,
            "rate_per_minute": surge.rate_per_minute,
            "baseline_per_minute": surge.baseline_per_minute,
            "factor": factor,
            "threshold": surge.threshold,
            "mention_ids": mention_ids,
            "notified": notify,
        },
        note=(
            f"{surge.tag}: {surge.rate_per_minute:g} negative mentions/min over {surge.span_minutes} min "
            f"against a baseline of {surge.baseline_per_minute:g}/min (flag at {factor:g}x); examples: "
            + (", ".join(f"#{pk}" for pk in mention_ids) or "none")
        ),
        created_at=now,
    )
    webhook_event_emit(
        event="surge.detected",
        data={
            "tag": surge.tag,
            "window_start": surge.window_start,
            "span_minutes": surge.span_minutes,
            "count": surge.count,
            "rate_per_minute": surge.rate_per_minute,
            "baseline_per_minute": surge.baseline_per_minute,
            "factor": factor,
            "example_mention_ids": mention_ids,
        },
        incident_id=incident.pk,
    )
    if notify:
        notifications_enqueue(
            items=drafts_for(
                [
                    Message(
                        key=f"surge:{incident.pk}:{event.pk}",
                        kind="surge",
                        subject=f"Surge: {surge.tag} at {surge.rate_per_minute:g}/min "
                        f"(usually {surge.baseline_per_minute:g}/min)",
                        body=event.note,
                        link=incident_link(incident.pk),
                        incident_id=incident.pk,
                        roles=list(NOTIFIED_ROLES),
                    )
                ]
            )
        )
    return 1
