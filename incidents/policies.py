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
    # merging a duplicate into another incident, and undoing it within a day
    "incident.merge": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN}),
    # answering the "Identify the problem" checklist of a high-priority or crisis incident
    "incident.identify": frozenset({R.RESPONDER, R.PR, R.LEGAL, R.MANAGER, R.ADMIN}),
    "sla.view": TEAM | {R.INTEGRATION},
    "sla.manage": frozenset({R.ADMIN}),
    "mention.ingest": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN, R.INTEGRATION}),
    "mention.view": TEAM | {R.INTEGRATION},
    "category.view": TEAM | {R.INTEGRATION},
    "token.manage_own": TEAM | {R.INTEGRATION},
    # every user's API tokens: see them and revoke them
    "token.manage_all": frozenset({R.ADMIN}),
    "notification.view": TEAM,
    "webhook.view_failing": frozenset({R.ADMIN}),
    # outbound webhooks to integrators: subscriptions, their delivery log and replays
    "webhook.manage": frozenset({R.ADMIN}),
    # replies: drafting and publishing; deciding a review step also needs the step's own role
    "reply.view": TEAM | {R.INTEGRATION},
    "reply.draft": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.SPOKESPERSON, R.ADMIN}),
    "reply.decide": frozenset({R.LEGAL, R.MANAGER, R.ADMIN}),
    "reply.publish": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.SPOKESPERSON, R.ADMIN}),
    # templates, FAQs and talking points, brand guidelines
    "template.view": TEAM | {R.INTEGRATION},
    "template.edit": frozenset({R.RESPONDER, R.PR, R.MANAGER, R.ADMIN}),
    "template.approve": frozenset({R.MANAGER, R.ADMIN}),
    "faq.view": TEAM | {R.INTEGRATION},
    "faq.edit": frozenset({R.RESPONDER, R.PR, R.MANAGER, R.ADMIN}),
    "brand.view": TEAM | {R.INTEGRATION},
    "brand.edit": frozenset({R.PR, R.MANAGER, R.ADMIN}),
    # crisis mode: everyone sees it (the banner); managers switch it on, renew and end it
    "crisis.view": TEAM | {R.INTEGRATION},
    "crisis.manage": frozenset({R.MANAGER, R.ADMIN}),
    # reports: the dashboard, its exports and the monthly review reports
    "report.view": frozenset({R.MANAGER, R.ADMIN}),
    # the brand's social accounts and approval chains (configuration)
    "account.view": TEAM,
    "approval.manage": frozenset({R.ADMIN}),
    # the checklist questions each high-priority and crisis category asks
    "checklist.manage": frozenset({R.ADMIN}),
    # evidence: capturing a mention (and screenshots), reading it, legal hold, deleting what is not held
    "evidence.capture": frozenset({R.RESPONDER, R.PR, R.LEGAL, R.MANAGER, R.ADMIN}),
    "evidence.view": frozenset({R.LEGAL, R.MANAGER, R.ADMIN, R.PR}),
    "evidence.hold": frozenset({R.LEGAL, R.ADMIN}),
    "evidence.delete": frozenset({R.ADMIN}),
    # a customer's personal data on request: export it, erase it (GDPR)
    "personal_data.manage": frozenset({R.LEGAL, R.ADMIN}),
    # moderation: acting on a mention under the community guidelines; editing the guidelines
    "mention.moderate": frozenset({R.RESPONDER, R.MANAGER, R.ADMIN}),
    "moderation.manage": frozenset({R.ADMIN}),
    # customer-satisfaction surveys: sending one after resolution (as a drafted reply); reading ratings
    "survey.send": frozenset({R.RESPONDER, R.SUPPORT_LIAISON, R.PR, R.MANAGER, R.ADMIN}),
    "survey.view": TEAM | {R.INTEGRATION},
    # who has access to the brand's accounts; offboarding a user
    "access.view": frozenset({R.MANAGER, R.ADMIN}),
    "access.manage": frozenset({R.ADMIN}),
    # the audit log: sign-ins, refusals and every configuration change (read-only, append-only)
    "audit.view": frozenset({R.ADMIN}),
    # the review cadence of the plan: anyone on the team sees and marks the reviews they own; managers
    # and admins see and mark every one, and set owners and intervals
    "review.view": TEAM,
    "review.view_all": frozenset({R.MANAGER, R.ADMIN}),
    "review.mark_own": TEAM,
    "review.manage": frozenset({R.MANAGER, R.ADMIN}),
    # post-incident reviews of resolved high-priority and crisis incidents: the team reads them; who
    # investigates incidents writes them (and their action items and lessons); managers complete them
    "pir.view": TEAM,
    "pir.edit": frozenset({R.RESPONDER, R.PR, R.LEGAL, R.MANAGER, R.ADMIN}),
    "pir.complete": frozenset({R.MANAGER, R.ADMIN}),
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
