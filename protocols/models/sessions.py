"""When each user's sessions were last ended all at once ("sign out everywhere", offboarding): any
session signed in before that moment is refused by the session middleware."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SessionFence(models.Model):
    """One row per user who ever ended their sessions; the moment only moves forward."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="session_fence"
    )
    sessions_ended_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Sessions of {self.user} ended at {self.sessions_ended_at:%Y-%m-%d %H:%M}"
