"""Reporting's own rows: the monthly review reports, stored as generated (reporting writes nothing else)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class MonthlyReport(models.Model):
    """The review of one calendar month (UTC), made on the first of the next: the figures as they stood
    then, as a page and a PDF, so what was reviewed can be read again unchanged."""

    month = models.DateField(unique=True, help_text="The first day of the month reviewed.")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive: the first moment of the next month.")
    generated_at = models.DateTimeField()
    headlines = models.JSONField(default=list, help_text="The headline figures, for the list and the email.")
    html = models.TextField()
    pdf = models.BinaryField()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Monthly review {self.month:%B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.month:%Y-%m}"


# --- rollups: what the dashboard reads instead of the raw tables ------------------------------------------
#
# Triggers on the tables a figure depends on queue the ids of the incidents a statement touched
# (RollupDirty); `rollup_refresh` (a beat task every 15 seconds) drains the queue, rewrites those
# incidents' facts (IncidentFact: one narrow row per incident with every duration and outcome already
# worked out) and then each touched day's slices (DaySlice: per UTC day and per filter value, the
# counts and the sorted durations). RollupState records up to when the rollups are complete.


class IncidentFact(models.Model):
    """One incident as the reports count it, worked out from its clocks, replies, mentions and surveys.
    Incidents merged into another have no fact (the survivor counts their mentions and replies)."""

    incident_id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    day = models.DateField(help_text="The UTC day the incident was created.")
    category_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=16, blank=True)
    priority = models.CharField(max_length=16)
    status = models.CharField(max_length=32)
    platform = models.CharField(max_length=32, blank=True)
    assignee_id = models.BigIntegerField(null=True)
    assigned_role = models.CharField(max_length=32, blank=True)
    products = ArrayField(models.TextField(), default=list)
    mention_count = models.IntegerField(default=0)
    surge_title = models.TextField(null=True, help_text="The title, for a surge incident.")
    first_response_clock = models.FloatField(null=True)
    resolution_clock = models.FloatField(null=True)
    first_response_business = ArrayField(models.FloatField(), default=list)
    resolution_business = ArrayField(models.FloatField(), default=list)
    has_targets = models.BooleanField(default=False)
    targets_stopped = ArrayField(models.TextField(), default=list)
    targets_breached = ArrayField(models.TextField(), default=list)
    step_stages = ArrayField(models.TextField(), default=list)
    step_clock = ArrayField(models.FloatField(), default=list)
    step_business = ArrayField(models.FloatField(), default=list)
    replies_decided = models.IntegerField(default=0)
    replies_sent_back = models.IntegerField(default=0)
    mentions = models.JSONField(default=dict, help_text='Mentions by "platform|sentiment".')
    unanswered_posted = ArrayField(
        models.BigIntegerField(),
        default=list,
        help_text="Microseconds since the epoch, per unanswered mention.",
    )
    surveys_sent = models.IntegerField(default=0)
    survey_ratings = ArrayField(models.IntegerField(), default=list)
    survey_weeks = ArrayField(models.DateField(), default=list)
    recurrence_counted = models.BooleanField(default=False)
    recurred_products = ArrayField(models.TextField(), default=list)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="fact_day"),
            # Recurrence: the later incidents of a category, probed from each fact.
            models.Index(fields=["category_id", "created_at"], name="fact_category_created"),
        ]

    def __str__(self) -> str:
        return f"Facts of incident #{self.incident_id}"


class FactProduct(models.Model):
    """One (incident, product) of a categorised incident, for recurrence: did an incident of the same
    category with the same product come within 30 days after? One index range answers it."""

    incident_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    product = models.TextField()
    created_at = models.DateTimeField()
    came_back = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["category_id", "product", "created_at"], name="factproduct_theme_created"),
            # A new incident can only make those come back that have not yet: few, in their own index.
            models.Index(
                fields=["category_id", "product", "created_at"],
                condition=models.Q(came_back=False),
                name="factproduct_waiting",
            ),
            models.Index(fields=["incident_id"], name="factproduct_incident"),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.product}"


class DaySlice(models.Model):
    """The figures of one UTC day's incidents for one filter value ("" for all, "priority:high", ...):
    counts in `figures`, and every duration of the day sorted, packed as doubles in `durations` (the
    offsets are in figures["durations"]), so a range's exact percentiles merge a few sorted runs."""

    day = models.DateField(help_text="The day, or the Monday of the week.")
    span = models.CharField(max_length=8, default="day", help_text="day, or week (Monday to Sunday).")
    slice = models.CharField(max_length=200)
    figures = models.JSONField()
    durations = models.BinaryField()
    fences = models.BinaryField(default=bytes, help_text="Every FENCE_STEP-th duration of each sorted part.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slice", "span", "day"], name="dayslice_slice_span_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.slice or 'all'}"


class RollupDirty(models.Model):
    """An incident whose facts must be worked out again (a queue, appended to by triggers)."""

    incident_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"Incident #{self.incident_id} to refresh"


class RollupDirtyDay(models.Model):
    """A day whose slices must be rebuilt from the facts."""

    day = models.DateField(primary_key=True)

    def __str__(self) -> str:
        return f"{self.day} to rebuild"


class RollupState(models.Model):
    """One row: the rollups hold every change committed before `complete_as_of`."""

    complete_as_of = models.DateTimeField(null=True)
    refreshed_at = models.DateTimeField(null=True)
    last_incidents = models.IntegerField(default=0)
    last_days = models.IntegerField(default=0)
    last_seconds = models.FloatField(default=0)
    recurrence_pending = models.BooleanField(
        default=False, help_text="A build took facts without recurrence: work it out for all of them."
    )

    def __str__(self) -> str:
        return f"Rollups complete as of {self.complete_as_of}"
