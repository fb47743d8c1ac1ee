"""`manage.py create_api_token USERNAME [--name N] [--days D] [--read-only]`: issues a token and
prints it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from protocols.models import TokenScope
from protocols.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print its secret (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="CLI token")
        parser.add_argument(
            "--days", type=int, default=None, help="Expire after this many days (default: never)."
        )
        parser.add_argument(
            "--read-only", action="store_true", help="The token may only read (default: read and write)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['username']!r}.")
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        scope = TokenScope.READ if options["read_only"] else TokenScope.WRITE
        issued = api_token_create(user=user, name=options["name"], expires_at=expires_at, scope=scope)
        self.stdout.write(issued.secret)
