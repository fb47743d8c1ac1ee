"""Celery tasks for incidents: thin wrappers that call a service; safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from incidents.services.incidents import incidents_close_resolved


@shared_task(name="incidents.tasks.close_resolved_incidents")
def close_resolved_incidents() -> int:
    """Closes incidents that stayed resolved for FIREBREAK_AUTO_CLOSE_AFTER_HOURS (a closed incident
    cannot be reopened: new activity opens a new one). Loops in batches until no work is left."""
    cutoff = timezone.now() - timedelta(hours=settings.FIREBREAK_AUTO_CLOSE_AFTER_HOURS)
    total = 0
    while True:
        closed = incidents_close_resolved(resolved_before=cutoff)
        total += closed
        if closed == 0:
            return total
