"""Replies as the incident page and the approval inbox show them: the state, the approval chain step by
step (who decided, when, what is waited for and until when), the change since the reviewed version, and
which actions the viewer may take. Pure formatting; the services decide again on every POST."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.models import (
    EDITABLE_STATES,
    REVIEW_STATES,
    DecisionKind,
    Mention,
    PublishStatus,
    Reply,
    ReplyDecision,
    ReplyState,
    SlaClock,
)
from incidents.presenters.wording import duration_words, user_label
from incidents.reply_selectors import DiffLine
from protocols.models import Role

ROLE_LABELS = dict(Role.choices)
# Who may withdraw a reply somebody else wrote (the service's rule, mirrored to show the button).
WITHDRAW_ANY = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class StepView:
    """One line of a reply's progress: written, submitted, a review stage, published."""

    label: str
    state: str  # done | changes | waiting | upcoming | failed | sending
    detail: str = ""  # "Lee Legal", "Legal, within 2 h"
    at: datetime | None = None
    note: str = ""
    due_at: datetime | None = None
    is_overdue: bool = False
    url: str = ""


@dataclass(frozen=True)
class DecisionView:
    version: int
    stage: str
    decision: str
    by: str
    at: datetime
    note: str
    is_approval: bool


@dataclass
class ReplyForm:
    """What the viewer typed into one of the reply's forms and what the server said about it."""

    action: str = ""  # edit | decide | publish | submit | withdraw
    error: str = ""
    status: int = 0
    body: str = ""
    note: str = ""
    url: str = ""
    stale_mentions: int = 0


@dataclass
class ReplyView:
    reply: Reply
    steps: list[StepView]
    history: list[DecisionView]
    diff: list[DiffLine] | None
    diff_base: int | None
    waiting_since: datetime | None
    due_at: datetime | None
    is_overdue: bool
    publishes_by_hand: bool
    may_edit: bool = False
    may_submit: bool = False
    may_decide: bool = False
    may_withdraw: bool = False
    may_publish: bool = False
    decide_refusal: str = ""  # why a reviewer holding the role may not decide (e.g. they wrote it)
    newer_mentions: list[Mention] = field(default_factory=list)
    form: ReplyForm = field(default_factory=ReplyForm)
    focus: bool = False
    mention: Mention | None = None  # the mention the reply answers

    @property
    def state_label(self) -> str:
        return str(self.reply.get_state_display())

    @property
    def step_label(self) -> str:
        step = self.reply.current_step
        return str(step["label"]) if step else ""

    @property
    def has_actions(self) -> bool:
        return self.may_edit or self.may_submit or self.may_decide or self.may_withdraw or self.may_publish


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def writers_phrase(names: list[str]) -> str:
    """ "Ana is writing a reply", "Ana and Bo are writing replies", "Ana, Bo and Cy are writing replies"."""
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is writing a reply"
    return f"{', '.join(names[:-1])} and {names[-1]} are writing replies"


def reply_authors(reply: Reply) -> set[int]:
    """Everyone who wrote words of the reply (from its prefetched versions)."""
    return {reply.author_id, *(v.edited_by_id for v in reply.versions.all() if v.edited_by_id is not None)}


def _decisions(reply: Reply) -> list[ReplyDecision]:
    return list(reply.decisions.all())


