"""The written response plan as data: who holds which role, incident categories and their tier,
triage rules that route incoming mentions, response-time policies with their business calendars and
escalation chains, where notifications go, and the credentials other systems use to reach us."""

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
    is_on_duty = models.BooleanField(
        default=True, help_text="Escalations that reassign to this role pick among members on duty."
    )
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


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    """A bearer token for REST clients. Only a SHA-256 of the secret is stored; the secret is shown
    once when the token is created. A read-only token may only read (GET, HEAD, OPTIONS), whatever its
    user's roles allow; a write token may do what the user may."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # Tokens made before scopes existed could write; they keep that ("write" default for old rows).
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.WRITE)
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


class BusinessCalendar(models.Model):
    """When the clock runs: a time zone, weekly opening hours and holidays. A policy without a calendar
    counts every second (24/7)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Stockholm.")
    always_open = models.BooleanField(default=False, help_text="24/7: opening hours and holidays ignored.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One open interval on one weekday, local time. Closing at 00:00 means open until midnight."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")) | Q(closes_at="00:00"),
                name="opening_hours_close_after_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class EscalationChain(models.Model):
    """What happens, in order, when a response-time target is about to be missed or is missed. A copy is
    frozen onto each clock when it starts, so editing a chain never changes an escalation in flight."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EscalationTrigger(models.TextChoices):
    WARNING = "warning", "After the warning"
    BREACH = "breach", "After the breach"


class EscalationAction(models.TextChoices):
    NOTIFY_ROLE = "notify_role", "Notify a role"
    NOTIFY_USER = "notify_user", "Notify a user"
    REASSIGN_ROLE = "reassign_role", "Reassign to a role (least-loaded member on duty)"
    RAISE_PRIORITY = "raise_priority", "Raise priority"
    NOTIFY_MANAGEMENT = "notify_management", "Notify management"
    OPEN_CRISIS = "open_crisis", "Open crisis mode"


class EscalationStep(models.Model):
    chain = models.ForeignKey(EscalationChain, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    trigger = models.CharField(
        max_length=10, choices=EscalationTrigger.choices, default=EscalationTrigger.BREACH
    )
    delay_minutes = models.PositiveIntegerField(default=0, help_text="Minutes after the warning or breach.")
    action = models.CharField(max_length=20, choices=EscalationAction.choices)
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    repeat_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    repeat_times = models.PositiveSmallIntegerField(
        default=0, help_text="Extra times to repeat until someone acts (0 = once)."
    )

    class Meta:
        ordering = ["chain_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action__in=["notify_role", "reassign_role"]) | ~Q(role=""),
                name="escalation_step_role_required",
            ),
            models.CheckConstraint(
                condition=~Q(action="notify_user") | Q(user__isnull=False),
                name="escalation_step_user_required",
            ),
            models.CheckConstraint(
                condition=Q(repeat_times=0) | Q(repeat_every_minutes__gt=0),
                name="escalation_step_repeat_needs_interval",
            ),
            # A clock numbers each firing step * 1000 + repetition (incidents/services/clocks.py).
            models.CheckConstraint(
                condition=Q(repeat_times__lte=999), name="escalation_step_repeat_times_max"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_action_display()} {self.delay_minutes} min after {self.trigger}"


class SlaPolicy(models.Model):
    """Response-time targets for incidents of one category and/or priority (blank = any). The most
    specific active policy wins: category and priority, then category, then priority, then the default."""

    name = models.CharField(max_length=100, unique=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="sla_policies"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Empty means 24/7.",
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="After each customer message once the team has answered."
    )
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_at_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Warn when this share of the target has passed (1-99)."
    )
    warn_before_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Or warn this many business minutes before the deadline."
    )
    escalation_chain = models.ForeignKey(
        EscalationChain, null=True, blank=True, on_delete=models.PROTECT, related_name="policies"
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"],
                condition=Q(is_active=True),
                nulls_distinct=False,
                name="sla_policy_one_active_per_match",
                violation_error_message="Another active policy already covers this category and priority.",
            ),
            models.CheckConstraint(
                condition=Q(warn_at_percent__isnull=True)
                | Q(warn_at_percent__gte=1, warn_at_percent__lte=99),
                name="sla_policy_warn_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebhookFlavor(models.TextChoices):
    SLACK = "slack", "Slack-compatible"
    TEAMS = "teams", "Microsoft Teams-compatible"


class WebhookEndpoint(models.Model):
    """An incoming-webhook URL (Slack or Teams format) that receives the notifications of a role or a
    user. A channel that keeps failing is marked as failing and shown to admins."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=1000)
    flavor = models.CharField(max_length=10, choices=WebhookFlavor.choices, default=WebhookFlavor.SLACK)
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    is_active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(~Q(role="") & Q(user__isnull=True)) | (Q(role="") & Q(user__isnull=False)),
                name="webhook_endpoint_role_xor_user",
            )
        ]

    def __str__(self) -> str:
        return self.name
