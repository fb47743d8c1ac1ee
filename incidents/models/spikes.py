"""Per-minute mention counts by product tag and sentiment, kept up to date by intake (one upsert per
batch) so spike detection reads a small table instead of scanning mentions."""

from __future__ import annotations

from django.db import models


class MentionBucket(models.Model):
    tag = models.CharField(max_length=80)
    sentiment = models.CharField(max_length=10)
    bucket_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index the detector reads by: one tag's negative counts over a time range.
            models.UniqueConstraint(
                fields=["tag", "sentiment", "bucket_start"], name="mention_bucket_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tag}/{self.sentiment} {self.bucket_start:%Y-%m-%d %H:%M}: {self.count}"
