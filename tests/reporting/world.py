"""Generated report data with known answers: incidents in and around a month, with business time,
pauses, breaches, approval steps, replies sent back, reopened and merged incidents, a surge and a crisis."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.models import (
    ClockKind,
    CrisisMode,
    Incident,
    IncidentStatus,
    Mention,
    Reply,
    ReplyDecision,
    SatisfactionSurvey,
    SlaClock,
)
from protocols.business_time import ALWAYS_OPEN
from protocols.models import Category, Role, Tier
from tests.factories import UserFactory

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
PRODUCTS = ["kettle", "toaster", "blender"]


def clock(incident: Incident, kind: str, *, started: datetime, **fields: Any) -> SlaClock:
    defaults: dict[str, Any] = {
        "policy_name": "Standard",
        "calendar_name": "Office hours",
        "calendar": ALWAYS_OPEN.to_json(),  # a real snapshot: the incident page can read the clock
        "target_seconds": 3600,
        "status": "stopped" if fields.get("stopped_at") else "running",
        "updated_at": started,
    }
    return SlaClock.objects.create(incident=incident, kind=kind, started_at=started, **{**defaults, **fields})


@dataclass
class World:
    categories: list[Category]
    users: list[Any]
    incidents: list[Incident]


def build(seed: int, *, prefix: str = "") -> World:
    """Seventy incidents; `prefix` keeps the names of a second world apart from the first's."""
    rng = random.Random(seed)
    categories = [
        Category.objects.create(name=f"{prefix}Delivery", slug=f"{prefix}delivery", tier=Tier.ROUTINE),
        Category.objects.create(
            name=f"{prefix}Product safety", slug=f"{prefix}product-safety", tier=Tier.HIGH_PRIORITY
        ),
    ]
    users = [UserFactory(username=f"{prefix}agent{i}", roles=[Role.RESPONDER]) for i in range(3)]
    author = UserFactory(username=f"{prefix}writer", roles=[Role.PR])
    decider = UserFactory(username=f"{prefix}decider", roles=[Role.LEGAL])
    incidents = []
    # Some before and after the range: they must not count, but they can be what "came back".
    for n in range(70):
        created = START + timedelta(days=rng.uniform(-5, 36), seconds=rng.randint(0, 86_399))
        category = rng.choice([*categories, None])
        status = rng.choice(["new", "in_progress", "waiting_on_customer", "resolved", "closed", "resolved"])
        incident = Incident.objects.create(
            title=f"Incident {n}",
            category=category,
            priority=rng.choice(["low", "normal", "high", "critical"]),
            status=status,
            platform=rng.choice(["x", "facebook", "instagram"]),
            assignee=rng.choice([*users, None]),
            assigned_role=rng.choice(["responder", "pr", ""]),
            products=rng.sample(PRODUCTS, rng.randint(0, 2)),
            thread_key=f"surge:{prefix}kettle" if n == 7 else f"x:{prefix}{n}",
            created_at=created,
            updated_at=created,
        )
        responded = created + timedelta(seconds=rng.randint(60, 20_000)) if rng.random() < 0.75 else None
        resolved = (
            created + timedelta(seconds=rng.randint(3_000, 400_000))
            if status in ("resolved", "closed")
            else None
        )
        Incident.objects.filter(pk=incident.pk).update(first_responded_at=responded, resolved_at=resolved)
        # First response: met, breached after a pause, or still running (not yet decided).
        if responded:
            breached = responded if rng.random() < 0.3 else None
            clock(
                incident,
                ClockKind.FIRST_RESPONSE,
                started=created,
                stopped_at=responded,
                breached_at=breached,
                consumed_seconds=rng.uniform(30, 9_000),  # business seconds: office hours, pauses
                paused_for_seconds=rng.choice([0, 600]),
            )
        else:
            clock(incident, ClockKind.FIRST_RESPONSE, started=created, breached_at=rng.choice([None, NOW]))
        if resolved:
            clock(
                incident,
                ClockKind.RESOLUTION,
                started=created,
                stopped_at=resolved,
                consumed_seconds=rng.uniform(1_000, 90_000),
                breached_at=resolved if rng.random() < 0.2 else None,
            )
        elif status == "in_progress" and n % 3 == 0:
            # Reopened: the first resolution clock stopped, a new one runs.
            clock(
                incident,
                ClockKind.RESOLUTION,
                started=created,
                stopped_at=created + timedelta(hours=3),
                consumed_seconds=5_000.0,
            )
            clock(incident, ClockKind.RESOLUTION, started=created + timedelta(hours=9), reference="")
        # Replies through the chain: approval-step clocks and decisions, some sent back.
        if n % 4 == 0:
            reply = Reply.objects.create(
                incident=incident,
                author=author,
                body="We are on it",
                edited_at=created,
                created_at=created,
                updated_at=created,
                state="published" if responded else "draft",
                published_at=responded,
            )
            legal_start = created + timedelta(minutes=5)
            legal_end = legal_start + timedelta(seconds=rng.randint(300, 7_200))
            clock(
                incident,
                ClockKind.APPROVAL_STEP,
                started=legal_start,
                stopped_at=legal_end,
                reference=f"reply:{reply.pk}:v1:legal_review:legal",
                consumed_seconds=rng.uniform(200, 7_000),
            )
            decision = "changes_requested" if n % 8 == 0 else "approved"
            ReplyDecision.objects.create(
                reply=reply,
                version=1,
                stage="legal_review",
                decision=decision,
                decided_by=decider,
                decided_at=legal_end,
            )
            if decision == "approved":
                manage_end = legal_end + timedelta(seconds=rng.randint(60, 3_000))
                clock(
                    incident,
                    ClockKind.APPROVAL_STEP,
                    started=legal_end,
                    stopped_at=manage_end,
                    reference=f"reply:{reply.pk}:v1:management_approval:manager",
                    consumed_seconds=rng.uniform(50, 3_000),
                )
            else:  # a step still waiting does not count
                clock(
                    incident,
                    ClockKind.APPROVAL_STEP,
                    started=legal_end,
                    reference=f"reply:{reply.pk}:v2:legal_review:legal",
                )
        if resolved and n % 3 == 0:
            answered = resolved + timedelta(hours=rng.randint(1, 48)) if n % 2 == 0 else None
            SatisfactionSurvey.objects.create(
                incident=incident,
                created_at=resolved,
                expires_at=resolved + timedelta(days=14),
                answered_at=answered,
                rating=rng.randint(1, 5) if answered else None,
            )
        for m in range(rng.randint(1, 3)):
            posted = created + timedelta(minutes=m * 40)
            Mention.objects.create(
                platform=incident.platform,
                external_id=f"{prefix}{n}-{m}",
                author_handle="someone",
                text="Help",
                posted_at=posted,
                sentiment=rng.choice(["negative", "neutral", "positive"]),
                incident=incident,
                received_at=posted,
            )
        Incident.objects.filter(pk=incident.pk).update(
            mention_count=Mention.objects.filter(incident=incident).count()
        )
        incidents.append(incident)
    # One merged into another: its figures belong to the survivor.
    merged = incidents[3]
    Incident.objects.filter(pk=merged.pk).update(
        merged_into=incidents[4],
        merged_at=merged.created_at,
        status=IncidentStatus.CLOSED,
        created_at=START + timedelta(days=2),
    )
    CrisisMode.objects.create(
        reason="Recall rumour",
        incident=incidents[7],
        started_by=author,
        started_at=START + timedelta(days=10),
        expires_at=START + timedelta(days=11),
        ended_at=START + timedelta(days=10, hours=6),
    )
    return World(categories, users, [Incident.objects.get(pk=i.pk) for i in incidents])


def cohort(world: World, **where: Any) -> list[Incident]:
    rows = [
        i
        for i in Incident.objects.filter(pk__in=[i.pk for i in world.incidents])
        if START <= i.created_at < END and i.merged_into_id is None
    ]
    return [i for i in rows if all(getattr(i, k) == v for k, v in where.items())]
