"""A per-user fence: sessions signed in before it are refused ("sign out everywhere", offboarding)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("protocols", "0010_audit_log"),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionFence",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="session_fence",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("sessions_ended_at", models.DateTimeField()),
            ],
        ),
    ]
