"""Who must sign off a reply before it is posted: approval chains (ordered review stages, each decided
by one role within a time target) and the rules that pick a chain from an incident's tier and priority."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from protocols.models.plan import BusinessCalendar, EscalationChain, Priority, Role, Tier


class ApprovalStage(models.TextChoices):
    """The review stages a reply can wait in; a chain uses them in this order."""

    LEGAL_REVIEW = "legal_review", "Legal review"
    MANAGEMENT_APPROVAL = "management_approval", "Management approval"


STAGE_ORDER: dict[str, int] = {ApprovalStage.LEGAL_REVIEW: 1, ApprovalStage.MANAGEMENT_APPROVAL: 2}

# Who may decide a review stage: any team role; a REST client cannot sign off a reply.
APPROVER_ROLES = frozenset(role for role in Role if role != Role.INTEGRATION)


class ApprovalChain(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    """One stage of a chain: the role that decides and how long it may take. The step's clock runs on the
    SLA engine (warning, breach, escalation chain) like any response-time target."""

    chain = models.ForeignKey(ApprovalChain, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=24, choices=ApprovalStage.choices)
    role = models.CharField(max_length=32, choices=Role.choices)
    target_minutes = models.PositiveIntegerField(help_text="Time allowed for the decision.")
    warn_at_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, default=75, help_text="Warn when this share of the target has passed (1-99)."
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty means 24/7.",
    )
    escalation_chain = models.ForeignKey(
        EscalationChain, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_steps"
    )

    class Meta:
        ordering = ["chain_id", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "stage"], name="approval_step_one_per_stage"),
            models.CheckConstraint(condition=Q(target_minutes__gte=1), name="approval_step_target_positive"),
            models.CheckConstraint(
                condition=Q(warn_at_percent__isnull=True)
                | Q(warn_at_percent__gte=1, warn_at_percent__lte=99),
                name="approval_step_warn_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} by {self.get_role_display()} within {self.target_minutes} min"


class ApprovalRule(models.Model):
    """Which chain a reply needs, by the incident's category tier and priority (blank = any). The most
    specific rule wins (tier and priority, then tier, then priority, then the catch-all); an empty chain
    means replies go straight out. No matching rule also means no approval."""

    tier = models.CharField(max_length=20, choices=Tier.choices, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    chain = models.ForeignKey(
        ApprovalChain,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        help_text="Empty: no approval needed.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "priority"],
                name="approval_rule_one_per_match",
                violation_error_message="Another rule already covers this tier and priority.",
            )
        ]

    def __str__(self) -> str:
        tier = self.get_tier_display() if self.tier else "any tier"
        priority = self.get_priority_display() if self.priority else "any priority"
        return f"{tier}, {priority} → {self.chain or 'no approval'}"
