"""Requests about a customer's personal data (GDPR access and erasure), as a record of what was done:
who asked, when, why, and what was found, erased or kept. The customer is named only by a SHA-256 of
their platform and handle, so the record of an erasure does not undo it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PersonalDataRequestKind(models.TextChoices):
    EXPORT = "export", "Export"
    ERASE = "erase", "Erasure"


class PersonalDataRequest(models.Model):
    kind = models.CharField(max_length=6, choices=PersonalDataRequestKind.choices)
    platform = models.CharField(max_length=20)
    subject_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of '<platform>:<handle in lower case>'."
    )
    pseudonym = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    requested_at = models.DateTimeField()
    mentions_found = models.PositiveIntegerField(default=0)
    mentions_erased = models.PositiveIntegerField(default=0)
    mentions_kept_on_hold = models.PositiveIntegerField(default=0)
    incidents_touched = models.PositiveIntegerField(default=0)
    evidence_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["subject_sha256"], name="pdr_subject")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.platform}, {self.requested_at:%Y-%m-%d}"
