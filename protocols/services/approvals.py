"""Writes to the approval side of the response plan: social accounts (secrets kept unless replaced),
approval chains saved whole with their steps, and approval rules; each validated, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from config.errors import NotFound
from protocols.models import (
    APPROVER_ROLES,
    STAGE_ORDER,
    ApprovalChain,
    ApprovalRule,
    ApprovalStage,
    ApprovalStep,
    BusinessCalendar,
    EscalationChain,
    SocialAccount,
)
from protocols.services.common import (
    delete_or_conflict,
    in_use_conflict,
    locked,
    refuse,
    refuse_unknown,
    require,
    rows_replace,
    save_or_conflict,
)
from protocols.sla_checks import name_taken_problem

ACCOUNT_FIELDS = frozenset(
    {"name", "platform", "handle", "publisher", "webhook_url", "webhook_secret"}
    | {"mastodon_base_url", "mastodon_access_token", "is_active"}
)
ACCOUNT_URL_FIELDS = ("webhook_url", "mastodon_base_url")
RULE_FIELDS = frozenset({"tier", "priority", "chain"})


def _require_manage(actor: Any) -> None:
    require(
        actor=actor,
        action="approval.manage",
        refusal="Only admins may change social accounts, approval chains and approval rules.",
    )


# --- Social accounts -----------------------------------------------------------------------------------


def _account_write(account: SocialAccount, changes: dict[str, Any]) -> SocialAccount:
    refuse_unknown(changes=changes, known=ACCOUNT_FIELDS)
    for field, value in changes.items():
        setattr(account, field, value.strip() if isinstance(value, str) else value)
    problems: dict[str, Any] = {}
    try:
        # Field rules (lengths, choices, URLs), the unique name and the model's clean(): what each
        # publisher cannot work without.
        account.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            problems["non_field_errors" if field == "__all__" else field] = messages
    for field in ACCOUNT_URL_FIELDS:
        url = getattr(account, field)
        if url and field not in problems and urlsplit(url).scheme not in ("http", "https"):
            problems[field] = ["Only http:// and https:// URLs can be posted to."]
    refuse(problems)
    save_or_conflict(account, conflict="Another account with that name was saved at the same time.")
    return account


@transaction.atomic
def social_account_create(
    *,
    actor: Any,
    name: str,
    platform: str,
    handle: str = "",
    publisher: str = "manual",
    webhook_url: str = "",
    webhook_secret: str = "",
    mastodon_base_url: str = "",
    mastodon_access_token: str = "",
    is_active: bool = True,
) -> SocialAccount:
    """A new account replies can be published to; the publisher decides which fields it needs."""
    _require_manage(actor)
    return _account_write(
        SocialAccount(),
        {
            "name": name,
            "platform": platform,
            "handle": handle,
            "publisher": publisher,
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
            "mastodon_base_url": mastodon_base_url,
            "mastodon_access_token": mastodon_access_token,
            "is_active": is_active,
        },
    )


@transaction.atomic
def social_account_update(*, actor: Any, account_id: int, **changes: Any) -> SocialAccount:
    """Changes the fields given. A secret (webhook_secret, mastodon_access_token) not given is kept:
    nobody can read it back to send it again."""
    _require_manage(actor)
    return _account_write(locked(SocialAccount, pk=account_id, missing="Social account not found."), changes)


@transaction.atomic
def social_account_delete(*, actor: Any, account_id: int) -> None:
    _require_manage(actor)
    account = locked(SocialAccount, pk=account_id, missing="Social account not found.")
    delete_or_conflict(
        account,
        conflict=(
            "Replies or access records refer to this account, so it is kept as their record; switch it "
            "off (is_active false) instead."
        ),
    )


# --- Approval chains -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalStepSpec:
    stage: str
    role: str
    target_minutes: int
    warn_at_percent: int | None = 75
    calendar: BusinessCalendar | None = None
    escalation_chain: EscalationChain | None = None


def approval_step_problems(steps: Sequence[ApprovalStepSpec]) -> list[dict[str, list[str]]]:
    """Per step (same order), what breaks the rules of a chain; an empty dict when nothing. Each stage
    appears once (the chain runs them in STAGE_ORDER), decided by a team role."""
    rows: list[dict[str, list[str]]] = []
    seen: dict[str, int] = {}
    for index, step in enumerate(steps, start=1):
        row: dict[str, list[str]] = {}
        if step.stage not in STAGE_ORDER:
            row["stage"] = [f"{step.stage!r} is not a review stage."]
        elif step.stage in seen:
            label = ApprovalStage(step.stage).label
            row["stage"] = [f"{label} is already step {seen[step.stage]}; each stage appears once."]
        else:
            seen[step.stage] = index
        if step.role not in APPROVER_ROLES:
            row["role"] = [f"{step.role!r} cannot decide a review stage; pick a team role."]
        if step.target_minutes < 1:
            row["target_minutes"] = ["The time allowed must be at least one minute."]
        if step.warn_at_percent is not None and not 1 <= step.warn_at_percent <= 99:
            row["warn_at_percent"] = ["Warn at a share between 1 and 99 percent, or not at all."]
        rows.append(row)
    return rows


def approval_chain_problems(
    *, chain: ApprovalChain, steps: Sequence[ApprovalStepSpec] | None
) -> dict[str, Any]:
    problems: dict[str, Any] = name_taken_problem(ApprovalChain, chain.name, chain.pk)
    if not chain.name:
        problems["name"] = ["A chain needs a name."]
    if steps is not None:
        if not steps:
            problems["steps"] = [
                "An approval chain needs at least one step; a rule with no chain needs none."
            ]
        else:
            rows = {str(i): row for i, row in enumerate(approval_step_problems(steps)) if row}
            if rows:
                problems["steps"] = rows
    return problems


@transaction.atomic
def approval_chain_save(
    *,
    actor: Any,
    chain_id: int | None = None,
    name: str | None = None,
    description: str | None = None,
    steps: Sequence[ApprovalStepSpec] | None = None,
) -> ApprovalChain:
    """Creates a chain (no id; steps required) or changes one; steps given replace all its steps.
    Replies already in review keep the chain they froze when submitted."""
    _require_manage(actor)
    if chain_id is None:
        chain = ApprovalChain(name="")
        steps = steps if steps is not None else []
    else:
        chain = locked(ApprovalChain, pk=chain_id, missing="Approval chain not found.")
    chain.name = (name if name is not None else chain.name).strip()
    chain.description = description if description is not None else chain.description
    refuse(approval_chain_problems(chain=chain, steps=steps))
    save_or_conflict(chain, conflict="Another chain with that name was saved at the same time.")
    if steps is not None:
        rows_replace(
            chain.steps,
            (
                ApprovalStep(
                    chain=chain,
                    stage=step.stage,
                    role=step.role,
                    target_minutes=step.target_minutes,
                    warn_at_percent=step.warn_at_percent,
                    calendar=step.calendar,
                    escalation_chain=step.escalation_chain,
                )
                for step in sorted(steps, key=lambda s: STAGE_ORDER[ApprovalStage(s.stage)])
            ),
        )
    return chain


@transaction.atomic
def approval_chain_delete(*, actor: Any, chain_id: int) -> None:
    _require_manage(actor)
    chain = locked(ApprovalChain, pk=chain_id, missing="Approval chain not found.")
    rules = [str(rule) for rule in ApprovalRule.objects.filter(chain=chain).select_related("chain")]
    if rules:
        raise in_use_conflict(
            what="approval chain", used_by="approval rules", those="rules", names=rules, joiner="; "
        )
    delete_or_conflict(chain, conflict="Something still refers to this approval chain; nothing was deleted.")


# --- Approval rules ------------------------------------------------------------------------------------


def _rule_write(rule: ApprovalRule, changes: dict[str, Any]) -> ApprovalRule:
    refuse_unknown(changes=changes, known=RULE_FIELDS)
    for field, value in changes.items():
        setattr(rule, field, value)
    taken = ApprovalRule.objects.filter(tier=rule.tier, priority=rule.priority).exclude(pk=rule.pk).exists()
    if taken:
        refuse({"non_field_errors": ["Another rule already covers this tier and priority."]})
    save_or_conflict(rule, conflict="Another rule for this tier and priority was saved at the same time.")
    return rule


@transaction.atomic
def approval_rule_create(
    *, actor: Any, tier: str = "", priority: str = "", chain: ApprovalChain | None = None
) -> ApprovalRule:
    """A rule for a tier and priority (blank = any); no chain means such replies need no approval."""
    _require_manage(actor)
    return _rule_write(ApprovalRule(), {"tier": tier, "priority": priority, "chain": chain})


@transaction.atomic
def approval_rule_update(*, actor: Any, rule_id: int, **changes: Any) -> ApprovalRule:
    _require_manage(actor)
    return _rule_write(locked(ApprovalRule, pk=rule_id, missing="Approval rule not found."), changes)


@transaction.atomic
def approval_rule_delete(*, actor: Any, rule_id: int) -> None:
    _require_manage(actor)
    deleted, _ = ApprovalRule.objects.filter(pk=rule_id).delete()
    if not deleted:
        raise NotFound("Approval rule not found.")
