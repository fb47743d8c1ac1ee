"""Who may touch the brand's accounts: granting and revoking access, offboarding a user (sessions, API
tokens and grants end at once, a checklist of credentials to rotate remains) and ticking that checklist."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, ValidationFailed
from protocols.models import (
    AccessAuditAction,
    AccessAuditEvent,
    ApiToken,
    OffboardingChecklist,
    OffboardingItem,
    OffboardingItemKind,
    SocialAccount,
    SocialAccountAccess,
)
from protocols.services.common import locked, require
from protocols.services.sessions import user_sessions_end

REFUSAL = "Only admins manage who has access to the brand's accounts."


def _audit(
    *,
    actor: Any,
    action: str,
    subject: Any | None = None,
    account: SocialAccount | None = None,
    details: dict[str, Any] | None = None,
) -> AccessAuditEvent:
    return AccessAuditEvent.objects.create(
        at=timezone.now(),
        actor=actor,
        action=action,
        subject=subject,
        account=account,
        details=details or {},
    )


def _user(*, user_id: int) -> Any:
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    return user


@transaction.atomic
def social_account_access_grant(
    *, actor: Any, account_id: int, user_id: int, note: str = ""
) -> SocialAccountAccess:
    """Records that a user has access to an account; a second live grant for the same pair answers 409."""
    require(actor=actor, action="access.manage", refusal=REFUSAL)
    account = locked(SocialAccount, pk=account_id, missing="Social account not found.")
    user = _user(user_id=user_id)
    if not user.is_active:
        raise ValidationFailed(
            "user: This user is deactivated.", fields={"user": ["This user is deactivated."]}
        )
    grant = SocialAccountAccess(
        account=account, user=user, granted_at=timezone.now(), granted_by=actor, note=note.strip()
    )
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError:
        raise Conflict(f"{user.get_username()} already has access to {account.name}.") from None
    _audit(
        actor=actor,
        action=AccessAuditAction.GRANT,
        subject=user,
        account=account,
        details={"access_id": grant.pk, "note": grant.note},
    )
    return grant


@transaction.atomic
def social_account_access_revoke(*, actor: Any, access_id: int, note: str = "") -> SocialAccountAccess:
    """Ends a live grant (compare-and-set); one already revoked answers 409 and nothing changes."""
    require(actor=actor, action="access.manage", refusal=REFUSAL)
    grant = SocialAccountAccess.objects.select_related("account", "user").filter(pk=access_id).first()
    if grant is None:
        raise NotFound("Account access not found.")
    now = timezone.now()
    changed = SocialAccountAccess.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    )
    if changed == 0:
        raise Conflict("This access was already revoked.")
    _audit(
        actor=actor,
        action=AccessAuditAction.REVOKE,
        subject=grant.user,
        account=grant.account,
        details={"access_id": grant.pk, "note": note.strip()},
    )
    grant.refresh_from_db()
    return grant


@transaction.atomic
def user_offboard(*, actor: Any, user_id: int, reason: str) -> OffboardingChecklist:
    """Deactivates a user at once: sessions end, API tokens and account grants are revoked, and a
    checklist names every account whose credentials they knew (to rotate) or that they own (to hand
    over). A user already deactivated answers 409; admins cannot offboard themselves."""
    require(actor=actor, action="access.manage", refusal=REFUSAL)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("reason: Say why this user is offboarded.", fields={"reason": ["Required."]})
    if user_id == actor.pk:
        raise ValidationFailed("You cannot offboard yourself; ask another admin.")
    User = get_user_model()
    user = User._default_manager.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    now = timezone.now()
    # compare-and-set: two offboardings of one user make one checklist
    if User._default_manager.filter(pk=user.pk, is_active=True).update(is_active=False) == 0:
        raise Conflict(f"{user.get_username()} is already deactivated.")
    user.is_active = False
    # Deactivation alone already refuses the user's sessions (the auth backend refuses inactive users);
    # the fence also ends them for good should the user be reactivated.
    sessions_ended_at = user_sessions_end(actor=actor, user_id=user.pk).sessions_ended_at
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    grants = list(
        SocialAccountAccess.objects.select_related("account").filter(user=user, revoked_at__isnull=True)
    )
    SocialAccountAccess.objects.filter(pk__in=[g.pk for g in grants]).update(revoked_at=now, revoked_by=actor)
    owned = list(SocialAccount.objects.filter(owner=user).order_by("name"))
    checklist = OffboardingChecklist.objects.create(
        user=user, started_by=actor, reason=reason, created_at=now
    )
    items = [
        OffboardingItem(
            checklist=checklist,
            account=grant.account,
            kind=OffboardingItemKind.ROTATE_CREDENTIALS,
            text=f"Rotate the credentials of {grant.account.name}",
        )
        for grant in sorted(grants, key=lambda g: g.account.name)
    ] + [
        OffboardingItem(
            checklist=checklist,
            account=account,
            kind=OffboardingItemKind.REASSIGN_OWNER,
            text=f"Give {account.name} a new owner and rotate its recovery details",
        )
        for account in owned
    ]
    OffboardingItem.objects.bulk_create(items)
    if not items:
        OffboardingChecklist.objects.filter(pk=checklist.pk).update(completed_at=now)
        checklist.completed_at = now
    for grant in grants:
        _audit(
            actor=actor,
            action=AccessAuditAction.REVOKE,
            subject=user,
            account=grant.account,
            details={"access_id": grant.pk, "note": "offboarding"},
        )
    _audit(
        actor=actor,
        action=AccessAuditAction.OFFBOARD,
        subject=user,
        details={
            "reason": reason,
            "checklist_id": checklist.pk,
            "sessions_ended_at": sessions_ended_at.isoformat(),
            "tokens_revoked": tokens,
            "grants_revoked": len(grants),
            "owned_accounts": [account.pk for account in owned],
        },
    )
    return checklist


@transaction.atomic
def offboarding_item_tick(*, actor: Any, item_id: int) -> OffboardingItem:
    """Marks an item done (who, when); ticking it again answers 409. The last tick completes the list."""
    require(actor=actor, action="access.manage", refusal=REFUSAL)
    item = OffboardingItem.objects.select_related("checklist", "account").filter(pk=item_id).first()
    if item is None:
        raise NotFound("Offboarding item not found.")
    # The checklist's lock makes two last ticks run one after the other, so one of them completes it.
    checklist = locked(OffboardingChecklist, pk=item.checklist_id, missing="Offboarding checklist not found.")
    now = timezone.now()
    if (
        OffboardingItem.objects.filter(pk=item.pk, ticked_at__isnull=True).update(
            ticked_at=now, ticked_by=actor
        )
        == 0
    ):
        raise Conflict("This item was already ticked.")
    if not OffboardingItem.objects.filter(checklist=checklist, ticked_at__isnull=True).exists():
        OffboardingChecklist.objects.filter(pk=checklist.pk, completed_at__isnull=True).update(
            completed_at=now
        )
    _audit(
        actor=actor,
        action=AccessAuditAction.TICK,
        subject=checklist.user,
        account=item.account,
        details={"checklist_id": checklist.pk, "item_id": item.pk, "text": item.text},
    )
    item.refresh_from_db()
    return item
