"""Who may do what with incidents and mentions. Services and views both ask here, so the browser,
the API, Celery and the admin all obey the same rules."""

from __future__ import annotations

from typing import Any

from protocols.models import Role
from protocols.selectors import user_roles

R = Role
TEAM = frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.LEGAL, R.MANAGER, R.SPOKESPERSON, R.ADMIN})

# action -> roles allowed. An action missing from this table is refused (fail closed).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "incident.view": TEAM | {R.INTEGRATION},
    "incident.create": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "incident.assign_self": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "incident.assign_other": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN}),
    "incident.categorize": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN}),
    "incident.prioritize": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN}),
    "incident.edit": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "incident.resolve": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "incident.reopen": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "incident.respond": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.SPOKESPERSON, R.ADMIN}),
    "incident.acknowledge": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "sla.view": TEAM | {R.INTEGRATION},
    "sla.manage": frozenset({R.ADMIN}),
    "mention.ingest": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN, R.INTEGRATION}),
    "mention.view": TEAM | {R.INTEGRATION},
    "category.view": TEAM | {R.INTEGRATION},
    "token.manage_own": TEAM | {R.INTEGRATION},
    "notification.view": TEAM,
    "webhook.view_failing": frozenset({R.ADMIN}),
}


def can(*, user: Any, action: str) -> bool:
    allowed = ACTION_ROLES.get(action)
    if allowed is None:
        return False
    return bool(user_roles(user=user) & allowed)


def can_assign(*, user: Any, assignee: Any | None) -> bool:
    """Taking an incident yourself needs less than handing it to someone else."""
    if assignee is not None and assignee.pk == user.pk:
        return can(user=user, action="incident.assign_self")
    return can(user=user, action="incident.assign_other")


def allowed_actions(*, user: Any) -> frozenset[str]:
    roles = user_roles(user=user)
    return frozenset(action for action, allowed in ACTION_ROLES.items() if roles & allowed)
