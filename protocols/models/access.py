"""Who holds the keys to the brand's accounts: live grants per account and user, the checklist an
offboarding leaves behind (credentials to rotate, accounts to hand over) and the append-only audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from protocols.models.accounts import SocialAccount
from protocols.models.append_only import AppendOnlyModel

APPEND_ONLY = "Access audit events are append-only; they cannot be changed or deleted."


class SocialAccountAccess(models.Model):
    """One grant of access to an account. Revoking keeps the row (who, when) as the record; at most one
    live grant per account and user."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_grants"
    )
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["account_id", "-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "user"],
                condition=Q(revoked_at__isnull=True),
                name="account_access_one_live_grant",
            )
        ]
        indexes = [
            models.Index(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="account_access_live_by_user"
            )
        ]
        verbose_name = "account access"
        verbose_name_plural = "account access"

    def __str__(self) -> str:
        return f"{self.user} → {self.account}"


class OffboardingChecklist(models.Model):
    """What is left to do after a user was deactivated; complete when every item is ticked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offboardings")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(completed_at__isnull=True), name="offboarding_open"
            )
        ]

    def __str__(self) -> str:
        return f"Offboarding of {self.user}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class OffboardingItemKind(models.TextChoices):
    ROTATE_CREDENTIALS = "rotate_credentials", "Rotate credentials"
    REASSIGN_OWNER = "reassign_owner", "Give the account a new owner"


class OffboardingItem(models.Model):
    checklist = models.ForeignKey(OffboardingChecklist, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=OffboardingItemKind.choices)
    text = models.CharField(max_length=300)
    ticked_at = models.DateTimeField(null=True, blank=True)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["checklist_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "account", "kind"], name="offboarding_item_once")
        ]

    def __str__(self) -> str:
        return self.text


class AccessAuditAction(models.TextChoices):
    GRANT = "grant", "Access granted"
    REVOKE = "revoke", "Access revoked"
    OFFBOARD = "offboard", "User offboarded"
    TICK = "tick", "Checklist item done"


class AccessAuditEvent(AppendOnlyModel):
    """One thing that happened to somebody's access. A database trigger refuses UPDATE and DELETE, so
    the trail holds even against code that goes around this model."""

    append_only_message = APPEND_ONLY

    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=12, choices=AccessAuditAction.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        SocialAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject", "at"], name="access_audit_subject")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
