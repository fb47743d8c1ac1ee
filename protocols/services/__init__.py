"""Writes to the response plan, by subject: who gets in (roles, API tokens), the SLA side (policies,
calendars, escalation chains), the approval side (social accounts, approval chains and rules), the
"Identify the problem" checklists and who has access to the brand's accounts (grants, offboarding)."""

from protocols.services.access import (
    IssuedToken,
    api_token_create,
    api_token_revoke,
    token_digest,
    user_roles_set,
)
from protocols.services.account_access import (
    offboarding_item_tick,
    social_account_access_grant,
    social_account_access_revoke,
    user_offboard,
)
from protocols.services.approvals import (
    ApprovalStepSpec,
    approval_chain_delete,
    approval_chain_save,
    approval_rule_create,
    approval_rule_delete,
    approval_rule_update,
    social_account_create,
    social_account_delete,
    social_account_update,
)
from protocols.services.checklists import (
    checklist_question_create,
    checklist_question_delete,
    checklist_question_update,
    seed_identify_problem_questions,
)
from protocols.services.sla import (
    HolidayImport,
    business_calendar_delete,
    business_calendar_import_holidays,
    business_calendar_save,
    escalation_chain_delete,
    escalation_chain_save,
    sla_policy_create,
    sla_policy_delete,
    sla_policy_update,
)

__all__ = [
    "ApprovalStepSpec",
    "HolidayImport",
    "IssuedToken",
    "api_token_create",
    "api_token_revoke",
    "approval_chain_delete",
    "approval_chain_save",
    "approval_rule_create",
    "approval_rule_delete",
    "approval_rule_update",
    "business_calendar_delete",
    "business_calendar_import_holidays",
    "business_calendar_save",
    "checklist_question_create",
    "checklist_question_delete",
    "checklist_question_update",
    "escalation_chain_delete",
    "escalation_chain_save",
    "offboarding_item_tick",
    "seed_identify_problem_questions",
    "sla_policy_create",
    "sla_policy_delete",
    "sla_policy_update",
    "social_account_access_grant",
    "social_account_access_revoke",
    "social_account_create",
    "social_account_delete",
    "social_account_update",
    "token_digest",
    "user_offboard",
    "user_roles_set",
]
