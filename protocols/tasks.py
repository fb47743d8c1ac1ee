"""Celery tasks of the response plan: thin wrappers around the review-cadence and post-incident review
services; safe to run twice or at once on several workers."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from protocols.services.cadence import review_reminders_send, review_schedules_sync
from protocols.services.post_incident import pir_action_reminders_send, pirs_open_due


@shared_task(name="protocols.tasks.review_schedules_sync", ignore_result=True)
def review_schedules_sync_task() -> int:
    """Daily: plan objects created since yesterday get their review schedule."""
    return review_schedules_sync(now=timezone.now())


@shared_task(name="protocols.tasks.review_reminders_send", ignore_result=True)
def review_reminders_send_task() -> int:
    """Daily: owners of reviews due within 7 days (managers for overdue ones nobody owns) are told once
    per due date. Creates missing schedules first, so an object added today is not skipped."""
    now = timezone.now()
    review_schedules_sync(now=now)
    return review_reminders_send(now=now)


@shared_task(name="protocols.tasks.pirs_open_due", ignore_result=True)
def pirs_open_due_task() -> int:
    """Every few minutes: a post-incident review for each newly resolved high-priority or crisis
    incident (one per incident, however often this runs). Loops in batches until none is left."""
    total = 0
    while True:
        opened = pirs_open_due(now=timezone.now())
        total += opened
        if opened == 0:
            return total


@shared_task(name="protocols.tasks.pir_action_reminders_send", ignore_result=True)
def pir_action_reminders_send_task() -> int:
    """Daily: owners of action items due today or overdue are reminded, once per due date."""
    return pir_action_reminders_send(now=timezone.now())
