"""How spike detection judges a surge of negative mentions about one product: one row of settings,
created with the defaults on first use and edited in the admin."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class SpikeSettings(models.Model):
    bucket_minutes = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Width of the window that is compared."
    )
    baseline_hours = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1)], help_text="Trailing history the baseline is taken from."
    )
    minimum_count = models.PositiveIntegerField(
        default=5, help_text="Fewer negative mentions than this in the window are never a surge."
    )
    factor = models.FloatField(
        default=3.0, validators=[MinValueValidator(1.0)], help_text="How many times the baseline rate."
    )
    quiet_floor_per_minute = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0)],
        help_text="Baseline rates below this count as this rate, so a quiet product needs an absolute "
        "burst (factor x floor) rather than a few mentions more than its usual none.",
    )

    class Meta:
        verbose_name = "spike detection settings"
        verbose_name_plural = "spike detection settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="spike_settings_singleton")]

    def __str__(self) -> str:
        return "Spike detection settings"
