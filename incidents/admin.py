"""Read-mostly admin views of incidents, mentions, evidence and the notification outbox; changes go
through the app's services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from incidents import policies
from incidents.models import EvidenceCapture, Incident, Mention, Notification, TimelineEvent
from incidents.services.evidence import evidence_delete


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "status", "priority", "category", "assignee", "created_at"]
    list_filter = ["status", "priority", "category", "platform"]
    search_fields = ["title"]
    readonly_fields = [f.name for f in Incident._meta.fields if f.name != "id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    list_display = ["id", "platform", "external_id", "author_handle", "sentiment", "posted_at"]
    list_filter = ["platform", "sentiment"]
    search_fields = ["external_id", "author_handle"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["id", "incident_id", "kind", "actor_label", "created_at"]
    list_filter = ["kind"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "recipient",
        "endpoint",
        "kind",
        "subject",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["subject", "dedupe_key"]
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "id"]
    list_select_related = ["recipient", "endpoint"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EvidenceCapture)
class EvidenceCaptureAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "mention_id",
        "incident_id",
        "captured_by_label",
        "captured_at",
        "is_held",
        "sha256",
    ]
    list_filter = ["is_held"]
    readonly_fields = [f.name for f in EvidenceCapture._meta.fields if f.name != "id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Nobody deletes a capture on legal hold; a list page asks without an object.
        if isinstance(obj, EvidenceCapture) and obj.is_held:
            return False
        return policies.can(user=request.user, action="evidence.delete")

    def delete_model(self, request: HttpRequest, obj: EvidenceCapture) -> None:
        evidence_delete(actor=request.user, capture_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EvidenceCapture]) -> None:
        # The bulk action skips captures on legal hold (and says so) rather than failing half-way.
        for capture_id in queryset.filter(is_held=False).values_list("pk", flat=True):
            evidence_delete(actor=request.user, capture_id=capture_id)
        held = queryset.filter(is_held=True).count()
        if held:
            self.message_user(request, f"{held} capture(s) on legal hold were not deleted.", messages.WARNING)
