"""Merging a duplicate incident into the one that survives: what was moved and what the duplicate was
before, so the merge can be undone exactly within a day."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from incidents.models.core import Incident

UNDO_WINDOW = timedelta(hours=24)


class IncidentMerge(models.Model):
    source = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="merges_out")
    target = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="merges_in")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    merged_at = models.DateTimeField()
    mention_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    reply_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    source_previous_status = models.CharField(max_length=20)
    # How the clocks changed, to put them back: the source's clocks the merge stopped, the approval-step
    # clocks that moved with their replies, and the target's clocks that took the source's earlier start.
    clock_changes = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.source_id} merged into #{self.target_id}"
