"""Reads of the response plan: a user's roles, categories, triage rules, SLA policies, approval chains
and rules, social accounts, tokens, and who has access to the accounts (grants, offboarding,
audit), and the community guidelines."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, QuerySet

from config.prepared import Prepared
from protocols.business_time import ALWAYS_OPEN, BusinessCalendarSpec, business_add
from protocols.models import (
    STAGE_ORDER,
    AccessAuditEvent,
    ApiToken,
    ApprovalChain,
    ApprovalRule,
    ApprovalStep,
    BusinessCalendar,
    Category,
    EscalationChain,
    EscalationStep,
    ModerationRule,
    OffboardingChecklist,
    OffboardingItem,
    Priority,
    RoleAssignment,
    SlaPolicy,
    SocialAccount,
    SocialAccountAccess,
    Tier,
    TriageRule,
)
from protocols.sla import ALWAYS_OPEN_NAME, PolicyBook, PolicySnapshot, step_sort_key

logger = logging.getLogger(__name__)
_ROLES_ATTR = "_firebreak_roles"


def user_roles(*, user: Any) -> frozenset[str]:
    """The roles a user holds, read once per user object (so once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLES_ATTR, None)
    if cached is None:
        cached = frozenset(RoleAssignment.objects.filter(user_id=user.pk).values_list("role", flat=True))
        setattr(user, _ROLES_ATTR, cached)
    return cached


def forget_user_roles(*, user: Any) -> None:
    if hasattr(user, _ROLES_ATTR):
        delattr(user, _ROLES_ATTR)


def moderation_rule_list() -> QuerySet[ModerationRule]:
    """The active rules of the community guidelines, in their published order."""
    return ModerationRule.objects.filter(is_active=True).order_by("position", "id")


def category_list(*, include_inactive: bool = False) -> QuerySet[Category]:
    qs = Category.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


# Every intake request needs the rules; they change rarely. A digest of the whole (small) table is
# checked on each call, so any change, however it is made, is seen by the next request.
_RULES_DIGEST_SQL = Prepared(
    "fb_rules_digest",
    (),
    "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM protocols_triagerule r",
)
_rules_cache: tuple[str, list[TriageRule]] | None = None


def triage_rule_list_active() -> list[TriageRule]:
    global _rules_cache
    with connection.cursor() as cursor:
        _RULES_DIGEST_SQL.execute(cursor, ())
        (digest,) = cursor.fetchone()
    cached = _rules_cache
    if cached is not None and cached[0] == digest:
        return cached[1]
    rules = list(TriageRule.objects.filter(is_active=True).order_by("position", "id"))
    _rules_cache = (digest, rules)
    return rules


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")


def api_token_get_own(*, user: Any, token_id: int) -> ApiToken | None:
    """One of the user's own tokens; another user's token reads as missing."""
    return ApiToken.objects.filter(user_id=user.pk, pk=token_id).first()


_TOKEN_COLUMNS = [f.column for f in ApiToken._meta.concrete_fields]
_USER_COLUMNS = [f.column for f in get_user_model()._meta.concrete_fields]
# Built from model metadata only (no outside input).
_TOKEN_WITH_USER_SQL = Prepared(
    "fb_token_lookup",
    ("text",),
    "SELECT "  # noqa: S608
    + ", ".join(f't."{c}"' for c in _TOKEN_COLUMNS)
    + ", "
    + ", ".join(f'u."{c}"' for c in _USER_COLUMNS)
    + ", ARRAY(SELECT r.role FROM protocols_roleassignment r WHERE r.user_id = u.id) "  # noqa: S608
    f"FROM {ApiToken._meta.db_table} t JOIN {get_user_model()._meta.db_table} u ON u.id = t.user_id "
    "WHERE t.digest = %s",
)


def api_token_by_digest(*, digest: str) -> ApiToken | None:
    """The token with its user and the user's roles, in one prepared statement: every API request
    starts here, so it must cost one round trip and no planning."""
    User = get_user_model()
    with connection.cursor() as cursor:
        _TOKEN_WITH_USER_SQL.execute(cursor, (digest,))
        row = cursor.fetchone()
    if row is None:
        return None
    token_values = row[: len(_TOKEN_COLUMNS)]
    user_values = row[len(_TOKEN_COLUMNS) : len(_TOKEN_COLUMNS) + len(_USER_COLUMNS)]
    token = ApiToken.from_db("default", [f.attname for f in ApiToken._meta.concrete_fields], token_values)
    user = User.from_db("default", [f.attname for f in User._meta.concrete_fields], user_values)
    setattr(user, _ROLES_ATTR, frozenset(row[-1]))
    token.user = user
    return token


