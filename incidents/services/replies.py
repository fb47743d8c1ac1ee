"""Replies and their sign-off. One service per transition (draft, edit, submit, approve, request changes,
withdraw, publish): policy check, compare-and-set on the state it read (a lost race is a 409 that
changes nothing), timeline event, the approval step's clock, the next decider notified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import (
    EDITABLE_STATES,
    OPEN_STATUS_VALUES,
    REVIEW_STATES,
    ClockKind,
    DecisionKind,
    EventKind,
    Incident,
    Mention,
    PublishStatus,
    Reply,
    ReplyDecision,
    ReplyState,
    ReplyVersion,
    SatisfactionSurvey,
)
from incidents.services import clocks
from incidents.services.incidents import record_response
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Message, drafts_for
from incidents.services.timeline import timeline_append
from incidents.services.webhooks import webhook_event_emit
from protocols.models import PublisherKind, Role, SocialAccount
from protocols.selectors import (
    ApprovalPlan,
    approval_plan_for,
    approval_step_policy,
    full_approval_plan,
    user_roles,
)

BODY_MAX = 10_000
# Who may withdraw someone else's reply.
WITHDRAW_ANY = frozenset({Role.MANAGER, Role.ADMIN})


def _require(actor: Any, action: str) -> None:
    if not policies.can(user=actor, action=action):
        raise PermissionRefused("Your role does not allow this action.")


def _get(reply_id: int) -> Reply:
    reply = Reply.objects.select_related("incident").filter(pk=reply_id).first()
    if reply is None:
        raise NotFound("Reply not found.")
    return reply


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write the reply first.", fields={"body": ["The reply is empty."]})
    if len(body) > BODY_MAX:
        raise ValidationFailed(
            f"The reply is too long ({len(body)} characters; at most {BODY_MAX}).",
            fields={"body": [f"At most {BODY_MAX} characters."]},
        )
    return body


def _check_version(reply: Reply, expected_version: int | None) -> None:
    """The client says which version it looked at: acting on a text it never saw is a conflict."""
    if expected_version is not None and expected_version != reply.version:
        raise Conflict(
            f"The reply changed while you were looking (now version {reply.version}); reload and check it."
        )


def _cas(reply: Reply, expected: dict[str, Any], changes: dict[str, Any], *, now: datetime) -> None:
    """The compare-and-set every transition goes through: zero rows means someone else acted first."""
    changes = {**changes, "updated_at": now}
    updated = Reply.objects.filter(pk=reply.pk, **expected).update(**changes)
    if updated != 1:
        raise Conflict("Someone else acted on this reply first; reload to see its current state.")
    for name, value in changes.items():
        setattr(reply, name, value)


def _event(
    reply: Reply, kind: str, actor: Any, *, before: dict[str, Any], note: str = "", **after: Any
) -> None:
    timeline_append(
        incident_id=reply.incident_id,
        kind=kind,
        actor=actor,
        before=before,
        after={"reply_id": reply.pk, "version": reply.version, "state": reply.state, **after},
        note=note,
    )


def _hook(reply: Reply, event: str, **extra: Any) -> None:
    """An outbound webhook event about the reply (the incident's summary is added beside it)."""
    webhook_event_emit(
        event=event,
        data={
            "reply_id": reply.pk,
            "incident_id": reply.incident_id,
            "state": reply.state,
            "version": reply.version,
            **extra,
        },
        incident_id=reply.incident_id,
    )


def reply_authors(*, reply: Reply) -> set[int]:
    """Everyone who wrote any of the reply's text: none of them may approve it."""
    editors = set(ReplyVersion.objects.filter(reply=reply).values_list("edited_by_id", flat=True))
    return {reply.author_id, *(e for e in editors if e is not None)}


def _link(reply: Reply) -> str:
    from incidents.services.sweeper import incident_link

    return f"{incident_link(reply.incident_id)}#reply-{reply.pk}"


def _notify(reply: Reply, *, key: str, kind: str, subject: str, body: str = "", **to: Any) -> None:
    notifications_enqueue(
        items=drafts_for(
            [
                Message(
                    key=f"reply:{reply.pk}:v{reply.version}:{key}",
                    kind=kind,
                    subject=subject,
                    body=body,
                    link=_link(reply),
                    incident_id=reply.incident_id,
                    **to,
                )
            ]
        )
    )


# --- the approval step clock --------------------------------------------------------------------------


def step_reference(reply: Reply) -> str:
    """Names the clock of the step the reply waits in; the sweeper reads the role from it."""
    step = reply.chain[reply.step]
    return f"reply:{reply.pk}:v{reply.version}:{step['stage']}:{step['role']}"


def _start_step(reply: Reply, actor: Any, now: datetime) -> None:
    step = reply.chain[reply.step]
    clocks.clocks_start_reference(
        incident_id=reply.incident_id,
        kind=ClockKind.APPROVAL_STEP,
        reference=step_reference(reply),
        policy=approval_step_policy(step=step, chain_name=reply.chain_name),
        now=now,
    )
    _notify(
        reply,
        key=f"step:{step['stage']}",
        kind="approval_needed",
        subject=f"{step['label']} needed: reply on #{reply.incident_id} {reply.incident.title}",
        body=f"Decide within {step['target_minutes']} min. {reply.body[:200]}",
        roles=[step["role"]],
        exclude_user_ids=sorted(reply_authors(reply=reply)),
    )


def _stop_step(reply: Reply, now: datetime) -> None:
    if reply.state in REVIEW_STATES and reply.step < len(reply.chain):
        clocks.clocks_stop_reference(incident_id=reply.incident_id, reference=step_reference(reply), now=now)


# --- drafting -----------------------------------------------------------------------------------------


def default_account(*, platform: str) -> SocialAccount | None:
    return SocialAccount.objects.filter(platform=platform, is_active=True).order_by("id").first()


@transaction.atomic
def reply_create(
    *,
    actor: Any,
    incident_id: int,
    body: str,
    mention_id: int | None = None,
    account_id: int | None = None,
    template_version_id: int | None = None,
    template_name: str = "",
    after_resolution: bool = False,
) -> Reply:
    """A server-side draft any teammate can pick up. Only an open incident is replied to, except for
    `after_resolution`: the satisfaction survey's invitation, written once the incident is resolved."""
    _require(actor, "reply.draft")
    body = _clean_body(body)
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("Incident not found.")
    if incident.status not in OPEN_STATUS_VALUES and not after_resolution:
        raise Conflict(f"The incident is {incident.status}; reopen it before replying.")
    if mention_id is not None and not Mention.objects.filter(pk=mention_id, incident_id=incident_id).exists():
        raise ValidationFailed(
            "That mention is not part of this incident.",
            fields={"mention": ["Not a mention of this incident."]},
        )
    account = None
    if account_id is not None:
        account = SocialAccount.objects.filter(pk=account_id, is_active=True).first()
        if account is None:
            raise ValidationFailed(
                "Unknown or inactive account.", fields={"account": ["Unknown or inactive."]}
            )
    elif incident.platform:
        account = default_account(platform=incident.platform)
    now = timezone.now()
    reply = Reply.objects.create(
        incident=incident,
        mention_id=mention_id,
        account=account,
        author=actor,
        template_version_id=template_version_id,
        template_name=template_name[:200],
        body=body,
        state=ReplyState.DRAFT,
        edited_at=now,
        edited_by=actor,
        created_at=now,
        updated_at=now,
    )
    ReplyVersion.objects.create(reply=reply, number=1, body=body, edited_by=actor, created_at=now)
    _event(
        reply,
        EventKind.REPLY_DRAFTED,
        actor,
        before={},
        template=template_name or None,
        account=account.name if account else None,
    )
    return reply


@transaction.atomic
def reply_edit(*, actor: Any, reply_id: int, body: str, expected_version: int | None = None) -> Reply:
    """A draft is edited in place. Editing a reply after submission makes a new version and restarts
    the chain: whoever approved the old text has not approved the new one."""
    _require(actor, "reply.draft")
    body = _clean_body(body)
    reply = _get(reply_id)
    _check_version(reply, expected_version)
    if reply.state not in EDITABLE_STATES:
        raise Conflict(f"A {reply.get_state_display().lower()} reply cannot be edited.")
    if reply.publish_status == PublishStatus.PENDING:
        # The platform may be taking this text right now: a new version could not be published.
        raise Conflict("The reply is being sent to the platform; wait for the outcome before editing.")
    if body == reply.body:
        return reply
    now = timezone.now()
    before = {"state": reply.state, "version": reply.version}
    if reply.state == ReplyState.DRAFT:
        _cas(
            reply,
            {"state": ReplyState.DRAFT, "version": reply.version},
            {"body": body, "edited_at": now, "edited_by": actor},
            now=now,
        )
        ReplyVersion.objects.filter(reply=reply, number=reply.version).update(
            body=body, edited_by=actor, created_at=now
        )
        return reply
    _stop_step(reply, now)
    _cas(
        reply,
        {"state": reply.state, "version": reply.version},
        {
            "body": body,
            "version": reply.version + 1,
            "state": ReplyState.DRAFT,
            "step": 0,
            "waiting_on_role": "",
            "approved_at": None,
            "publish_status": PublishStatus.NONE,
            "publish_error": "",
            "edited_at": now,
            "edited_by": actor,
        },
        now=now,
    )
    ReplyVersion.objects.create(reply=reply, number=reply.version, body=body, edited_by=actor, created_at=now)
    _event(
        reply,
        EventKind.REPLY_EDITED,
        actor,
        before=before,
        note="Edited after submission: a new version, the approval chain starts again",
    )
    return reply


# --- the chain ----------------------------------------------------------------------------------------


def approval_plan_for_incident(*, incident: Incident) -> ApprovalPlan | None:
    """The incident's chain; during crisis mode every reply needs the full one, whatever its category."""
    from incidents.services.crisis import crisis_current

    if crisis_current() is not None:
        full = full_approval_plan()
        if full is not None:
            return full
    tier = incident.category.tier if incident.category_id and incident.category else ""
    return approval_plan_for(tier=tier, priority=incident.priority)


@transaction.atomic
def reply_submit(*, actor: Any, reply_id: int, expected_version: int | None = None) -> Reply:
    """Sends a draft on its way: into the first review stage its incident's rule asks for, or straight
    to approved when none applies. The chain is frozen now: editing it later changes nothing here."""
    _require(actor, "reply.draft")
    reply = _get(reply_id)
    _check_version(reply, expected_version)
    if reply.state != ReplyState.DRAFT:
        raise Conflict(f"Only a draft can be submitted; this reply is {reply.get_state_display().lower()}.")
    incident = Incident.objects.select_related("category").get(pk=reply.incident_id)
    plan = approval_plan_for_incident(incident=incident)
    now = timezone.now()
    before = {"state": reply.state}
    expected = {"state": ReplyState.DRAFT, "version": reply.version}
    if plan is None:
        _cas(
            reply,
            expected,
            {
                "state": ReplyState.APPROVED,
                "chain": [],
                "chain_name": "",
                "step": 0,
                "submitted_at": now,
                "approved_at": now,
            },
            now=now,
        )
        _event(
            reply, EventKind.REPLY_APPROVED, actor, before=before, note="No approval needed for this incident"
        )
        # Submitted and approved in one step: integrators get both, in that order.
        _hook(reply, "reply.submitted", chain=None, waiting_on_role=None)
        _hook(reply, "reply.approved")
        return reply
    steps = list(plan.steps)
    _cas(
        reply,
        expected,
        {
            "state": steps[0]["stage"],
            "chain": steps,
            "chain_name": plan.chain_name,
            "step": 0,
            "waiting_on_role": steps[0]["role"],
            "submitted_at": now,
            "changes_note": "",
        },
        now=now,
    )
    _event(
        reply,
        EventKind.REPLY_SUBMITTED,
        actor,
        before=before,
        chain=plan.chain_name,
        waiting_on=steps[0]["role"],
        note=f"Submitted for {steps[0]['label'].lower()} ({plan.chain_name})",
    )
    _hook(reply, "reply.submitted", chain=plan.chain_name, waiting_on_role=steps[0]["role"])
    _start_step(reply, actor, now)
    return reply


def _require_decider(actor: Any, reply: Reply) -> dict[str, Any]:
    _require(actor, "reply.decide")
    step = reply.current_step
    if step is None:
        raise Conflict(f"This reply is {reply.get_state_display().lower()}; there is nothing to decide.")
    roles = user_roles(user=actor)
    if step["role"] not in roles:
        decided = [s for s in reply.chain[: reply.step] if s["role"] in roles]
        if decided:
            # Someone with the same role decided that step a moment ago: the actor is late, not unauthorised.
            raise Conflict(
                f"The {decided[-1]['label'].lower()} step was already decided; "
                f"the reply now waits on {step['label'].lower()}."
            )
        raise PermissionRefused(f"Only {Role(step['role']).label} decides the {step['label'].lower()} step.")
    if actor.pk in reply_authors(reply=reply):
        raise PermissionRefused("You wrote this reply: someone else must review it.")
    return step


@transaction.atomic
def reply_approve(*, actor: Any, reply_id: int, expected_version: int | None = None, note: str = "") -> Reply:
    reply = _get(reply_id)
    _check_version(reply, expected_version)
    step = _require_decider(actor, reply)
    if ReplyDecision.objects.filter(
        reply=reply, version=reply.version, decided_by=actor, decision=DecisionKind.APPROVED
    ).exists():
        raise PermissionRefused(
            "You already approved another step of this reply: a second person must decide."
        )
    now = timezone.now()
    before = {"state": reply.state}
    expected = {"state": reply.state, "version": reply.version, "step": reply.step}
    _stop_step(reply, now)
    last = reply.step + 1 >= len(reply.chain)
    if last:
        changes: dict[str, Any] = {"state": ReplyState.APPROVED, "approved_at": now, "waiting_on_role": ""}
    else:
        following = reply.chain[reply.step + 1]
        changes = {"state": following["stage"], "step": reply.step + 1, "waiting_on_role": following["role"]}
    _cas(reply, expected, changes, now=now)
    _decide(reply, actor, stage=step["stage"], decision=DecisionKind.APPROVED, note=note, now=now)
    _event(
        reply,
        EventKind.REPLY_APPROVED,
        actor,
        before=before,
        stage=step["stage"],
        note=f"{step['label']} approved" + (f": {note}" if note else ""),
    )
    if last:
        _hook(reply, "reply.approved")
        _notify(
            reply,
            key="approved",
            kind="reply_approved",
            subject=f"Approved, ready to publish: reply on #{reply.incident_id} {reply.incident.title}",
            user_ids=sorted(reply_authors(reply=reply)),
        )
    else:
        _start_step(reply, actor, now)
    return reply


@transaction.atomic
def reply_request_changes(
    *, actor: Any, reply_id: int, note: str, expected_version: int | None = None
) -> Reply:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say what should change.", fields={"note": ["A note is required."]})
    reply = _get(reply_id)
    _check_version(reply, expected_version)
    step = _require_decider(actor, reply)
    now = timezone.now()
    before = {"state": reply.state}
    _stop_step(reply, now)
    _cas(
        reply,
        {"state": reply.state, "version": reply.version, "step": reply.step},
        {"state": ReplyState.CHANGES_REQUESTED, "changes_note": note, "waiting_on_role": ""},
        now=now,
    )
    _decide(reply, actor, stage=step["stage"], decision=DecisionKind.CHANGES_REQUESTED, note=note, now=now)
    _event(reply, EventKind.REPLY_CHANGES_REQUESTED, actor, before=before, stage=step["stage"], note=note)
    _notify(
        reply,
        key=f"changes:{step['stage']}",
        kind="reply_changes_requested",
        subject=f"Changes requested ({step['label'].lower()}): reply on #{reply.incident_id}",
        body=note,
        user_ids=sorted(reply_authors(reply=reply)),
    )
    return reply


def _decide(reply: Reply, actor: Any, *, stage: str, decision: str, note: str, now: datetime) -> None:
    try:
        with transaction.atomic():
            ReplyDecision.objects.create(
                reply=reply,
                version=reply.version,
                stage=stage,
                decision=decision,
                decided_by=actor,
                note=note,
                decided_at=now,
            )
    except (
        IntegrityError
    ) as error:  # the compare-and-set above makes this unreachable; the key is the backstop
        raise Conflict("This step was already decided.") from error


@transaction.atomic
def reply_withdraw(*, actor: Any, reply_id: int, note: str = "") -> Reply:
    _require(actor, "reply.draft")
    reply = _get(reply_id)
    if actor.pk not in reply_authors(reply=reply) and not (user_roles(user=actor) & WITHDRAW_ANY):
        raise PermissionRefused("Only its authors or a manager can withdraw a reply.")
    if reply.state in (ReplyState.PUBLISHED, ReplyState.WITHDRAWN):
        raise Conflict(f"A {reply.get_state_display().lower()} reply cannot be withdrawn.")
    if reply.publish_status == PublishStatus.PENDING:
        raise Conflict("The reply is being sent to the platform; wait for the outcome.")
    now = timezone.now()
    before = {"state": reply.state}
    _stop_step(reply, now)
    _cas(
        reply,
        {"state": reply.state, "version": reply.version, "publish_status": reply.publish_status},
        {"state": ReplyState.WITHDRAWN, "withdrawn_at": now, "waiting_on_role": ""},
        now=now,
    )
    _event(reply, EventKind.REPLY_WITHDRAWN, actor, before=before, note=note)
    return reply


# --- publishing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staleness:
    newer_mentions: int


def reply_staleness(*, reply: Reply) -> Staleness:
    """Mentions that arrived on the incident after the reply's text was last written."""
    count = Mention.objects.filter(incident_id=reply.incident_id, received_at__gt=reply.edited_at).count()
    return Staleness(newer_mentions=count)


def _account_of(reply: Reply) -> SocialAccount | None:
    if reply.account_id:
        return reply.account
    return default_account(platform=reply.incident.platform) if reply.incident.platform else None


def publishes_by_hand(*, reply: Reply) -> bool:
    account = _account_of(reply)
    return account is None or account.publisher == PublisherKind.MANUAL


def reply_publish(
    *,
    actor: Any,
    reply_id: int,
    confirm_stale: bool = False,
    url: str = "",
    expected_version: int | None = None,
) -> Reply:
    """Publishes an approved reply (or a draft that needs no approval). Posted by hand: the pasted URL
    is recorded now. Through a webhook or an API: a task sends it, retrying on temporary failures; the
    reply is published only once the platform accepted it. During crisis mode only its publishers may,
    and a refused attempt stays on the crisis timeline."""
    from incidents.services.crisis import crisis_publish_gate

    _require(actor, "reply.publish")
    crisis_publish_gate(actor=actor, reply=_get(reply_id))
    return _publish(
        actor=actor,
        reply_id=reply_id,
        confirm_stale=confirm_stale,
        url=url,
        expected_version=expected_version,
    )


def _invites_to_survey(reply: Reply) -> bool:
    """A satisfaction survey's invitation is published after the incident was resolved, by design."""
    return SatisfactionSurvey.objects.filter(reply_id=reply.pk).exists()


@transaction.atomic
def _publish(
    *, actor: Any, reply_id: int, confirm_stale: bool, url: str, expected_version: int | None
) -> Reply:
    from incidents.publishing import PublishError, manual_published

    reply = _get(reply_id)
    _check_version(reply, expected_version)
    if reply.incident.status not in OPEN_STATUS_VALUES and not _invites_to_survey(reply):
        raise Conflict(f"The incident is {reply.incident.status}; reopen it before publishing.")
    if reply.state == ReplyState.DRAFT:
        if approval_plan_for_incident(incident=reply.incident) is not None:
            raise Conflict("This reply needs approval first: submit it for review.")
        reply = reply_submit(actor=actor, reply_id=reply.pk, expected_version=reply.version)
    if reply.state != ReplyState.APPROVED:
        raise Conflict(
            f"Only an approved reply can be published; this one is {reply.get_state_display().lower()}."
        )
    if reply.publish_status == PublishStatus.PENDING:
        raise Conflict("The reply is already being sent.")
    stale = reply_staleness(reply=reply)
    if stale.newer_mentions and not confirm_stale:
        raise Conflict(
            f"{stale.newer_mentions} new mention(s) arrived on this incident after the reply was written. "
            "Read them first, then confirm to publish anyway.",
            code="stale_reply",
        )
    now = timezone.now()
    account = _account_of(reply)
    if account is None or account.publisher == PublisherKind.MANUAL:
        try:
            published = manual_published(url=url)
        except PublishError as error:
            raise ValidationFailed(error.message, fields={"url": [error.message]}) from error
        reply_mark_published(
            reply=reply, actor=actor, url=published.url, external_id=published.external_id, now=now
        )
        return reply
    _cas(
        reply,
        {"state": ReplyState.APPROVED, "version": reply.version, "publish_status": reply.publish_status},
        {
            "publish_status": PublishStatus.PENDING,
            "publish_attempts": 0,
            "publish_next_attempt_at": now,
            "publish_error": "",
            "published_by": actor,
            "account": account,
        },
        now=now,
    )
    from incidents.tasks import reply_publish_attempt

    reply_id_ = reply.pk
    transaction.on_commit(lambda: reply_publish_attempt.delay(reply_id_), robust=True)
    return reply


def reply_mark_published(*, reply: Reply, actor: Any, url: str, external_id: str, now: datetime) -> None:
    """The platform accepted it: the reply is published and counts as the team's response (the
    first-response and next-response clocks stop, pending escalations end)."""
    before = {"state": reply.state}
    _cas(
        reply,
        {"state": ReplyState.APPROVED, "version": reply.version},
        {
            "state": ReplyState.PUBLISHED,
            "published_at": now,
            "published_by": actor or reply.published_by,
            "published_url": url,
            "published_external_id": external_id,
            "publish_status": PublishStatus.DONE,
            "publish_next_attempt_at": None,
            "publish_error": "",
        },
        now=now,
    )
    incident = Incident.objects.get(pk=reply.incident_id)
    targets = record_response(incident=incident, now=now)
    _event(
        reply,
        EventKind.REPLY_PUBLISHED,
        actor or reply.published_by,
        before=before,
        url=url,
        account=reply.account.name if reply.account_id and reply.account else None,
        targets=targets,
        note=url,
    )
    _hook(reply, "reply.published", url=url)


PUBLISH_MAX_ATTEMPTS = 8
PUBLISH_LEASE = timedelta(minutes=2)  # longer than any adapter's timeout


def _publish_retry_after(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def replies_publish_due(*, now: datetime, limit: int = 20) -> list[int]:
    """Replies whose next publishing attempt is due (the beat's safety net if a queued task was lost)."""
    return list(
        Reply.objects.filter(publish_status=PublishStatus.PENDING, publish_next_attempt_at__lte=now)
        .order_by("publish_next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def reply_publish_attempt(*, reply_id: int) -> str:
    """One attempt to hand a reply to its platform. The claim takes a lease (so a second worker does not
    post at the same time) and the post carries an idempotency key (so a retry after a lost answer
    does not post twice). Returns what happened: published, retry, failed or nothing."""
    from incidents.publishing import Post, PublishError, publish_post

    now = timezone.now()
    with transaction.atomic():
        reply = (
            Reply.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident", "account", "mention")
            .filter(pk=reply_id, publish_status=PublishStatus.PENDING, publish_next_attempt_at__lte=now)
            .first()
        )
        if reply is None:
            return "nothing"
        lease_until = now + PUBLISH_LEASE
        attempts = reply.publish_attempts + 1
        Reply.objects.filter(pk=reply.pk).update(
            publish_next_attempt_at=lease_until, publish_attempts=attempts
        )
    post = Post(
        text=reply.body,
        in_reply_to=reply.mention.external_id if reply.mention else None,
        reply_id=reply.pk,
        incident_id=reply.incident_id,
        idempotency_key=f"firebreak-reply-{reply.pk}-v{reply.version}",
    )
    if reply.account is None:  # publish_status is only set pending with an account; never post blind
        return _publish_failed(
            reply,
            "No social account to publish through.",
            retryable=False,
            attempts=attempts,
            lease=lease_until,
        )
    try:
        published = publish_post(account=reply.account, post=post)
    except PublishError as error:
        return _publish_failed(
            reply, error.message, retryable=error.retryable, attempts=attempts, lease=lease_until
        )
    with transaction.atomic():
        held = (
            Reply.objects.select_for_update(of=("self",))
            .select_related("incident", "account")
            .filter(pk=reply.pk, publish_status=PublishStatus.PENDING, publish_next_attempt_at=lease_until)
            .first()
        )
        if held is None:
            return "nothing"
        reply_mark_published(
            reply=held, actor=None, url=published.url, external_id=published.external_id, now=timezone.now()
        )
    return "published"


def _publish_failed(reply: Reply, message: str, *, retryable: bool, attempts: int, lease: datetime) -> str:
    now = timezone.now()
    with transaction.atomic():
        ours = Reply.objects.filter(
            pk=reply.pk, publish_status=PublishStatus.PENDING, publish_next_attempt_at=lease
        )
        if retryable and attempts < PUBLISH_MAX_ATTEMPTS:
            ours.update(publish_next_attempt_at=now + _publish_retry_after(attempts), publish_error=message)
            return "retry"
        if not ours.update(
            publish_status=PublishStatus.FAILED, publish_next_attempt_at=None, publish_error=message
        ):
            return "nothing"
        reply.publish_status, reply.publish_error = PublishStatus.FAILED, message
        _event(
            reply,
            EventKind.REPLY_PUBLISH_FAILED,
            None,
            before={},
            attempts=attempts,
            note=f"{reply.account.name if reply.account else 'The platform'} refused the reply: {message}",
        )
        _notify(
            reply,
            key=f"publish-failed:{attempts}",
            kind="reply_publish_failed",
            subject=f"Not published: reply on #{reply.incident_id} {reply.incident.title}",
            body=message,
            user_ids=sorted(
                {*reply_authors(reply=reply), *([reply.published_by_id] if reply.published_by_id else [])}
            ),
        )
    return "failed"
