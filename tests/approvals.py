"""The approval chain the reply tests share: legal review within 2 h, then management approval within 1 h."""

from __future__ import annotations

from collections.abc import Sequence

from protocols.models import ApprovalChain, ApprovalRule, ApprovalStep, Role


def sign_off_chain(
    *, rules: Sequence[tuple[str, str]] = (("", "high"),), name: str = "Sign-off"
) -> ApprovalChain:
    """The chain, and an approval rule sending replies of each (tier, priority) in `rules` through it
    ("" = any). Anything else needs no approval."""
    chain = ApprovalChain.objects.create(name=name)
    ApprovalStep.objects.create(chain=chain, stage="legal_review", role=Role.LEGAL, target_minutes=120)
    ApprovalStep.objects.create(
        chain=chain, stage="management_approval", role=Role.MANAGER, target_minutes=60
    )
    for tier, priority in rules:
        ApprovalRule.objects.create(tier=tier, priority=priority, chain=chain)
    return chain
