"""The brand's community guidelines: what is acceptable, hidden, removed or reported and when, each rule
naming the moderation action it leads to; the active ones are published at /community-guidelines/."""

from __future__ import annotations

from django.db import models


class ModerationActionKind(models.TextChoices):
    HIDE = "hide", "Hide"
    REMOVE = "remove", "Remove"
    REPORT_PLATFORM = "report_platform", "Report to the platform"
    REPORT_POLICE = "report_police", "Report to the police"
    BLOCK_AUTHOR = "block_author", "Block the author"


class ModerationRule(models.Model):
    title = models.CharField(max_length=150)
    description = models.TextField(help_text="What is acceptable, hidden or removed, and when.")
    action = models.CharField(max_length=20, choices=ModerationActionKind.choices)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title