# Every new incident and every priority or category change needs the policies; they change rarely.
# Like the triage rules, a digest of the small tables behind them is checked on each call.
_SLA_DIGEST_SQL = Prepared(
    "fb_sla_digest",
    (),
    "SELECT md5(concat_ws('|', "
    "(SELECT string_agg(p::text, ',' ORDER BY p.id) FROM protocols_slapolicy p), "
    "(SELECT string_agg(c::text, ',' ORDER BY c.id) FROM protocols_businesscalendar c), "
    "(SELECT string_agg(h::text, ',' ORDER BY h.id) FROM protocols_openinghours h), "
    "(SELECT string_agg(d::text, ',' ORDER BY d.id) FROM protocols_holiday d), "
    "(SELECT string_agg(e::text, ',' ORDER BY e.id) FROM protocols_escalationchain e), "
    "(SELECT string_agg(s::text, ',' ORDER BY s.id) FROM protocols_escalationstep s)))",
)
_sla_cache: tuple[str, PolicyBook] | None = None


def sla_policy_book() -> PolicyBook:
    """The active SLA policies with their calendars and escalation chains, as frozen values."""
    global _sla_cache
    with connection.cursor() as cursor:
        _SLA_DIGEST_SQL.execute(cursor, ())
        (digest,) = cursor.fetchone()
    cached = _sla_cache
    if cached is not None and cached[0] == digest:
        return cached[1]
    book = PolicyBook()
    policies = SlaPolicy.objects.filter(is_active=True).select_related("calendar", "escalation_chain")
    calendars = {c.pk: c for c in BusinessCalendar.objects.prefetch_related("opening_hours", "holidays")}
    chains = {c.pk: c for c in EscalationChain.objects.prefetch_related("steps")}
    for policy in policies:
        calendar = calendars.get(policy.calendar_id) if policy.calendar_id else None
        chain = chains.get(policy.escalation_chain_id) if policy.escalation_chain_id else None
        spec = usable_calendar_spec(calendar) if calendar else ALWAYS_OPEN
        if spec is None:
            # One broken calendar (edited by hand in the database) must not stop intake for everyone:
            # its policy is left out, and the log says why.
            logger.error(
                "SLA policy %r skipped: calendar %r never opens or is invalid", policy.name, calendar
            )
            continue
        book.by_match[(policy.category_id, policy.priority)] = PolicySnapshot(
            policy_id=policy.pk,
            name=policy.name,
            category_id=policy.category_id,
            priority=policy.priority,
            calendar_name=calendar.name if calendar else ALWAYS_OPEN_NAME,
            calendar=spec,
            first_response_seconds=_seconds(policy.first_response_minutes),
            next_response_seconds=_seconds(policy.next_response_minutes),
            resolution_seconds=_seconds(policy.resolution_minutes),
            warn_at_percent=policy.warn_at_percent,
            warn_before_seconds=_seconds(policy.warn_before_minutes),
            chain_name=chain.name if chain else "",
            chain=tuple(sorted((_step_snapshot(s) for s in chain.steps.all()), key=step_sort_key))
            if chain
            else (),
        )
    _sla_cache = (digest, book)
    return book


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


def usable_calendar_spec(calendar: BusinessCalendar) -> BusinessCalendarSpec | None:
    """The calendar as a spec, or None if it is invalid or has no open hour (no deadline could ever
    be computed on it)."""
    try:
        spec = calendar_spec(calendar)
        business_add(spec, datetime(2026, 1, 1, tzinfo=UTC), 1)
    except ValueError:
        return None
    return spec


def calendar_spec(calendar: BusinessCalendar) -> BusinessCalendarSpec:
    return BusinessCalendarSpec(
        time_zone=calendar.time_zone,
        always_open=calendar.always_open,
        weekly_hours=tuple((h.weekday, h.opens_at, h.closes_at) for h in calendar.opening_hours.all()),
        holidays=frozenset(h.date for h in calendar.holidays.all()),
    )


def _step_snapshot(step: EscalationStep) -> dict[str, Any]:
    return {
        "position": step.position,
        "trigger": step.trigger,
        "delay_minutes": step.delay_minutes,
        "action": step.action,
        "role": step.role,
        "user_id": step.user_id,
        "repeat_every_minutes": step.repeat_every_minutes,
        "repeat_times": step.repeat_times,
        "label": str(step),
    }


# The response plan is the same for everyone who may read it (the API checks "sla.view"), like categories.
def sla_policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar", "escalation_chain").order_by("name")


def business_calendar_list() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.prefetch_related("opening_hours", "holidays").order_by("name")


def escalation_chain_list() -> QuerySet[EscalationChain]:
    return EscalationChain.objects.prefetch_related("steps").order_by("name")


# --- approvals -----------------------------------------------------------------------------------


# Configuration is the same for everyone who may read it (the API checks "approval.manage": admins).
def social_account_list() -> QuerySet[SocialAccount]:
    return SocialAccount.objects.order_by("name")


def approval_chain_list() -> QuerySet[ApprovalChain]:
    steps = ApprovalStep.objects.select_related("calendar", "escalation_chain")
    return ApprovalChain.objects.prefetch_related(Prefetch("steps", queryset=steps)).order_by("name")


def approval_rule_list() -> QuerySet[ApprovalRule]:
    return ApprovalRule.objects.select_related("chain").order_by("id")


