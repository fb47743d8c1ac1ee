"""The words the team answers with: versioned response templates (drafted, approved, retired), their
history, FAQs and talking points, and the brand's guidelines (tone, banned phrases, required elements,
per-platform length limits)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from protocols.models import Category, Platform


class TemplateKind(models.TextChoices):
    COMPLAINT = "complaint", "Complaint"
    INQUIRY = "inquiry", "Inquiry"
    PRAISE = "praise", "Praise"
    APOLOGY = "apology", "Apology"
    HOLDING_STATEMENT = "holding_statement", "Holding statement"
    TAKE_OFFLINE = "take_offline", "Take it offline"


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # never approved yet: not offered in replies
    APPROVED = "approved", "Approved"  # has a current approved version
    RETIRED = "retired", "Retired"  # no longer offered; kept for the record


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    RETIRED = "retired", "Retired"


class ResponseTemplate(models.Model):
    """A template's identity and where it fits. The words live in its versions; `current_version` is
    the approved one offered to the composer."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=TemplateKind.choices)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="response_templates", help_text="None = suits every category."
    )
    platforms = ArrayField(
        models.CharField(max_length=20, choices=Platform.choices),
        default=list,
        blank=True,
        help_text="None = suits every platform.",
    )
    language = models.CharField(max_length=16, blank=True, help_text="e.g. en, sv; empty = any.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_response_templates"
    )
    status = models.CharField(
        max_length=10, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT, editable=False
    )
    current_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    review_due_on = models.DateField(help_text="When the owner must read it again.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), name="response_template_unique_name"),
            models.CheckConstraint(
                condition=~Q(status=TemplateStatus.APPROVED) | Q(current_version__isnull=False),
                name="response_template_approved_has_version",
            ),
        ]
        indexes = [
            GinIndex(fields=["platforms"], name="response_template_platforms"),
            models.Index(fields=["status", "review_due_on"], name="response_template_review"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateVersion(models.Model):
    """One numbered wording of a template. A draft is edited in place (its revision counts the edits);
    an approved version never changes: editing the template then starts the next draft."""

    template = models.ForeignKey(ResponseTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    variables = models.JSONField(default=list, blank=True, help_text='[{"name", "label", "default"}]')
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    revision = models.PositiveIntegerField(default=1, help_text="Counts in-place edits of a draft.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_template_versions"
    )
    # Everyone who wrote words of this version; none of them may approve it.
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_template_versions")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_template_versions",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique_number"),
            models.UniqueConstraint(
                fields=["template"], condition=Q(status="draft"), name="template_version_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(status="approved", approved_at__isnull=False, approved_by__isnull=False)
                | Q(status="retired", retired_at__isnull=False),
                name="template_version_decided_has_time",
            ),
        ]
        ordering = ["template_id", "-number"]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"


class TemplateEventKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Draft edited"
    NEW_VERSION = "new_version", "New draft version"
    DETAILS_CHANGED = "details_changed", "Details changed"
    APPROVED = "approved", "Version approved"
    RETIRED = "retired", "Retired"


class TemplateEvent(models.Model):
    """Append-only history of a template: who did what to which version, and when."""

    template = models.ForeignKey(ResponseTemplate, on_delete=models.CASCADE, related_name="events")
    version = models.ForeignKey(TemplateVersion, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=TemplateEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["template", "at"], name="template_event_template_at")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.template_id}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class FaqKind(models.TextChoices):
    FAQ = "faq", "FAQ"
    TALKING_POINT = "talking_point", "Talking point"


class FaqEntry(models.Model):
    """A question with its answer, or a talking point, shown beside the reply composer."""

    kind = models.CharField(max_length=20, choices=FaqKind.choices, default=FaqKind.FAQ)
    title = models.CharField(max_length=300, help_text="The question, or the point in a line.")
    body = models.TextField(help_text="The answer, or what to say about the point.")
    categories = models.ManyToManyField(
        Category, blank=True, related_name="faq_entries", help_text="None = relevant everywhere."
    )
    products = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by PostgreSQL itself, so no write path can forget it; the title weighs more than the body.
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="faq_entry_search"),
            GinIndex(fields=["products"], name="faq_entry_products"),
        ]
        ordering = ["title", "id"]
        verbose_name = "FAQ or talking point"
        verbose_name_plural = "FAQs and talking points"

    def __str__(self) -> str:
        return self.title


class BannedPhrase(models.Model):
    """Words a reply must never use (matched case-insensitively on word boundaries)."""

    phrase = models.CharField(max_length=200)
    suggestion = models.CharField(max_length=300, blank=True, help_text="What to say instead.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("phrase"), name="banned_phrase_unique")]
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase


class RequiredElement(models.Model):
    """Something a reply of a kind must contain: any one of the alternatives (case-insensitive), e.g.
    an apology contains "sorry" or "apolog"."""

    kind = models.CharField(max_length=20, choices=TemplateKind.choices)
    label = models.CharField(max_length=120, help_text='What is missing, in words, e.g. "an apology".')
    alternatives = ArrayField(models.CharField(max_length=100), help_text="Any one of these is enough.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "label", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"


class PlatformLimit(models.Model):
    platform = models.CharField(max_length=20, choices=Platform.choices, unique=True)
    max_characters = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(max_characters__gt=0), name="platform_limit_positive")
        ]
        ordering = ["platform"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.max_characters}"


class ToneNote(models.Model):
    """How the brand sounds, in a few words each; shown beside the composer."""

    title = models.CharField(max_length=120, unique=True)
    body = models.TextField()
    position = models.PositiveIntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title
