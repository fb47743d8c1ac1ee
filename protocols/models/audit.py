"""The audit log: sign-ins and their failures, refused requests, and every change to the configuration
(written by PostgreSQL triggers, see protocols/audit_tables.py). Append-only, in Python and in the
database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from protocols.models.append_only import AppendOnlyModel

APPEND_ONLY = "Audit events are append-only; they cannot be changed or deleted."


class AuditKind(models.TextChoices):
    AUTH = "auth", "Sign-in"
    REFUSAL = "refusal", "Refusal"
    CONFIG = "config", "Configuration change"


class AuditAction(models.TextChoices):
    INSERT = "insert", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOGOUT = "logout", "Signed out"
    LOCKED_OUT = "locked_out", "Locked out"
    TOKEN_FAILED = "token_failed", "API token refused"
    REFUSED = "refused", "Refused"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    is_secret: bool  # a password hash, token digest or shared secret: that it changed, never its value


class AuditEvent(AppendOnlyModel):
    """One recorded event. Configuration rows come from the tables' triggers, with the actor the
    request (or Celery: "system") told the database session; a trigger refuses UPDATE and DELETE."""

    append_only_message = APPEND_ONLY

    at = models.DateTimeField(db_default=Now())
    kind = models.CharField(max_length=8, choices=AuditKind.choices)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    # No foreign key constraint: the record of a user outlives the user (the name is kept beside it).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    table_name = models.CharField(max_length=63, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # configuration: {column: {"old": …, "new": …}} or {column: {"secret": true}}
    changes = models.JSONField(default=dict, blank=True)
    # sign-ins and refusals: the username tried, method, path, the action refused, the reason
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["at"], name="audit_event_at"),
            models.Index(fields=["table_name", "object_id"], name="audit_event_object"),
            models.Index(fields=["actor"], name="audit_event_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_name or 'nobody'} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def field_changes(self) -> list[FieldChange]:
        return [
            FieldChange(
                field=name,
                old=change.get("old"),
                new=change.get("new"),
                is_secret=bool(change.get("secret")),
            )
            for name, change in sorted(self.changes.items())
        ]