@dataclass(frozen=True)
class ApprovalPlan:
    """The approval chain a reply needs, frozen as plain values when the reply is submitted."""

    chain_name: str
    steps: tuple[dict[str, Any], ...]


def approval_plan_for(*, tier: str, priority: str) -> ApprovalPlan | None:
    """The most specific rule for the tier and priority wins (tier and priority, then tier, then
    priority, then the catch-all). None: the reply needs no approval."""
    rules = {(r.tier, r.priority): r for r in ApprovalRule.objects.select_related("chain")}
    for key in ((tier, priority), (tier, ""), ("", priority), ("", "")):
        rule = rules.get(key)
        if rule is None:
            continue
        if rule.chain is None:
            return None
        steps = sorted(rule.chain.steps.all(), key=lambda s: STAGE_ORDER[s.stage])
        if not steps:
            return None
        return ApprovalPlan(
            chain_name=rule.chain.name, steps=tuple(_approval_step_snapshot(s) for s in steps)
        )
    return None


def full_approval_plan() -> ApprovalPlan | None:
    """The chain crisis mode imposes on every reply: the crisis tier's, else the one with most stages."""
    crisis = approval_plan_for(tier=Tier.CRISIS, priority=Priority.CRITICAL)
    if crisis is not None:
        return crisis
    chains = ApprovalChain.objects.prefetch_related("steps").order_by("id")
    longest = max(chains, key=lambda c: len(c.steps.all()), default=None)
    if longest is None or not longest.steps.all():
        return None
    steps = sorted(longest.steps.all(), key=lambda s: STAGE_ORDER[s.stage])
    return ApprovalPlan(chain_name=longest.name, steps=tuple(_approval_step_snapshot(s) for s in steps))


def _approval_step_snapshot(step: ApprovalStep) -> dict[str, Any]:
    return {
        "stage": step.stage,
        "label": step.get_stage_display(),
        "role": step.role,
        "target_minutes": step.target_minutes,
        "warn_at_percent": step.warn_at_percent,
        "calendar_id": step.calendar_id,
        "escalation_chain_id": step.escalation_chain_id,
    }


def approval_step_policy(*, step: dict[str, Any], chain_name: str) -> PolicySnapshot:
    """The SLA-engine policy of one approval step, so its clock warns, breaches and escalates like any
    response-time target. Calendar and escalation chain are read now and frozen onto the clock."""
    calendar = (
        BusinessCalendar.objects.prefetch_related("opening_hours", "holidays")
        .filter(pk=step["calendar_id"])
        .first()
        if step.get("calendar_id")
        else None
    )
    spec = usable_calendar_spec(calendar) if calendar else None
    escalation = (
        EscalationChain.objects.prefetch_related("steps").filter(pk=step["escalation_chain_id"]).first()
        if step.get("escalation_chain_id")
        else None
    )
    return PolicySnapshot(
        policy_id=None,
        name=f"{chain_name}: {step['label']}",
        category_id=None,
        priority="",
        calendar_name=calendar.name if calendar and spec else ALWAYS_OPEN_NAME,
        calendar=spec if spec else ALWAYS_OPEN,
        first_response_seconds=None,
        next_response_seconds=None,
        resolution_seconds=None,
        warn_at_percent=step.get("warn_at_percent"),
        warn_before_seconds=None,
        chain_name=escalation.name if escalation else "",
        chain=tuple(sorted((_step_snapshot(s) for s in escalation.steps.all()), key=step_sort_key))
        if escalation
        else (),
        reference_seconds=int(step["target_minutes"]) * 60,
    )


# --- who has access to the brand's accounts --------------------------------------------------------


def social_account_access_list(*, account_id: int) -> QuerySet[SocialAccountAccess]:
    """Every grant of one account, live ones first, with who granted and revoked it."""
    return (
        SocialAccountAccess.objects.filter(account_id=account_id)
        .select_related("account", "user", "granted_by", "revoked_by")
        .order_by("-id")
    )


def social_account_access_registry() -> QuerySet[SocialAccount]:
    """Every account with its owner and its live grants (and who gave each), in three queries."""
    live = SocialAccountAccess.objects.filter(revoked_at__isnull=True).select_related("user", "granted_by")
    return (
        SocialAccount.objects.select_related("owner")
        .prefetch_related(Prefetch("grants", queryset=live.order_by("user__username"), to_attr="live_grants"))
        .order_by("name")
    )


def offboarding_checklist_list(*, open_only: bool = False) -> QuerySet[OffboardingChecklist]:
    items = OffboardingItem.objects.select_related("account", "ticked_by").order_by("id")
    checklists = OffboardingChecklist.objects.select_related("user", "started_by").prefetch_related(
        Prefetch("items", queryset=items)
    )
    if open_only:
        checklists = checklists.filter(completed_at__isnull=True)
    return checklists.order_by("-id")


def access_audit_list() -> QuerySet[AccessAuditEvent]:
    return AccessAuditEvent.objects.select_related("actor", "subject", "account").order_by("-id")
