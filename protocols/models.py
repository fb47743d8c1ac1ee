"""The written response plan as data: who holds which role, incident categories and their tier,
triage rules that route incoming mentions, and the credentials other systems use to reach us."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    RESPONDER = "responder", "Responder"
    SUPPORT_LIAISON = "support_liaison", "Support liaison"
    PR = "pr", "PR"
    LEGAL = "legal", "Legal"
    MANAGER = "manager", "Manager"
    SPOKESPERSON = "spokesperson", "Spokesperson"
    ADMIN = "admin", "Admin"
    INTEGRATION = "integration", "Integration (REST client)"


class RoleAssignment(models.Model):
    """One role held by one user; a user may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")]
        ordering = ["user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class Tier(models.TextChoices):
    ROUTINE = "routine", "Routine"
    HIGH_PRIORITY = "high_priority", "High priority"
    CRISIS = "crisis", "Crisis"


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.ROUTINE)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Platform(models.TextChoices):
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    X = "x", "X"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"
    LINKEDIN = "linkedin", "LinkedIn"
    GOOGLE_REVIEWS = "google_reviews", "Google Reviews"
    TRUSTPILOT = "trustpilot", "Trustpilot"
    MASTODON = "mastodon", "Mastodon"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class TriageRule(models.Model):
    """When an incoming mention opens an incident, every active rule that matches it (in order)
    applies its actions. A rule matches when all of its non-empty conditions hold."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=100, help_text="Lower runs first; later rules win.")
    is_active = models.BooleanField(default=True)
    # Conditions (empty = not checked).
    keywords = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        help_text="Any of these words or phrases in the text (case-insensitive).",
    )
    authors = ArrayField(
        models.CharField(max_length=150),
        default=list,
        blank=True,
        help_text="Any of these author handles (e.g. VIPs, influencers), without '@'.",
    )
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    # Actions (empty = left as is).
    set_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    set_priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    add_tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    route_to_role = models.CharField(max_length=32, choices=Role.choices, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for REST clients. Only a SHA-256 of the secret is stored; the secret is shown
    once when the token is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IntakeSource(models.Model):
    """A social listening tool that pushes mentions to the signed webhook with its own secret."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    secret = models.CharField(max_length=128, help_text="Shared HMAC-SHA256 secret.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(secret=""), name="intake_source_secret_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name
