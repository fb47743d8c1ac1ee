"""Sensible per-platform length limits to start from; admins change them in the brand guidelines."""

from django.db import migrations

LIMITS = {
    "x": 280,
    "mastodon": 500,
    "instagram": 2200,
    "facebook": 8000,
    "linkedin": 3000,
    "tiktok": 2200,
    "youtube": 10000,
}


def add_limits(apps, schema_editor):
    PlatformLimit = apps.get_model("templates_app", "PlatformLimit")
    for platform, max_characters in LIMITS.items():
        PlatformLimit.objects.get_or_create(platform=platform, defaults={"max_characters": max_characters})


def remove_limits(apps, schema_editor):
    apps.get_model("templates_app", "PlatformLimit").objects.filter(platform__in=list(LIMITS)).delete()


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0001_initial")]

    operations = [migrations.RunPython(add_limits, remove_limits)]
