"""Celery tasks of the reports: thin wrappers over the services; safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="reporting.tasks.monthly_report_for_last_month", ignore_result=True)
def monthly_report_for_last_month() -> int:
    """Beat sends this on the first of each month; it makes the previous month's review once (a repeat
    finds it made) and returns its id."""
    from reporting.services import month_before, monthly_report_generate

    now = timezone.now()
    return monthly_report_generate(month=month_before(now.date()), now=now).pk


@shared_task(name="reporting.tasks.rollups_refresh", ignore_result=True)
def rollups_refresh() -> int:
    """Beat sends this every 15 seconds: the rollups take every change committed before it started (a
    second run at the same time finds the lock taken and does nothing). Returns the incidents taken."""
    from reporting.rollups.refresh import rollup_refresh

    return rollup_refresh().incidents