def _step_lines(
    reply: Reply, clock: SlaClock | None, planned: Iterable[Mapping[str, Any]], now: datetime
) -> list[StepView]:
    # The current version's editor comes with the prefetched versions (no query per reply).
    current = next((v for v in reply.versions.all() if v.number == reply.version), None)
    editor = current.edited_by if current is not None else None
    written = user_label(reply.author)
    if reply.version > 1 and editor is not None and editor.pk != reply.author_id:
        written = f"{user_label(editor)} (first draft by {written})"
    lines = [StepView("Written", "done", f"{written}, version {reply.version}", at=reply.edited_at)]
    chain = reply.chain if reply.chain else list(planned) if reply.state == ReplyState.DRAFT else []
    submitted = reply.submitted_at if reply.state != ReplyState.DRAFT else None
    if submitted:
        lines.append(StepView("Submitted", "done", "for approval" if reply.chain else "", at=submitted))
    decided = {d.stage: d for d in _decisions(reply) if d.version == reply.version}
    for index, step in enumerate(chain):
        who = f"{role_label(step['role'])}, within {duration_words(int(step['target_minutes']) * 60)}"
        decision = decided.get(step["stage"])
        if decision is not None:
            kind = "done" if decision.decision == DecisionKind.APPROVED else "changes"
            verb = "Approved" if kind == "done" else "Changes requested"
            lines.append(
                StepView(
                    str(step["label"]),
                    kind,
                    f"{verb} by {user_label(decision.decided_by)}",
                    at=decision.decided_at,
                    # A change request's note stands out above the steps while it is open.
                    note=""
                    if reply.state == ReplyState.CHANGES_REQUESTED and kind == "changes"
                    else decision.note,
                )
            )
        elif reply.state in REVIEW_STATES and index == reply.step:
            due = clock.due_at if clock else None
            lines.append(
                StepView(
                    str(step["label"]),
                    "waiting",
                    f"Waiting on {who}",
                    at=clock.started_at if clock else reply.submitted_at,
                    due_at=due,
                    is_overdue=bool(due and due <= now),
                )
            )
        else:
            lines.append(StepView(str(step["label"]), "upcoming", who))
    if reply.state == ReplyState.APPROVED and reply.approved_at and not reply.chain:
        lines.append(StepView("Approved", "done", "no approval needed", at=reply.approved_at))
    if reply.state == ReplyState.PUBLISHED:
        by = user_label(reply.published_by) if reply.published_by else "the platform"
        account = f" as {reply.account.name}" if reply.account else ""
        lines.append(
            StepView("Published", "done", f"by {by}{account}", at=reply.published_at, url=reply.published_url)
        )
    elif reply.publish_status == PublishStatus.PENDING:
        lines.append(StepView("Publishing", "sending", "Sending…", at=reply.updated_at))
    elif reply.publish_status == PublishStatus.FAILED:
        lines.append(StepView("Publishing", "failed", "Not published", note=reply.publish_error))
    if reply.state == ReplyState.WITHDRAWN:
        lines.append(StepView("Withdrawn", "failed", "", at=reply.withdrawn_at))
    return lines


def reply_view(
    reply: Reply,
    *,
    viewer: Any,
    roles: frozenset[str],
    allowed: frozenset[str],
    clock: SlaClock | None,
    diff: list[DiffLine] | None,
    publishes_by_hand: bool,
    needs_approval: bool,
    planned: Iterable[Mapping[str, Any]] = (),
    mentions: Iterable[Mention] = (),
    now: datetime,
    form: ReplyForm | None = None,
) -> ReplyView:
    """Everything one reply shows. `needs_approval` says whether a draft must go through review (else
    it may be published straight away); `planned` is the chain a draft will go through."""
    state = reply.state
    authors = reply_authors(reply)
    decisions = _decisions(reply)
    step = reply.current_step
    due = clock.due_at if clock else None
    may_decide, refusal = False, ""
    if step is not None and "reply.decide" in allowed and step["role"] in roles:
        if viewer.pk in authors:
            refusal = "You wrote this reply: someone else must review it."
        elif any(
            d.decided_by_id == viewer.pk
            and d.version == reply.version
            and d.decision == DecisionKind.APPROVED
            for d in decisions
        ):
            refusal = "You approved another step of this reply: a second person must decide."
        else:
            may_decide = True
    may_draft = "reply.draft" in allowed
    idle = reply.publish_status != PublishStatus.PENDING
    # The version the diff starts from: the last one a reviewer decided on, else the one before.
    reviewed = max((d.version for d in decisions if d.version < reply.version), default=reply.version - 1)
    return ReplyView(
        reply=reply,
        steps=_step_lines(reply, clock, planned, now),
        history=[
            DecisionView(
                version=d.version,
                stage=role_stage_label(reply, d.stage),
                decision=str(d.get_decision_display()),
                by=user_label(d.decided_by),
                at=d.decided_at,
                note=d.note,
                is_approval=d.decision == DecisionKind.APPROVED,
            )
            for d in decisions
        ],
        diff=diff,
        diff_base=reviewed if diff is not None else None,
        waiting_since=(clock.started_at if clock else reply.submitted_at) if step is not None else None,
        due_at=due,
        is_overdue=bool(due and due <= now),
        publishes_by_hand=publishes_by_hand,
        may_edit=may_draft and state in EDITABLE_STATES and idle,
        may_submit=may_draft and state == ReplyState.DRAFT and needs_approval,
        may_decide=may_decide,
        may_withdraw=(
            may_draft
            and (viewer.pk in authors or bool(roles & WITHDRAW_ANY))
            and state not in (ReplyState.PUBLISHED, ReplyState.WITHDRAWN)
            and idle
        ),
        may_publish=(
            "reply.publish" in allowed
            and idle
            and (state == ReplyState.APPROVED or (state == ReplyState.DRAFT and not needs_approval))
        ),
        decide_refusal=refusal,
        newer_mentions=[m for m in mentions if m.received_at > reply.edited_at],
        form=form or ReplyForm(),
    )


def role_stage_label(reply: Reply, stage: str) -> str:
    """The stage's label as the reply's frozen chain names it."""
    for step in reply.chain:
        if step.get("stage") == stage:
            return str(step.get("label") or stage)
    return stage.replace("_", " ").capitalize()
