"""The named users of tests/conftest.py grouped the way the permission matrices need them."""

ROLES = [
    "responder",
    "liaison",
    "pr_user",
    "legal",
    "manager",
    "spokesperson",
    "admin_user",
    "integration",
    "outsider",
]
TEAM = {"responder", "liaison", "pr_user", "legal", "manager", "spokesperson", "admin_user"}
WORKERS = {"responder", "liaison", "pr_user", "manager", "admin_user"}  # create, take, edit, resolve
RESPONDERS = WORKERS | {"spokesperson"}  # may log a response to the customer
ACKNOWLEDGERS = WORKERS  # may acknowledge, which stops pending escalations
TRIAGERS = {"responder", "manager", "admin_user"}  # assign others, categorize, prioritize
