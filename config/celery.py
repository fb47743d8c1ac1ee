"""The Celery app and its beat schedule; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("firebreak")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The SLA sweeper. `expires` drops ticks a busy worker could not start in time, so they never pile
    # up; the database, not the tick, says what is due.
    "sla-tick": {
        "task": "incidents.tasks.sla_tick",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    "sla-audit": {
        "task": "incidents.tasks.sla_audit",
        "schedule": 15.0,
        "options": {"expires": 30},
    },
    # New notifications queue the delivery task when they commit; this tick sends retries whose time
    # has come and anything a lost message missed.
    "deliver-due-notifications": {
        "task": "incidents.tasks.notifications_deliver_due",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # Outbound webhooks to integrators: new events queue the task when they commit; this sends retries
    # whose time has come, deliveries whose worker died (lease run out) and anything a lost message missed.
    "deliver-due-webhooks": {
        "task": "incidents.tasks.webhooks_deliver_due",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # Publishing retries (and any publish whose queued task was lost).
    "publish-due-replies": {
        "task": "incidents.tasks.replies_publish_due",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    # Moderation actions a webhook bridge performs: retries, and any whose queued task was lost.
    "perform-due-moderation": {
        "task": "incidents.tasks.moderation_perform_due",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    # Spike detection reads the per-minute counts intake keeps; a surge flags within its minute + 10 s.
    "detect-spikes": {
        "task": "incidents.tasks.spikes_detect",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    # The reports' rollups: every change reaches them within 15 s (the dashboard reads the raw tables
    # instead when they are more than a minute behind).
    "refresh-report-rollups": {
        "task": "reporting.tasks.rollups_refresh",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # The monthly review of the month just ended, made once, on the first of the next (UTC).
    "monthly-review-report": {
        "task": "reporting.tasks.monthly_report_for_last_month",
        "schedule": crontab(minute=5, hour=0, day_of_month=1),
    },
    "close-resolved-incidents": {
        "task": "incidents.tasks.close_resolved_incidents",
        "schedule": crontab(minute="*/10"),
    },
    # The review cadence of the plan: schedules for new plan objects, then the owners' reminders (each
    # once per due date, however often these run).
    "sync-review-schedules": {
        "task": "protocols.tasks.review_schedules_sync",
        "schedule": crontab(hour=5, minute=30),
    },
    "send-review-reminders": {
        "task": "protocols.tasks.review_reminders_send",
        "schedule": crontab(hour=6, minute=0),
    },
    # Post-incident reviews: one opens for each resolved high-priority or crisis incident; action items
    # due today or overdue remind their owners once per due date.
    "open-post-incident-reviews": {
        "task": "protocols.tasks.pirs_open_due",
        "schedule": crontab(minute="*/5"),
    },
    "send-pir-action-reminders": {
        "task": "protocols.tasks.pir_action_reminders_send",
        "schedule": crontab(hour=6, minute=15),
    },
}
