"""The only signal receivers of the audit log, connected in ProtocolsConfig.ready(). Django and django-axes
tell of sign-ins only through signals, and Celery of tasks; each receiver appends one audit row or names
the task's actor to the database, and does nothing else (no side effects beyond the record)."""

from __future__ import annotations

from typing import Any

from celery import signals as celery_signals
from django.apps import apps
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from protocols import audit_actor
from protocols.models import AuditAction
from protocols.services.audit import audit_auth_record

USERNAME_FIELD = "username"


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_auth_record(action=AuditAction.LOGIN, request=request, user=user)


def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_auth_record(action=AuditAction.LOGOUT, request=request, user=user)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already replaced anything that looks like a password with stars; only the name is kept.
    audit_auth_record(
        action=AuditAction.LOGIN_FAILED, request=request, username=str(credentials.get(USERNAME_FIELD, ""))
    )


def on_locked_out(sender: Any, request: HttpRequest | None, username: str = "", **kwargs: Any) -> None:
    audit_auth_record(
        action=AuditAction.LOCKED_OUT, request=request, username=username or "", reason="too many failures"
    )


def on_task_prerun(task_id: str, task: Any, **kwargs: Any) -> None:
    audit_actor.task_started(task_id, is_eager=bool(getattr(task.request, "is_eager", False)))


def on_task_postrun(task_id: str, **kwargs: Any) -> None:
    audit_actor.task_finished(task_id)


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="firebreak-audit-login")
    user_logged_out.connect(on_logged_out, dispatch_uid="firebreak-audit-logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="firebreak-audit-login-failed")
    if apps.is_installed("axes"):
        from axes.signals import user_locked_out

        user_locked_out.connect(on_locked_out, dispatch_uid="firebreak-audit-locked-out")
    celery_signals.task_prerun.connect(on_task_prerun, dispatch_uid="firebreak-audit-task-start")
    celery_signals.task_postrun.connect(on_task_postrun, dispatch_uid="firebreak-audit-task-end")
