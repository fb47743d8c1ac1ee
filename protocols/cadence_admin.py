"""Admin screens of the review cadence: each plan object's owner and review interval (saved through the
service, so the history records the change), what is due, and the read-only history of reviews."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from config.errors import DomainError
from incidents import policies
from protocols.models import ReviewEvent, ReviewKind, ReviewSchedule
from protocols.review_selectors import review_event_list, review_schedule_base, review_state
from protocols.review_subjects import SUBJECTS
from protocols.services.cadence import review_schedule_update, review_schedules_sync


class ReviewScheduleForm(forms.ModelForm):
    class Meta:
        model = ReviewSchedule
        fields = ["owner", "interval_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            owner = self.fields["owner"]
            assert isinstance(owner, forms.ModelChoiceField)
            owner.queryset = get_user_model()._default_manager.filter(is_active=True).order_by("username")
            owner.empty_label = "No owner (overdue reviews go to managers)"


@admin.action(description="Create the review schedules new plan objects are missing")
def create_missing_schedules(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    created = review_schedules_sync(now=timezone.now())
    messages.success(request, f"Created {created} review schedule(s)." if created else "None was missing.")


@admin.register(ReviewSchedule)
class ReviewScheduleAdmin(admin.ModelAdmin):
    """Schedules are created by review_schedules_sync (daily, and the action here), never by hand."""

    form = ReviewScheduleForm
    list_display = [
        "subject",
        "kind",
        "owner_shown",
        "interval_days",
        "due",
        "last_reviewed_at",
        "last_reviewed_by",
    ]
    list_filter = ["kind"]
    list_per_page = 100
    actions = [create_missing_schedules]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewSchedule]:
        return review_schedule_base()

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return ["effective_due_at", "id"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        owner = "owner_shown" if obj is not None and obj.kind == ReviewKind.TEMPLATE else "owner"
        return [
            "subject",
            "kind",
            owner,
            "interval_days",
            "due",
            "last_reviewed_at",
            "last_reviewed_by",
            "history",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["subject", "kind", "owner_shown", "due", "last_reviewed_at", "last_reviewed_by", "history"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and policies.can(
            user=request.user, action="review.view_all"
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and policies.can(
            user=request.user, action="review.manage"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Plan object", ordering="subject_name")
    def subject(self, schedule: Any) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            SUBJECTS[schedule.kind].admin_url(schedule.object_id),
            schedule.subject_name,
        )

    @admin.display(description="Owner", ordering="owner_label")
    def owner_shown(self, schedule: Any) -> str:
        if schedule.effective_owner_id is None:
            return "No owner"
        suffix = " (set on the template)" if schedule.kind == ReviewKind.TEMPLATE else ""
        return f"{schedule.owner_label}{suffix}"

    @admin.display(description="Due", ordering="effective_due_at")
    def due(self, schedule: Any) -> str:
        state = review_state(schedule.effective_due_at, now=timezone.now())
        moment = timezone.localtime(schedule.effective_due_at).strftime("%Y-%m-%d %H:%M")
        return {"overdue": f"{moment} (overdue)", "due_soon": f"{moment} (due this week)"}.get(state, moment)

    @admin.display(description="History")
    def history(self, schedule: Any) -> str:
        events = review_event_list(schedule_id=schedule.pk)
        if not events:
            return "Not reviewed yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} by {}{}</li>",
                (
                    (
                        timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                        e.kind_label,
                        e.actor.name if e.actor else "the system",
                        f" — {e.note}" if e.note else "",
                    )
                    for e in events
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        try:
            review_schedule_update(
                actor=request.user,
                schedule_id=obj.pk,
                owner=form.cleaned_data.get("owner"),
                interval_days=form.cleaned_data["interval_days"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "schedule", "actor", "note"]
    list_filter = ["kind"]
    list_select_related = ["schedule", "actor"]
    readonly_fields = ["at", "kind", "schedule", "actor", "note", "due_before", "due_after", "details"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
