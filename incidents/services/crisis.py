"""Crisis mode: switching it on (by a manager or an escalation step), renewing and ending it (by hand or
at expiry, a clock), the status-update reminders (a clock), and the publishing gate every reply passes.
Everything is on the crisis incident's timeline, blocked attempts included."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import ClockKind, CrisisMode, EventKind, Incident, IncidentStatus, Reply, SlaClock
from incidents.services import clocks
from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Message, drafts_for
from incidents.services.timeline import timeline_append
from incidents.services.webhooks import webhook_event_emit
from protocols.models import Priority, Role
from protocols.selectors import user_roles
from protocols.sla import fixed_policy

DEFAULT_HOURS = 24
MAX_HOURS = 24 * 14
STAKEHOLDERS = (Role.MANAGER, Role.PR, Role.LEGAL, Role.SPOKESPERSON)
_CACHE_KEY = "firebreak:crisis:on"
_NONE = "none"


# --- reading it (every page shows the banner; every publish asks) ----------------------------------------


def crisis_current() -> CrisisMode | None:
    """The crisis mode that is on, if any. Cached until it changes or expires, so the banner on every page
    costs no query."""
    cached = cache.get(_CACHE_KEY)
    if cached == _NONE:
        return None
    if isinstance(cached, CrisisMode) and cached.expires_at > timezone.now():
        return cached
    crisis = CrisisMode.objects.filter(ended_at__isnull=True).select_related("incident").first()
    if crisis is not None and crisis.expires_at <= timezone.now():
        crisis = None  # expired: the expiry clock is about to record its end
    ttl = (
        60 if crisis is None else max(1, min(300, int((crisis.expires_at - timezone.now()).total_seconds())))
    )
    cache.set(_CACHE_KEY, crisis if crisis is not None else _NONE, ttl)
    return crisis


def _forget() -> None:
    transaction.on_commit(lambda: cache.delete(_CACHE_KEY))
    cache.delete(_CACHE_KEY)


def may_publish_in_crisis(*, user: Any, crisis: CrisisMode) -> bool:
    return bool(user_roles(user=user) & set(crisis.publisher_roles))


# --- switching it on, renewing, ending -------------------------------------------------------------------


def _clock_references(crisis: CrisisMode) -> tuple[str, str]:
    return f"crisis:{crisis.pk}:expiry", f"crisis:{crisis.pk}:update"


def _start_clocks(crisis: CrisisMode, now: datetime, *, update_number: int = 1) -> None:
    expiry = _clock_references(crisis)[0]
    clocks.clocks_start_reference(
        incident_id=crisis.incident_id,
        kind=ClockKind.CRISIS_EXPIRY,
        reference=expiry,
        policy=fixed_policy(name="Crisis mode", seconds=int((crisis.expires_at - now).total_seconds())),
        now=now,
    )
    _start_update_clock(crisis, now, number=update_number)


def _start_update_clock(crisis: CrisisMode, now: datetime, *, number: int) -> None:
    clocks.clocks_start_reference(
        incident_id=crisis.incident_id,
        kind=ClockKind.CRISIS_UPDATE,
        reference=f"{_clock_references(crisis)[1]}:{number}",
        policy=fixed_policy(name="Crisis status update", seconds=crisis.status_update_minutes * 60),
        now=now,
    )


def _stop_clocks(crisis: CrisisMode, now: datetime) -> None:
    for clock in SlaClock.objects.filter(
        incident_id=crisis.incident_id,
        kind__in=[ClockKind.CRISIS_EXPIRY, ClockKind.CRISIS_UPDATE],
        reference__startswith=f"crisis:{crisis.pk}:",
        status="running",
    ).only("reference"):
        clocks.clocks_stop_reference(incident_id=crisis.incident_id, reference=clock.reference, now=now)


def _notify(crisis: CrisisMode, *, key: str, kind: str, subject: str, body: str = "") -> None:
    from incidents.services.sweeper import incident_link

    notifications_enqueue(
        items=drafts_for(
            [
                Message(
                    key=f"crisis:{crisis.pk}:{key}",
                    kind=kind,
                    subject=subject,
                    body=body,
                    link=incident_link(crisis.incident_id),
                    incident_id=crisis.incident_id,
                    roles=list(STAKEHOLDERS),
                )
            ]
        )
    )


@transaction.atomic
def crisis_start(
    *,
    actor: Any | None,
    reason: str,
    incident_id: int | None = None,
    hours: int = DEFAULT_HOURS,
    stay_silent: bool = False,
    publisher_roles: list[str] | None = None,
    holding_template_id: int | None = None,
    status_update_minutes: int = 60,
) -> CrisisMode:
    """Switches crisis mode on. Without an incident, a critical "Crisis: <reason>" incident is opened to
    hold its timeline. `actor` None: an escalation step did it."""
    if actor is not None and not policies.can(user=actor, action="crisis.manage"):
        raise PermissionRefused("Only a manager can switch crisis mode on.")
    reason = (reason or "").strip()
    problems: dict[str, list[str]] = {}
    if not reason:
        problems["reason"] = ["Say why."]
    if not 1 <= hours <= MAX_HOURS:
        problems["hours"] = [f"From 1 to {MAX_HOURS} hours."]
    if status_update_minutes < 5:
        problems["status_update_minutes"] = ["At least 5 minutes."]
    roles = list(
        dict.fromkeys(publisher_roles if publisher_roles is not None else [Role.SPOKESPERSON, Role.PR])
    )
    if not roles or any(r not in Role.values or r == Role.INTEGRATION for r in roles):
        problems["publisher_roles"] = ["Name at least one team role."]
    holding_name = ""
    if holding_template_id is not None:
        from templates_app.models import ResponseTemplate

        template = ResponseTemplate.objects.filter(pk=holding_template_id).first()
        if template is None:
            problems["holding_template"] = ["Unknown template."]
        else:
            holding_name = template.name
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], fields=problems)
    now = timezone.now()
    if incident_id is None:
        incident = Incident.objects.create(
            title=f"Crisis: {reason[:190]}",
            description=reason,
            priority=Priority.CRITICAL,
            status=IncidentStatus.IN_PROGRESS,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        timeline_append(
            incident_id=incident.pk, kind=EventKind.CREATED, actor=actor, note="Opened for crisis mode"
        )
        webhook_event_emit(event="incident.created", data={}, incident_id=incident.pk)
    else:
        found = Incident.objects.filter(pk=incident_id).first()
        if found is None:
            raise ValidationFailed("Unknown incident.", fields={"incident": ["Unknown incident."]})
        incident = found
    try:
        with transaction.atomic():
            crisis = CrisisMode.objects.create(
                incident=incident,
                reason=reason,
                started_by=actor,
                started_at=now,
                expires_at=now + timedelta(hours=hours),
                publisher_roles=roles,
                stay_silent=stay_silent,
                holding_template_id=holding_template_id,
                holding_template_name=holding_name,
                status_update_minutes=status_update_minutes,
            )
    except IntegrityError:
        raise Conflict("Crisis mode is already on.") from None
    _start_clocks(crisis, now)
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.CRISIS_STARTED,
        actor=actor,
        after={
            "crisis_id": crisis.pk,
            "expires_at": crisis.expires_at.isoformat(),
            "publishers": roles,
            "stay_silent": stay_silent,
            "holding_statement": holding_name or None,
        },
        note=reason if actor is not None else f"Switched on by an escalation step: {reason}",
    )
    webhook_event_emit(event="crisis.started", data=_crisis_data(crisis), incident_id=incident.pk)
    _notify(
        crisis,
        key="on",
        kind="crisis_on",
        subject=f"Crisis mode is on: {reason[:120]}",
        body=f"Only {', '.join(Role(r).label for r in roles)} may publish until "
        f"{crisis.expires_at:%Y-%m-%d %H:%M UTC}."
        + (" Stay silent: holding statement only." if stay_silent else ""),
    )
    _forget()
    return crisis


def _crisis_data(crisis: CrisisMode) -> dict[str, Any]:
    """What outbound webhooks say about a crisis (the incident's summary is added beside it)."""
    return {
        "crisis_id": crisis.pk,
        "reason": crisis.reason,
        "started_at": crisis.started_at,
        "expires_at": crisis.expires_at,
        "ended_at": crisis.ended_at,
        "publisher_roles": list(crisis.publisher_roles),
        "stay_silent": crisis.stay_silent,
    }


def _locked_current() -> CrisisMode:
    crisis = CrisisMode.objects.select_for_update().filter(ended_at__isnull=True).first()
    if crisis is None:
        raise Conflict("Crisis mode is not on.")
    return crisis


@transaction.atomic
def crisis_renew(*, actor: Any, hours: int = DEFAULT_HOURS) -> CrisisMode:
    """Moves the expiry to `hours` from now."""
    if not policies.can(user=actor, action="crisis.manage"):
        raise PermissionRefused("Only a manager can renew crisis mode.")
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationFailed(
            f"From 1 to {MAX_HOURS} hours.", fields={"hours": [f"From 1 to {MAX_HOURS} hours."]}
        )
    crisis = _locked_current()
    now = timezone.now()
    before = crisis.expires_at
    crisis.expires_at = now + timedelta(hours=hours)
    CrisisMode.objects.filter(pk=crisis.pk, ended_at__isnull=True).update(expires_at=crisis.expires_at)
    expiry = _clock_references(crisis)[0]
    clocks.clocks_stop_reference(incident_id=crisis.incident_id, reference=expiry, now=now)
    clocks.clocks_start_reference(
        incident_id=crisis.incident_id,
        kind=ClockKind.CRISIS_EXPIRY,
        reference=f"{expiry}:{int(now.timestamp())}",
        policy=fixed_policy(name="Crisis mode", seconds=hours * 3600),
        now=now,
    )
    timeline_append(
        incident_id=crisis.incident_id,
        kind=EventKind.CRISIS_RENEWED,
        actor=actor,
        before={"expires_at": before.isoformat()},
        after={"expires_at": crisis.expires_at.isoformat()},
    )
    _forget()
    return crisis


def crisis_end(*, actor: Any | None, reason: str = "", expired: bool = False) -> CrisisMode:
    """Ends crisis mode by hand (a manager) or at expiry (`actor` None, `expired`)."""
    if actor is not None and not policies.can(user=actor, action="crisis.manage"):
        raise PermissionRefused("Only a manager can end crisis mode.")
    with transaction.atomic():
        crisis = _locked_current()
        now = timezone.now()
        if expired and crisis.expires_at > now:
            raise Conflict("Crisis mode was renewed; it has not expired.")
        crisis.ended_at, crisis.ended_by = now, actor
        crisis.end_reason = (reason or "").strip() or ("Expired" if expired else "")
        CrisisMode.objects.filter(pk=crisis.pk, ended_at__isnull=True).update(
            ended_at=now, ended_by=actor, end_reason=crisis.end_reason
        )
        _stop_clocks(crisis, now)
        timeline_append(
            incident_id=crisis.incident_id,
            kind=EventKind.CRISIS_ENDED,
            actor=actor,
            after={"crisis_id": crisis.pk, "expired": expired},
            note=crisis.end_reason,
        )
        _notify(crisis, key="off", kind="crisis_off", subject="Crisis mode is off", body=crisis.end_reason)
        webhook_event_emit(
            event="crisis.ended",
            data={**_crisis_data(crisis), "expired": expired},
            incident_id=crisis.incident_id,
        )
        _forget()
    return crisis


def crisis_on_clock(*, clock: SlaClock, now: datetime) -> None:
    """Called by the sweeper when a crisis clock's moment has come (inside its transaction)."""
    crisis_id = int(clock.reference.split(":")[1])
    crisis = CrisisMode.objects.filter(pk=crisis_id, ended_at__isnull=True).first()
    if crisis is None:
        return
    if clock.kind == ClockKind.CRISIS_EXPIRY:
        if crisis.expires_at <= now:
            crisis_end(actor=None, expired=True)
        return
    # A status update is due: remind the stakeholders, and time the next one.
    number = int(clock.reference.rsplit(":", 1)[1])
    SlaClock.objects.filter(pk=clock.pk).update(status="stopped", stopped_at=now, next_fire_at=None)
    timeline_append(
        incident_id=crisis.incident_id,
        kind=EventKind.CRISIS_STATUS_DUE,
        actor=None,
        after={"crisis_id": crisis.pk, "reminder": number},
        note=f"Status update {number} due to the stakeholders",
    )
    _notify(
        crisis,
        key=f"update:{number}",
        kind="crisis_status_due",
        subject=f"Crisis status update due ({number}): {crisis.reason[:100]}",
        body="Post a status update for the stakeholders; the next is due in "
        f"{crisis.status_update_minutes} min.",
    )
    _start_update_clock(crisis, now, number=number + 1)


# --- the publishing gate ------------------------------------------------------------------------------------


def crisis_publish_gate(*, actor: Any, reply: Reply) -> None:
    """Raises PermissionRefused when crisis mode forbids this publish, after recording the attempt on the
    crisis incident's timeline (in its own transaction, so the refusal cannot roll it back)."""
    crisis = crisis_current()
    if crisis is None:
        return
    problem = ""
    if not may_publish_in_crisis(user=actor, crisis=crisis):
        allowed = ", ".join(Role(r).label for r in crisis.publisher_roles)
        problem = f"Crisis mode is on: only {allowed} may publish."
    elif crisis.stay_silent and not _is_holding_statement(reply, crisis):
        problem = "Crisis mode says stay silent: only the holding statement may be published."
    if not problem:
        return
    with transaction.atomic():
        timeline_append(
            incident_id=crisis.incident_id,
            kind=EventKind.CRISIS_BLOCKED,
            actor=actor,
            after={"crisis_id": crisis.pk, "reply_id": reply.pk, "incident_id": reply.incident_id},
            note=problem,
        )
    raise PermissionRefused(problem, code="crisis_mode")


def _is_holding_statement(reply: Reply, crisis: CrisisMode) -> bool:
    if crisis.holding_template_id is None or reply.template_version_id is None:
        return False
    from templates_app.models import TemplateVersion

    return TemplateVersion.objects.filter(
        pk=reply.template_version_id, template_id=crisis.holding_template_id
    ).exists()
