"""The brand's social accounts and how a reply reaches each: by hand (the responder pastes the post's URL),
a signed webhook to a bridge (Zapier, Make, n8n, an in-house service) or the Mastodon REST API."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from protocols.models.plan import Platform


class PublisherKind(models.TextChoices):
    MANUAL = "manual", "Posted by hand"
    WEBHOOK = "webhook", "Signed webhook"
    MASTODON = "mastodon", "Mastodon API"


# publisher -> the fields it cannot work without, with the error shown when one is empty
REQUIRED_FIELDS: dict[str, dict[str, str]] = {
    PublisherKind.WEBHOOK: {
        "webhook_url": "A webhook account needs the URL to post to.",
        "webhook_secret": "A webhook account needs a signing secret.",
    },
    PublisherKind.MASTODON: {
        "mastodon_base_url": "A Mastodon account needs the instance URL.",
        "mastodon_access_token": "A Mastodon account needs an access token.",
    },
}


class SocialAccount(models.Model):
    name = models.CharField(max_length=100, unique=True)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    handle = models.CharField(max_length=150, blank=True)
    # who answers for the account (recovery email, 2FA device); offboarding them hands it over
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
    )
    publisher = models.CharField(max_length=10, choices=PublisherKind.choices, default=PublisherKind.MANUAL)
    # webhook: the bridge's URL and the shared secret the payload is signed with (HMAC-SHA256)
    webhook_url = models.URLField(max_length=1000, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)
    # mastodon: the instance and an access token with the write:statuses scope
    mastodon_base_url = models.URLField(max_length=300, blank=True)
    mastodon_access_token = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "name"]
        indexes = [models.Index(fields=["platform", "is_active"], name="social_account_platform")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    def clean(self) -> None:
        needed = REQUIRED_FIELDS.get(self.publisher, {})
        errors = {name: message for name, message in needed.items() if not getattr(self, name)}
        if errors:
            raise ValidationError(errors)
