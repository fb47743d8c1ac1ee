"""Spike detection: compares each product tag's negative mentions in the latest window with a robust
baseline of its own recent history, and opens or updates one "Surge: <tag>" incident per tag."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction

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
from protocols.models import Priority, Role, Sentiment, SpikeSettings
from protocols.services.spikes import spike_settings_load

SURGE_PREFIX = "surge:"
ACTOR_LABEL = "spike detection"
EXAMPLES = 5
# The noise band: a window must also stand this many robust standard deviations (1.4826 x MAD, the
# normal-consistent scale) above the median, so a naturally bursty series does not flag on its bursts.
NOISE_SIGMAS = 4.0
MAD_SCALE = 1.4826
RENOTIFY_AFTER = timedelta(minutes=15)
NOTIFIED_ROLES = (Role.PR, Role.MANAGER)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Surge:
    tag: str
    window_start: datetime
    count: int
    rate_per_minute: float
    baseline_per_minute: float
    threshold: float


def surge_thread_key(tag: str) -> str:
    return SURGE_PREFIX + tag


def _window_start(now: datetime, minutes: int) -> datetime:
    """The start of the window of `minutes` that contains `now` (windows are aligned to whole minutes)."""
    elapsed = int((now - _EPOCH).total_seconds() // 60)
    return _EPOCH + timedelta(minutes=elapsed - elapsed % minutes)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def surge_threshold(*, per_minute: list[int], width: int, config: SpikeSettings) -> tuple[float, float]:
    """(baseline rate per minute, the count a window of `width` minutes must reach). The baseline is the
    median minute (missing minutes are zeros), never below the quiet floor (at least 1 per minute); the
    window must reach `factor` times it, `minimum_count`, and the MAD-based noise band above the median."""
    median = _median([float(v) for v in per_minute])
    mad = _median([abs(v - median) for v in per_minute])
    baseline = max(median, config.quiet_floor_per_minute, 1.0)
    noise = NOISE_SIGMAS * MAD_SCALE * mad * math.sqrt(width)
    threshold = max(config.factor * baseline * width, median * width + noise, float(config.minimum_count))
    return baseline, threshold


def surges_find(*, now: datetime, config: SpikeSettings) -> list[Surge]:
    """Reads only the buckets table: the tags with negative mentions in the in-progress or the last
    complete window, then those tags' negative minutes over the baseline window before them."""
    width = config.bucket_minutes
    current_start = _window_start(now, width)
    complete_start = current_start - timedelta(minutes=width)
    baseline_start = complete_start - timedelta(hours=config.baseline_hours)
    negative = MentionBucket.objects.filter(sentiment=Sentiment.NEGATIVE)
    recent: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for tag, start, count in negative.filter(
        bucket_start__gte=complete_start, bucket_start__lte=now
    ).values_list("tag", "bucket_start", "count"):
        recent[tag][current_start if start >= current_start else complete_start] += count
    if not recent:
        return []
    history: dict[str, dict[datetime, int]] = defaultdict(dict)
    for tag, start, count in negative.filter(
        tag__in=list(recent), bucket_start__gte=baseline_start, bucket_start__lt=complete_start
    ).values_list("tag", "bucket_start", "count"):
        history[tag][start] = count
    minutes = config.baseline_hours * 60
    surges = []
    for tag, windows in sorted(recent.items()):
        counts = list(history[tag].values())
        per_minute = counts + [0] * (minutes - len(counts))
        baseline, threshold = surge_threshold(per_minute=per_minute, width=width, config=config)
        # The fuller of the two windows speaks; the in-progress one lets a surge flag before its minute ends.
        window_start, count = max(windows.items(), key=lambda item: (item[1], item[0]))
        if count >= threshold:
            surges.append(
                Surge(
                    tag=tag,
                    window_start=window_start,
                    count=count,
                    rate_per_minute=round(count / width, 2),
                    baseline_per_minute=round(baseline, 2),
                    threshold=round(threshold, 2),
                )
            )
    return surges


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
    mention_ids = _examples(surge.tag, surge.window_start - timedelta(minutes=10))
    event = TimelineEvent.objects.create(
        incident=incident,
        kind=EventKind.SURGE_DETECTED,
        actor_label=ACTOR_LABEL,
        after={
            "tag": surge.tag,
            "window_start": window,
            "count": surge.count,
            "rate_per_minute": surge.rate_per_minute,
            "baseline_per_minute": surge.baseline_per_minute,
            "factor": factor,
            "threshold": surge.threshold,
            "mention_ids": mention_ids,
            "notified": notify,
        },
        note=(
            f"{surge.tag}: {surge.rate_per_minute:g} negative mentions/min against a baseline of "
            f"{surge.baseline_per_minute:g}/min (flag at {factor:g}x); examples: "
            + (", ".join(f"#{pk}" for pk in mention_ids) or "none")
        ),
        created_at=now,
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
