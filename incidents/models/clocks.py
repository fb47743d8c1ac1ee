"""Response-time clocks: one row per running target with the next moment something must happen, and
one row per firing (warning, breach, escalation step) whose unique key makes each happen exactly once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from incidents.models.core import Incident


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"
    APPROVAL_STEP = "approval_step", "Approval step"
    CRISIS_UPDATE = "crisis_update", "Crisis status update"
    CRISIS_EXPIRY = "crisis_expiry", "Crisis mode expiry"


# Clocks that measure the incident's own response (and so make up its SLA state in the queue); crisis
# clocks only time reminders and the mode's end.
TARGET_CLOCK_KINDS = (
    ClockKind.FIRST_RESPONSE,
    ClockKind.NEXT_RESPONSE,
    ClockKind.RESOLUTION,
    ClockKind.APPROVAL_STEP,
)


class ClockStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


ACTIVE_CLOCK = Q(status=ClockStatus.RUNNING, next_fire_at__isnull=False)
LIVE_CLOCK = Q(status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED])


class SlaClock(models.Model):
    """Counts business time towards a target. The policy's numbers, its calendar and its escalation
    chain are copied in when the clock starts, so the clock explains itself and never changes under an
    escalation in flight. `due_at` = the calendar's `running_since + (target - consumed)`."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    # What the clock is about beyond its kind (the approval step of a reply, later); "" for incident clocks.
    reference = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=ClockStatus.choices, default=ClockStatus.RUNNING)
    policy = models.ForeignKey(
        "protocols.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy_name = models.CharField(max_length=100)
    calendar_name = models.CharField(max_length=100)
    calendar = models.JSONField(help_text="The business calendar as it was when the clock started.")
    chain = models.JSONField(default=list, blank=True, help_text="The escalation steps, frozen.")
    chain_name = models.CharField(max_length=100, blank=True)
    target_seconds = models.PositiveIntegerField(help_text="Business seconds allowed.")
    warn_after_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    consumed_seconds = models.FloatField(default=0, help_text="Business seconds used before running_since.")
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_for_seconds = models.FloatField(default=0, help_text="Wall-clock seconds spent paused so far.")
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Escalation progress: the next step of `chain` to fire and how often it has repeated.
    next_step = models.PositiveSmallIntegerField(default=0)
    step_repeats = models.PositiveSmallIntegerField(default=0)
    escalation_stopped_at = models.DateTimeField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The sweeper's only read: due active clocks, oldest first.
            models.Index(fields=["next_fire_at"], condition=ACTIVE_CLOCK, name="clock_active_next_fire"),
            models.Index(fields=["incident", "kind"], name="clock_incident_kind"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "reference"], condition=LIVE_CLOCK, name="clock_one_live_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} clock of incident {self.incident_id}"

    @property
    def is_breached(self) -> bool:
        return self.breached_at is not None


class FiringKind(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"
    STEP = "step", "Escalation step"


class ClockFiring(models.Model):
    """A warning, breach or escalation step that happened. Unique on (clock, kind, level): two sweepers,
    a retried task or a worker killed mid-batch can never record one twice."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="firings")
    kind = models.CharField(max_length=10, choices=FiringKind.choices)
    # 0 for warning and breach; for steps, step index * 1000 + repetition.
    level = models.PositiveIntegerField(default=0)
    scheduled_at = models.DateTimeField(help_text="When it was due.")
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clock", "kind", "level"], name="clock_firing_once"),
        ]
        indexes = [models.Index(fields=["fired_at"], name="clock_firing_fired")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.level} of clock {self.clock_id}"
