"""Crisis mode: while on, only the named publishers may publish, every reply needs the full approval chain,
the holding statement is offered first and "stay silent" can block everything else. One row per
activation; at most one is on at a time. Its timeline is the crisis incident's."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from incidents.models.core import Incident
from protocols.models import Role


def default_publisher_roles() -> list[str]:
    return [Role.SPOKESPERSON, Role.PR]


class CrisisMode(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="crisis_modes")
    reason = models.TextField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when an escalation step switched it on.",
    )
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    publisher_roles = ArrayField(
        models.CharField(max_length=32, choices=Role.choices), default=default_publisher_roles, blank=True
    )
    stay_silent = models.BooleanField(
        default=False, help_text="Block all publishing but the holding statement."
    )
    holding_template_id = models.PositiveIntegerField(null=True, blank=True)
    holding_template_name = models.CharField(max_length=200, blank=True)
    status_update_minutes = models.PositiveIntegerField(default=60)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one crisis at a time: the row still on has no end, and NULLs count as equal here.
            models.UniqueConstraint(
                fields=["ended_at"],
                condition=Q(ended_at__isnull=True),
                nulls_distinct=False,
                name="crisis_one_on_at_a_time",
                violation_error_message="Crisis mode is already on.",
            ),
            models.CheckConstraint(
                condition=Q(status_update_minutes__gte=5), name="crisis_update_minutes_min"
            ),
        ]

    def __str__(self) -> str:
        return f"Crisis mode since {self.started_at:%Y-%m-%d %H:%M} ({self.reason[:40]})"

    @property
    def is_on(self) -> bool:
        return self.ended_at is None

    @property
    def publisher_labels(self) -> list[str]:
        return [str(Role(r).label) for r in self.publisher_roles if r in Role.values]
