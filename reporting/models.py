"""Reporting's own rows: the monthly review reports, stored as generated (reporting writes nothing else)."""

from __future__ import annotations

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
