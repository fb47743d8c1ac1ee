"""Reading a surge incident's evidence: the tag's per-minute volume around it (negative and all, from
the buckets table) and the example mentions its detections linked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum

from incidents.models import EventKind, Mention, MentionBucket, TimelineEvent
from incidents.services.spikes import SURGE_PREFIX
from protocols.models import Sentiment

CHART_MINUTES = 120
# The chart is drawn around the surge, not around the moment the page is read: the two hours that end
# half an hour after the latest detection (or now, if that is sooner).
CHART_AFTER = timedelta(minutes=30)
EXAMPLES_SHOWN = 20


@dataclass(frozen=True)
class MinuteVolume:
    start: datetime
    total: int
    negative: int


@dataclass(frozen=True)
class SurgeEvidence:
    tag: str
    minutes: list[MinuteVolume]
    latest: dict[str, object]
    examples: list[Mention]


def surge_tag_of(thread_key: str) -> str | None:
    return thread_key[len(SURGE_PREFIX) :] if thread_key.startswith(SURGE_PREFIX) else None


def tag_volume(*, tag: str, until: datetime, minutes: int = CHART_MINUTES) -> list[MinuteVolume]:
    """The `minutes` whole minutes ending with the one containing `until`, missing ones as zeros."""
    last = until.replace(second=0, microsecond=0)
    first = last - timedelta(minutes=minutes - 1)
    totals: dict[datetime, int] = {}
    negatives: dict[datetime, int] = {}
    rows = (
        MentionBucket.objects.filter(tag=tag, bucket_start__gte=first, bucket_start__lte=last)
        .values_list("bucket_start", "sentiment")
        .annotate(n=Sum("count"))
    )
    for start, sentiment, n in rows:
        totals[start] = totals.get(start, 0) + n
        if sentiment == Sentiment.NEGATIVE:
            negatives[start] = n
    moments = [first + timedelta(minutes=i) for i in range(minutes)]
    return [MinuteVolume(start=m, total=totals.get(m, 0), negative=negatives.get(m, 0)) for m in moments]


def surge_evidence(
    *, thread_key: str, events: Sequence[TimelineEvent], now: datetime
) -> SurgeEvidence | None:
    """For a surge incident: its volume chart data, its latest detection and the mentions linked."""
    tag = surge_tag_of(thread_key)
    if tag is None:
        return None
    detections = [e for e in events if e.kind == EventKind.SURGE_DETECTED]
    latest = detections[-1].after if detections else {}
    # Every mention any detection linked, newest first: a late update may find no fresh examples.
    ids = {int(pk) for event in detections for pk in event.after.get("mention_ids", [])}
    examples = (
        list(Mention.objects.filter(pk__in=ids).order_by("-posted_at", "-id")[:EXAMPLES_SHOWN]) if ids else []
    )
    return SurgeEvidence(
        tag=tag,
        minutes=tag_volume(tag=tag, until=_chart_end(detections, now), minutes=CHART_MINUTES),
        latest=latest,
        examples=examples,
    )


def _chart_end(detections: Sequence[TimelineEvent], now: datetime) -> datetime:
    """The chart's last minute: half an hour past the latest detection, never later than now."""
    windows = [str(e.after["window_start"]) for e in detections if e.after.get("window_start")]
    if not windows:
        return now
    return min(now, max(datetime.fromisoformat(w) for w in windows) + CHART_AFTER)
