"""The numbers a post-incident review starts from, computed from the incident's own rows: time to first
response and to resolution (and how their response-time targets ended), and the time each reply spent
in each approval step (from the step clocks the approval workflow starts and stops). No queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from incidents.clock_presenters import consumed_seconds
from incidents.models import ClockKind, ClockStatus, Incident, SlaClock
from incidents.presenters.wording import duration_words
from protocols.models import STAGE_ORDER, ApprovalStage, Role

STAGE_LABELS = dict(ApprovalStage.choices)
ROLE_LABELS = dict(Role.choices)


class Outcome:
    MET = "met"
    MISSED = "missed"
    RUNNING = "running"
    PAUSED = "paused"
    NOT_REACHED = "not_reached"  # stopped without the thing it measures happening (resolved unanswered)
    CHOICES = (
        (MET, "Met"),
        (MISSED, "Missed"),
        (RUNNING, "Still running"),
        (PAUSED, "Paused"),
        (NOT_REACHED, "Stopped before it was reached"),
    )
    LABELS = dict(CHOICES)


@dataclass(frozen=True)
class TargetResult:
    """How one response-time target of the incident ended."""

    policy_name: str
    target_seconds: int
    business_seconds: float  # business time used
    started_at: datetime
    stopped_at: datetime | None
    breached_at: datetime | None
    outcome: str

    @property
    def outcome_label(self) -> str:
        return Outcome.LABELS[self.outcome]

    @property
    def target_text(self) -> str:
        return duration_words(self.target_seconds)

    @property
    def used_text(self) -> str:
        return duration_words(self.business_seconds)


@dataclass(frozen=True)
class ApprovalStepTime:
    """One reply version waiting in one review stage: from submission (or the previous approval) to the
    decision, or until now if it still waits."""

    reply_id: int
    version: int
    stage: str
    role: str
    started_at: datetime
    ended_at: datetime | None
    seconds: float
    target_seconds: int
    outcome: str

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS.get(self.stage, self.stage.replace("_", " ").capitalize()))

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS.get(self.role, self.role))

    @property
    def duration_text(self) -> str:
        return duration_words(self.seconds)

    @property
    def outcome_label(self) -> str:
        return Outcome.LABELS[self.outcome]


@dataclass(frozen=True)
class StageTotal:
    stage: str
    label: str
    seconds: float
    steps: int

    @property
    def duration_text(self) -> str:
        return duration_words(self.seconds)


@dataclass(frozen=True)
class PirMetrics:
    created_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    first_response_seconds: float | None  # first_responded_at - created_at
    resolution_seconds: float | None  # resolved_at - created_at
    first_response: TargetResult | None  # the first-response target's clock, if a policy set one
    resolution: TargetResult | None
    approval_steps: list[ApprovalStepTime]
    stage_totals: list[StageTotal]

    @property
    def first_response_text(self) -> str:
        return duration_words(self.first_response_seconds) if self.first_response_seconds is not None else ""

    @property
    def resolution_text(self) -> str:
        return duration_words(self.resolution_seconds) if self.resolution_seconds is not None else ""


def _outcome(clock: SlaClock, *, reached: bool) -> str:
    if clock.breached_at is not None:
        return Outcome.MISSED
    if clock.status == ClockStatus.RUNNING:
        return Outcome.RUNNING
    if clock.status == ClockStatus.PAUSED:
        return Outcome.PAUSED
    return Outcome.MET if reached else Outcome.NOT_REACHED


def _target(clocks: list[SlaClock], kind: str, *, reached: bool, now: datetime) -> TargetResult | None:
    """The incident's first clock of this kind: the one that started with the incident (a reopened
    incident's later clocks measure the reopening, not the incident)."""
    ofkind = sorted((c for c in clocks if c.kind == kind), key=lambda c: (c.started_at, c.pk))
    if not ofkind:
        return None
    clock = ofkind[0]
    return TargetResult(
        policy_name=clock.policy_name,
        target_seconds=clock.target_seconds,
        business_seconds=consumed_seconds(clock, now=now),
        started_at=clock.started_at,
        stopped_at=clock.stopped_at,
        breached_at=clock.breached_at,
        outcome=_outcome(clock, reached=reached),
    )


def _approval_step(clock: SlaClock, *, now: datetime) -> ApprovalStepTime | None:
    # reference: "reply:<id>:v<version>:<stage>:<role>" (incidents/services/replies.py step_reference)
    parts = clock.reference.split(":")
    if len(parts) != 5 or parts[0] != "reply" or not parts[1].isdigit() or not parts[2][1:].isdigit():
        return None
    ended = clock.stopped_at
    return ApprovalStepTime(
        reply_id=int(parts[1]),
        version=int(parts[2][1:]),
        stage=parts[3],
        role=parts[4],
        started_at=clock.started_at,
        ended_at=ended,
        seconds=max(((ended or now) - clock.started_at).total_seconds(), 0.0),
        target_seconds=clock.target_seconds,
        outcome=_outcome(clock, reached=True),
    )


def pir_metrics(*, incident: Incident, clocks: Iterable[SlaClock], now: datetime) -> PirMetrics:
    """`clocks` are all of the incident's clocks (running, paused and stopped)."""
    every = list(clocks)
    parsed = [_approval_step(c, now=now) for c in every if c.kind == ClockKind.APPROVAL_STEP]
    steps = sorted(
        (step for step in parsed if step is not None),
        key=lambda s: (s.started_at, s.reply_id, s.version, STAGE_ORDER.get(s.stage, 9)),
    )
    totals: dict[str, list[float]] = {}
    for step in steps:
        totals.setdefault(step.stage, []).append(step.seconds)
    stage_totals = [
        StageTotal(
            stage=stage,
            label=str(STAGE_LABELS.get(stage, stage)),
            seconds=sum(totals[stage]),
            steps=len(totals[stage]),
        )
        for stage in sorted(totals, key=lambda s: STAGE_ORDER.get(s, 9))
    ]
    responded, resolved = incident.first_responded_at, incident.resolved_at
    return PirMetrics(
        created_at=incident.created_at,
        first_responded_at=responded,
        resolved_at=resolved,
        first_response_seconds=(responded - incident.created_at).total_seconds() if responded else None,
        resolution_seconds=(resolved - incident.created_at).total_seconds() if resolved else None,
        first_response=_target(every, ClockKind.FIRST_RESPONSE, reached=responded is not None, now=now),
        resolution=_target(every, ClockKind.RESOLUTION, reached=resolved is not None, now=now),
        approval_steps=steps,
        stage_totals=stage_totals,
    )
