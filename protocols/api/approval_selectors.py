"""Reads of the approval side of the response plan: the brand's social accounts (where approved replies
are posted), approval chains with their steps, and the rules that pick a chain."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from protocols.models import ApprovalChain, ApprovalRule, ApprovalStep, SocialAccount


# Configuration is the same for everyone who may read it (the API checks "approval.manage": admins).
def social_account_list() -> QuerySet[SocialAccount]:
    return SocialAccount.objects.order_by("name")


def approval_chain_list() -> QuerySet[ApprovalChain]:
    steps = ApprovalStep.objects.select_related("calendar", "escalation_chain")
    return ApprovalChain.objects.prefetch_related(Prefetch("steps", queryset=steps)).order_by("name")


def approval_rule_list() -> QuerySet[ApprovalRule]:
    return ApprovalRule.objects.select_related("chain").order_by("id")
