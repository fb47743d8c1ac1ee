"""The one row of spike detection settings: read it, creating it with the defaults the first time (two
first readers at once both get the same row)."""

from __future__ import annotations

from protocols.models import SpikeSettings


def spike_settings_load() -> SpikeSettings:
    settings, _ = SpikeSettings.objects.get_or_create(pk=1)
    return settings
