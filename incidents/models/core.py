"""Mentions (what people post), incidents (what the team handles) and the append-only timeline of
everything that happened to an incident."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Case, F, Func, Q, Value, When

from protocols.models import Category, Platform, Priority, Role, Sentiment


class IncidentStatus(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (
    IncidentStatus.NEW,
    IncidentStatus.TRIAGED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.WAITING_ON_CUSTOMER,
)
OPEN_STATUS_VALUES = tuple(str(s) for s in OPEN_STATUSES)
IS_OPEN = Q(status__in=OPEN_STATUS_VALUES)

# Queue order: most urgent first. 1 = critical ... 4 = low, so an ascending index serves it.
URGENCY_RANK = Case(
    When(priority=Priority.CRITICAL, then=Value(1)),
    When(priority=Priority.HIGH, then=Value(2)),
    When(priority=Priority.NORMAL, then=Value(3)),
    default=Value(4),
    output_field=models.SmallIntegerField(),
)


class SlaState(models.TextChoices):
    NONE = "none", "No target"
    OK = "ok", "On track"
    WARNING = "warning", "Breaching soon"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused"


class Incident(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField("Issue Description", blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    urgency_rank = models.GeneratedField(
        expression=URGENCY_RANK, output_field=models.SmallIntegerField(), db_persist=True
    )
    status = models.CharField(max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assigned_role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    follow_up_required = models.BooleanField("Follow-up Required", default=False)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    products = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    # Where the incident came from, copied from its first mention so the queue filters without a join.
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    # Threading keys: a new mention joins the open incident of its thread, or of its author (24 h).
    thread_key = models.CharField(max_length=300, blank=True)
    author_key = models.CharField(max_length=200, blank=True)
    mention_count = models.PositiveIntegerField(default=0)
    last_mention_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Denormalised from the incident's clocks (kept in step by the clock services and the sweeper, in
    # the same transaction) so the queue can filter and sort on them with an index.
    sla_state = models.CharField(max_length=10, choices=SlaState.choices, db_default=SlaState.NONE)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    # Set when this incident was merged into another (it is then closed; an undo clears both).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from", db_index=False
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["sla_state", "urgency_rank", "created_at", "id"], name="inc_sla_state_urgency"
            ),
            models.Index(fields=["sla_due_at"], condition=IS_OPEN, name="inc_open_sla_due"),
            # Few incidents are merged: a partial index keeps "merged from" lookups and the foreign key's
            # check on deleting an incident from scanning the whole table.
            models.Index(
                fields=["merged_into"], condition=Q(merged_into__isnull=False), name="inc_merged_into"
            ),
            # The "deadline" sort of the queue (soonest first, incidents without a target last).
            models.Index(
                Func(
                    F("sla_due_at"),
                    template="COALESCE(%(expressions)s, 'infinity'::timestamptz)",
                    output_field=models.DateTimeField(),
                ),
                F("id"),
                condition=IS_OPEN,
                name="inc_open_deadline",
            ),
            # The default queue (open, most urgent first) and its keyset pagination.
            models.Index(
                fields=["urgency_rank", "created_at", "id"], condition=IS_OPEN, name="inc_open_urgency"
            ),
            models.Index(fields=["created_at", "id"], name="inc_created"),
            models.Index(fields=["urgency_rank", "created_at", "id"], name="inc_urgency"),
            models.Index(fields=["status", "urgency_rank", "created_at", "id"], name="inc_status_urgency"),
            models.Index(
                fields=["category", "urgency_rank", "created_at", "id"], name="inc_category_urgency"
            ),
            models.Index(
                fields=["assignee", "urgency_rank", "created_at", "id"], name="inc_assignee_urgency"
            ),
            models.Index(
                fields=["platform", "urgency_rank", "created_at", "id"], name="inc_platform_urgency"
            ),
            models.Index(fields=["thread_key"], condition=IS_OPEN, name="inc_open_thread"),
            # Not on last_mention_at: adding a mention then changes no indexed column (a HOT update).
            models.Index(fields=["author_key"], condition=IS_OPEN, name="inc_open_author"),
            GinIndex(fields=["tags"], name="inc_tags_gin"),
            GinIndex(fields=["products"], name="inc_products_gin"),
            GinIndex(fields=["search_vector"], name="inc_search_gin"),
            # "Possible duplicates": trigram similarity of titles (pg_trgm's % operator).
            GinIndex(OpClass(F("title"), name="gin_trgm_ops"), name="inc_title_trgm", condition=IS_OPEN),
        ]
        constraints = [
            # Spike detection keeps one open "Surge: <tag>" incident per product tag.
            models.UniqueConstraint(
                fields=["thread_key"],
                condition=IS_OPEN & Q(thread_key__startswith="surge:"),
                name="inc_open_surge_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUS_VALUES


class Mention(models.Model):
    platform = models.CharField(max_length=20, choices=Platform.choices)
    external_id = models.CharField(max_length=200)
    url = models.URLField(max_length=2000, blank=True)
    author_handle = models.CharField(max_length=150)
    author_name = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    posted_at = models.DateTimeField()
    thread_id = models.CharField(max_length=200, blank=True)
    parent_id = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    sentiment_is_computed = models.BooleanField(default=False)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    products = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, on_delete=models.SET_NULL, related_name="mentions", db_index=False
    )
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="mention_unique_platform_external_id"
            ),
        ]
        indexes = [
            # Free-text search over what people wrote; the queue joins hits back to their incidents.
            GinIndex(SearchVector("text", config="english"), name="mention_search_gin"),
            models.Index(fields=["incident", "posted_at"], name="mention_incident_posted"),
            models.Index(fields=["posted_at"], name="mention_posted"),
        ]
        ordering = ["posted_at", "id"]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class EventKind(models.TextChoices):
    CREATED = "created", "Incident opened"
    MENTION_ADDED = "mention_added", "Mention added"
    ASSIGNED = "assigned", "Assigned"
    CATEGORIZED = "categorized", "Category changed"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    STATUS_CHANGED = "status_changed", "Status changed"
    EDITED = "edited", "Details edited"
    TRIAGE_RULE = "triage_rule", "Triage rule applied"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    CLOSED = "closed", "Closed"
    RESPONDED = "responded", "Response sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CUSTOMER_REPLIED = "customer_replied", "Customer replied"
    SLA_WARNING = "sla_warning", "Target about to be missed"
    SLA_BREACHED = "sla_breached", "Target missed"
    ESCALATED = "escalated", "Escalation step"
    DEADLINES_CHANGED = "deadlines_changed", "Deadlines recomputed"
    CRISIS_REQUESTED = "crisis_requested", "Crisis mode requested"
    CRISIS_STARTED = "crisis_started", "Crisis mode on"
    CRISIS_RENEWED = "crisis_renewed", "Crisis mode renewed"
    CRISIS_ENDED = "crisis_ended", "Crisis mode off"
    CRISIS_BLOCKED = "crisis_blocked", "Publishing blocked by crisis mode"
    CRISIS_STATUS_DUE = "crisis_status_due", "Crisis status update due"
    REPLY_DRAFTED = "reply_drafted", "Reply drafted"
    REPLY_EDITED = "reply_edited", "Reply edited"
    REPLY_SUBMITTED = "reply_submitted", "Reply submitted for approval"
    REPLY_APPROVED = "reply_approved", "Reply approved"
    REPLY_CHANGES_REQUESTED = "reply_changes_requested", "Changes requested on a reply"
    REPLY_WITHDRAWN = "reply_withdrawn", "Reply withdrawn"
    REPLY_PUBLISHED = "reply_published", "Reply published"
    REPLY_PUBLISH_FAILED = "reply_publish_failed", "Reply could not be published"
    MERGED_INTO = "merged_into", "Merged into another incident"
    MERGED_FROM = "merged_from", "Duplicate merged in"
    MERGE_UNDONE = "merge_undone", "Merge undone"
    ANSWERED = "answered", "Checklist answered"
    SURGE_DETECTED = "surge_detected", "Surge of negative mentions"
    EVIDENCE_CAPTURED = "evidence_captured", "Evidence captured"
    EVIDENCE_HELD = "evidence_held", "Evidence put on legal hold"
    EVIDENCE_RELEASED = "evidence_released", "Legal hold released"
    EVIDENCE_DELETED = "evidence_deleted", "Evidence deleted"
    MODERATED = "moderated", "Mention moderated"
    MODERATION_RESULT = "moderation_result", "Moderation result from the platform"
    SURVEY_CREATED = "survey_created", "Satisfaction survey created"
    SURVEY_ANSWERED = "survey_answered", "Satisfaction survey answered"
    PERSONAL_DATA_ERASED = "personal_data_erased", "Customer's personal data erased on request"


class TimelineEvent(models.Model):
    """Append-only: a database trigger (migration 0002) refuses UPDATE and DELETE."""

    incident = models.ForeignKey(
        Incident, on_delete=models.DO_NOTHING, related_name="timeline", db_index=False
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
    )
    # Who did it, as text, so the record stays readable even if the account is later renamed.
    actor_label = models.CharField(max_length=150, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["incident", "created_at", "id"], name="timeline_incident_created")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on incident {self.incident_id}"


class SavedView(models.Model):
    """A user's named queue filter (the query string of the queue page)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
