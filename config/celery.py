"""The Celery app and its beat schedule; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("firebreak")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "close-resolved-incidents": {
        "task": "incidents.tasks.close_resolved_incidents",
        "schedule": crontab(minute="*/10"),
    },
}
