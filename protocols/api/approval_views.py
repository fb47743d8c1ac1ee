"""REST endpoints for the approval side of the response plan: social accounts (secrets write-only),
approval chains with their steps and approval rules. Admins only, for reading too; writes go through
the approval services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample

from protocols import selectors, services
from protocols.api import filters
from protocols.api import serializers as s
from protocols.api.views import ByNamePagination, _PlanViewSet, crud_schema
from protocols.models import ApprovalChain, ApprovalRule, SocialAccount

ADMIN_ONLY = {
    action: "approval.manage"
    for action in ("list", "retrieve", "create", "update", "partial_update", "destroy")
}


class ByIdPagination(ByNamePagination):
    ordering = "id"  # rules have no name; the id is unique and never changes


@crud_schema(
    noun="social account",
    plural="Social accounts",
    output=s.SocialAccountSerializer,
    input=s.SocialAccountInput,
    example=OpenApiExample(
        "Mastodon",
        request_only=True,
        value={
            "name": "Brand on Mastodon",
            "platform": "mastodon",
            "handle": "@brand@mastodon.social",
            "publisher": "mastodon",
            "mastodon_base_url": "https://mastodon.social",
            "mastodon_access_token": "<token with write:statuses>",
        },
    ),
    create="Register a social account replies are published to",
    update="Replace a social account (secrets left out are kept)",
    partial_update="Change some fields of a social account",
    destroy="Delete a social account nothing was published through",
    refused_when_in_use=True,
    in_use="Replies were published through it; switch it off instead. Nothing was deleted.",
)
class SocialAccountViewSet(_PlanViewSet):
    """The brand's accounts and how a reply reaches each: by hand (the responder pastes the post's URL),
    a signed webhook to a bridge, or the Mastodon API. The webhook secret and the access token are
    write-only: answers say only whether each is set (`has_webhook_secret`, `has_access_token`)."""

    serializer_class = s.SocialAccountSerializer
    input_class = s.SocialAccountInput
    filterset_class = filters.SocialAccountFilter
    queryset = SocialAccount.objects.none()
    action_permissions = ADMIN_ONLY

    def get_queryset(self) -> QuerySet[SocialAccount]:
        return selectors.social_account_list()

    def _save(self, account_id: int | None, data: dict[str, Any]) -> SocialAccount:
        if account_id is None:
            return services.social_account_create(actor=self.request.user, **data)
        return services.social_account_update(actor=self.request.user, account_id=account_id, **data)

    def _delete(self, account_id: int) -> None:
        services.social_account_delete(actor=self.request.user, account_id=account_id)


@crud_schema(
    noun="approval chain",
    plural="Approval chains",
    output=s.ApprovalChainSerializer,
    input=s.ApprovalChainInput,
    example=OpenApiExample(
        "Legal, then management",
        request_only=True,
        value={
            "name": "High priority sign-off",
            "steps": [
                {"stage": "legal_review", "role": "legal", "target_minutes": 120},
                {
                    "stage": "management_approval",
                    "role": "manager",
                    "target_minutes": 60,
                    "warn_at_percent": 50,
                },
            ],
        },
    ),
    create="Create an approval chain with its steps",
    update="Replace an approval chain and all its steps",
    partial_update="Change an approval chain; steps given replace all steps",
    destroy="Delete an approval chain no rule uses (replies in review keep their frozen copy)",
    refused_when_in_use=True,
    in_use="An approval rule uses it; nothing was deleted.",
)
class ApprovalChainViewSet(_PlanViewSet):
    """Who signs a reply off before it is published: review stages (legal review, then management
    approval), each decided by one role within a time target that runs on the SLA engine."""

    serializer_class = s.ApprovalChainSerializer
    input_class = s.ApprovalChainInput
    filterset_class = filters.ApprovalChainFilter
    queryset = ApprovalChain.objects.none()
    action_permissions = ADMIN_ONLY

    def get_queryset(self) -> QuerySet[ApprovalChain]:
        return selectors.approval_chain_list()

    def _save(self, chain_id: int | None, data: dict[str, Any]) -> ApprovalChain:
        if "steps" in data:
            data["steps"] = [services.ApprovalStepSpec(**row) for row in data["steps"]]
        return services.approval_chain_save(actor=self.request.user, chain_id=chain_id, **data)

    def _delete(self, chain_id: int) -> None:
        services.approval_chain_delete(actor=self.request.user, chain_id=chain_id)


@crud_schema(
    noun="approval rule",
    plural="Approval rules",
    output=s.ApprovalRuleSerializer,
    input=s.ApprovalRuleInput,
    example=OpenApiExample(
        "Crisis replies need sign-off",
        request_only=True,
        value={"tier": "crisis", "priority": "", "chain": 1},
    ),
    create="Create an approval rule",
    update="Replace an approval rule",
    partial_update="Change some fields of an approval rule",
    destroy="Delete an approval rule",
)
class ApprovalRuleViewSet(_PlanViewSet):
    """Which chain a reply needs, by its incident's category tier and priority (blank = any). The most
    specific rule wins; a rule without a chain, or no matching rule, means no approval."""

    serializer_class = s.ApprovalRuleSerializer
    input_class = s.ApprovalRuleInput
    filterset_class = filters.ApprovalRuleFilter
    queryset = ApprovalRule.objects.none()
    action_permissions = ADMIN_ONLY
    pagination_class = ByIdPagination

    def get_queryset(self) -> QuerySet[ApprovalRule]:
        return selectors.approval_rule_list()

    def _save(self, rule_id: int | None, data: dict[str, Any]) -> ApprovalRule:
        if rule_id is None:
            return services.approval_rule_create(actor=self.request.user, **data)
        return services.approval_rule_update(actor=self.request.user, rule_id=rule_id, **data)

    def _delete(self, rule_id: int) -> None:
        services.approval_rule_delete(actor=self.request.user, rule_id=rule_id)
