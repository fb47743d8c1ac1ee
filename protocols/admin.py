"""Configuration screens for admins: roles, categories (with their "Identify the problem" questions),
triage rules, intake sources, tokens, chat webhooks, SLA policies with their business calendars (and .ics
holiday import) and escalation chains, the approval side: social accounts (secrets never shown), approval
chains with their steps, rules, and who has access to the accounts: grants, offboarding (from the user
list too, beside sign-in unlock and sign out everywhere) with its checklists, audit."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet, construct_instance
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from config.errors import DomainError
from protocols.models import (
    APPROVER_ROLES,
    STAGE_ORDER,
    AccessAuditEvent,
    ApiToken,
    ApprovalChain,
    ApprovalRule,
    ApprovalStage,
    ApprovalStep,
    BusinessCalendar,
    Category,
    ChecklistQuestion,
    EscalationChain,
    EscalationStep,
    Holiday,
    IntakeSource,
    ModerationRule,
    OffboardingChecklist,
    OffboardingItem,
    OpeningHours,
    Role,
    RoleAssignment,
    SlaPolicy,
    SocialAccount,
    SocialAccountAccess,
    SpikeSettings,
    TriageRule,
    WebhookEndpoint,
)
from protocols.services import (
    api_token_revoke,
    business_calendar_import_holidays,
    offboarding_item_tick,
    user_offboard,
)
from protocols.services.sessions import user_sessions_end, user_sign_in_unlock
from protocols.services.spikes import spike_settings_load
from protocols.sla_checks import (
    OpeningSpan,
    StepSpec,
    escalation_step_problems,
    opening_hours_problems,
    sla_policy_problems,
    time_zone_problem,
)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1


class ChecklistQuestionInline(admin.TabularInline):
    """The "Identify the problem" questions of a high-priority or crisis category; the model's clean()
    refuses them on a routine category and checks the list to pick from, as the services do."""

    model = ChecklistQuestion
    extra = 0
    fields = ["position", "text", "answer_kind", "choices", "is_required", "is_active"]
    verbose_name = "“Identify the problem” question"
    verbose_name_plural = "“Identify the problem” checklist (high-priority and crisis categories)"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "is_active"]
    list_filter = ["tier", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [ChecklistQuestionInline]


@admin.register(TriageRule)
class TriageRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "set_category", "set_priority", "route_to_role"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "set_priority", "route_to_role"]
    search_fields = ["name"]


@admin.register(IntakeSource)
class IntakeSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.action(description="Revoke selected tokens")
def revoke_tokens(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
    for token in queryset:
        api_token_revoke(token=token)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "digest", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke_tokens]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are issued by the app or `manage.py create_api_token`, which show the secret once.
        return False


class FailingFilter(admin.SimpleListFilter):
    title = "failing"
    parameter_name = "failing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Failing"), ("no", "Answering")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(failing_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(failing_since__isnull=True)
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "flavor", "role", "user", "is_active", "failing_since", "last_error"]
    list_filter = [FailingFilter, "is_active", "flavor", "role"]
    search_fields = ["name", "user__username"]
    autocomplete_fields = ["user"]
    # Set by delivery: a channel that ran out of retries is failing until a message gets through again.
    readonly_fields = ["failing_since", "last_error", "created_at"]


# --- SLA: calendars, escalation chains, policies ------------------------------------------------------
# Edited with Django's own forms and inlines, checked by the same rules (protocols.sla_checks) the API's
# services apply; the holiday import calls the service.


def _kept_forms(formset: BaseInlineFormSet) -> list[forms.BaseForm]:
    return [
        form
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE") and not form.errors
    ]


class OpeningHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        spans = [
            OpeningSpan(
                int(f.cleaned_data["weekday"]), f.cleaned_data["opens_at"], f.cleaned_data["closes_at"]
            )
            for f in _kept_forms(self)
        ]
        # The calendar's own form has been cleaned into self.instance by now (also when adding one).
        problems = opening_hours_problems(spans, always_open=self.instance.always_open)
        if problems:
            raise forms.ValidationError(problems)


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens_at", "closes_at"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("opens_at") and data.get("closes_at"):
            span = OpeningSpan(int(data["weekday"]), data["opens_at"], data["closes_at"])
            for problem in opening_hours_problems([span], always_open=True):
                self.add_error("closes_at", problem)
        return data


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    form = OpeningHoursForm
    formset = OpeningHoursFormSet
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday  # a date listed twice is refused by the formset's own unique check
    extra = 0


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "always_open"]

    def clean_time_zone(self) -> str:
        name: str = self.cleaned_data["time_zone"]
        problem = time_zone_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name


class HolidayImportForm(forms.Form):
    file = forms.FileField(help_text="An iCalendar (.ics) file, e.g. a country's public holidays.")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "time_zone", "always_open", "holiday_count", "updated_at"]
    list_filter = ["always_open", "time_zone"]
    search_fields = ["name"]
    inlines = [OpeningHoursInline, HolidayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return super().get_queryset(request).annotate(holiday_total=Count("holidays"))

    @admin.display(description="Holidays", ordering="holiday_total")
    def holiday_count(self, calendar: Any) -> int:
        return int(calendar.holiday_total)

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:calendar_id>/import-holidays/",
                self.admin_site.admin_view(self.import_holidays_view),
                name="protocols_businesscalendar_import_holidays",
            )
        ]
        return custom + super().get_urls()

    def import_holidays_view(self, request: HttpRequest, calendar_id: int) -> HttpResponse:
        calendar = get_object_or_404(BusinessCalendar, pk=calendar_id)
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        form = HolidayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = business_calendar_import_holidays(
                    actor=request.user, calendar_id=calendar.pk, data=form.cleaned_data["file"].read()
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                added = f"Added {result.added} holidays to {calendar}"
                self.message_user(
                    request, f"{added}; {result.already_present} were already there.", messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:protocols_businesscalendar_change", args=[calendar.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": calendar,
            "title": f"Import holidays into {calendar}",
            "form": form,
        }
        return TemplateResponse(request, "admin/protocols/businesscalendar/import_holidays.html", context)


class EscalationStepForm(forms.ModelForm):
    class Meta:
        model = EscalationStep
        fields = [
            "position",
            "trigger",
            "delay_minutes",
            "action",
            "role",
            "user",
            "repeat_every_minutes",
            "repeat_times",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "action" in data:
            step = StepSpec(
                action=data["action"],
                role=data.get("role") or "",
                user=data.get("user"),
                repeat_every_minutes=data.get("repeat_every_minutes"),
                repeat_times=data.get("repeat_times") or 0,
            )
            for field, problems in escalation_step_problems([step])[0].items():
                self.add_error(field, problems)
        return data


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    form = EscalationStepForm
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(EscalationChain)
class EscalationChainAdmin(admin.ModelAdmin):
    list_display = ["name", "step_count", "updated_at"]
    search_fields = ["name"]
    inlines = [EscalationStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationChain]:
        return super().get_queryset(request).annotate(step_total=Count("steps"))

    @admin.display(description="Steps", ordering="step_total")
    def step_count(self, chain: Any) -> int:
        return int(chain.step_total)


def _minutes_label(minutes: int | None) -> str:
    if minutes is None:
        return "-"
    hours, rest = divmod(minutes, 60)
    return (
        " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)
        or "0 min"
    )


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "category",
            "priority",
            "calendar",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warn_at_percent",
            "warn_before_minutes",
            "escalation_chain",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        candidate = construct_instance(self, copy.copy(self.instance))
        for field, problems in sla_policy_problems(candidate).items():
            if field != "name":  # the form's own unique check already says so
                self.add_error(None if field == "non_field_errors" else field, problems)
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "category",
        "priority",
        "calendar",
        "first_response",
        "next_response",
        "resolution",
        "warning",
        "escalation_chain",
        "is_active",
    ]
    list_filter = ["is_active", "priority", "calendar", "escalation_chain"]
    list_select_related = ["category", "calendar", "escalation_chain"]
    search_fields = ["name"]

    @admin.display(description="First response", ordering="first_response_minutes")
    def first_response(self, policy: SlaPolicy) -> str:
        return _minutes_label(policy.first_response_minutes)

    @admin.display(description="Next response", ordering="next_response_minutes")
    def next_response(self, policy: SlaPolicy) -> str:
        return _minutes_label(policy.next_response_minutes)

    @admin.display(description="Resolution", ordering="resolution_minutes")
    def resolution(self, policy: SlaPolicy) -> str:
        return _minutes_label(policy.resolution_minutes)

    @admin.display(description="Warning")
    def warning(self, policy: SlaPolicy) -> str:
        if policy.warn_at_percent:
            return f"at {policy.warn_at_percent}%"
        if policy.warn_before_minutes:
            return f"{_minutes_label(policy.warn_before_minutes)} before"
        return "-"


# --- Approvals: social accounts, approval chains, approval rules ---------------------------------------


class SecretInput(forms.PasswordInput):
    """Never renders the stored value; an empty field keeps it (see SocialAccountForm)."""

    def __init__(self) -> None:
        super().__init__(render_value=False)


class SocialAccountForm(forms.ModelForm):
    webhook_url = forms.URLField(
        max_length=1000, required=False, assume_scheme="https", help_text="The bridge's URL."
    )
    mastodon_base_url = forms.URLField(
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text="The instance, e.g. https://mastodon.social.",
    )
    # Each secret: empty keeps the stored one, which is never sent to the browser; "Remove" clears it.
    remove_webhook_secret = forms.BooleanField(required=False, label="Remove the stored signing secret")
    remove_access_token = forms.BooleanField(required=False, label="Remove the stored access token")

    class Meta:
        model = SocialAccount
        fields = [
            "name",
            "platform",
            "handle",
            "owner",
            "publisher",
            "webhook_url",
            "webhook_secret",
            "mastodon_base_url",
            "mastodon_access_token",
            "is_active",
        ]
        widgets = {"webhook_secret": SecretInput(), "mastodon_access_token": SecretInput()}
        help_texts = {
            "webhook_secret": "Shared with the bridge, which checks each post's signature with it. "
            "Leave empty to keep the stored one.",
            "mastodon_access_token": "Needs the write:statuses scope. Leave empty to keep the stored one.",
        }

    def _kept(self, field: str) -> str:
        value: str = self.cleaned_data.get(field) or ""
        return value or getattr(self.instance, field) or ""

    def clean_webhook_secret(self) -> str:
        return self._kept("webhook_secret")

    def clean_mastodon_access_token(self) -> str:
        return self._kept("mastodon_access_token")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The remove boxes are cleaned after the secrets, so they are applied here.
        if data.get("remove_webhook_secret"):
            data["webhook_secret"] = ""
        if data.get("remove_access_token"):
            data["mastodon_access_token"] = ""
        for field in ("webhook_url", "mastodon_base_url"):
            url = data.get(field) or ""
            if url and not url.lower().startswith(("http://", "https://")):
                self.add_error(field, "Only http:// and https:// URLs can be posted to.")
        return data  # the model's clean() then names what the chosen publisher still needs


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    form = SocialAccountForm
    list_display = [
        "name",
        "platform",
        "handle",
        "owner",
        "publisher",
        "is_active",
        "secret_set",
        "updated_at",
    ]
    list_filter = ["publisher", "platform", "is_active"]
    list_select_related = ["owner"]
    search_fields = ["name", "handle"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["who_has_access"]
    fieldsets = [
        (None, {"fields": ["name", "platform", "handle", "owner", "publisher", "is_active"]}),
        ("Access", {"fields": ["who_has_access"]}),
        ("Signed webhook", {"fields": ["webhook_url", "webhook_secret", "remove_webhook_secret"]}),
        ("Mastodon", {"fields": ["mastodon_base_url", "mastodon_access_token", "remove_access_token"]}),
    ]

    # Shown, not edited: grants and revocations go through the services (the API or the Access page), so
    # each one lands in the audit trail.
    @admin.display(description="Who has access")
    def who_has_access(self, account: SocialAccount) -> str:
        if account.pk is None:
            return "-"
        grants = SocialAccountAccess.objects.filter(account=account, revoked_at__isnull=True).select_related(
            "user", "granted_by"
        )
        rows = format_html_join(
            "",
            "<li>{} <span class='help'>since {} by {}</span></li>",
            (
                (
                    grant.user.get_username(),
                    timezone.localtime(grant.granted_at).strftime("%Y-%m-%d %H:%M"),
                    getattr(grant.granted_by, "username", "-"),
                )
                for grant in grants.order_by("user__username")
            ),
        )
        return format_html("<ul>{}</ul>", rows) if rows else "Nobody"

    @admin.display(description="Secret set", boolean=True)
    def secret_set(self, account: SocialAccount) -> bool | None:
        if account.publisher == "webhook":
            return bool(account.webhook_secret)
        if account.publisher == "mastodon":
            return bool(account.mastodon_access_token)
        return None  # posted by hand: nothing to set


class ApprovalStepForm(forms.ModelForm):
    role = forms.ChoiceField(
        choices=[(role.value, role.label) for role in Role if role in APPROVER_ROLES],
        help_text="The team role that decides this stage.",
    )

    class Meta:
        model = ApprovalStep
        fields = ["stage", "role", "target_minutes", "warn_at_percent", "calendar", "escalation_chain"]


class ApprovalStepFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # A stage listed twice is refused by the formset's own unique check; a chain without steps here.
        if not any(self.errors) and not _kept_forms(self):
            raise forms.ValidationError(
                "An approval chain needs at least one step; a rule with no chain means no approval."
            )


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    form = ApprovalStepForm
    formset = ApprovalStepFormSet
    min_num = 1  # shows one empty row on a new chain
    extra = 0


@admin.register(ApprovalChain)
class ApprovalChainAdmin(admin.ModelAdmin):
    list_display = ["name", "stages", "rule_count", "updated_at"]
    search_fields = ["name"]
    inlines = [ApprovalStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalChain]:
        return super().get_queryset(request).annotate(rule_total=Count("rules")).prefetch_related("steps")

    @admin.display(description="Stages")
    def stages(self, chain: ApprovalChain) -> str:
        steps = sorted(chain.steps.all(), key=lambda step: STAGE_ORDER[ApprovalStage(step.stage)])
        return " → ".join(str(step) for step in steps) or "-"

    @admin.display(description="Rules", ordering="rule_total")
    def rule_count(self, chain: Any) -> int:
        return int(chain.rule_total)


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tier", "priority", "chain", "updated_at"]
    list_filter = ["tier", "priority", "chain"]
    list_select_related = ["chain"]


# Users are edited with their roles inline.
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import UserAdmin  # noqa: E402

User = get_user_model()
admin.site.unregister(User)


def _offboard(request: HttpRequest, user: Any, reason: str) -> bool:
    try:
        checklist = user_offboard(actor=request.user, user_id=user.pk, reason=reason)
    except DomainError as exc:
        messages.error(request, f"{user.get_username()}: {exc.message}")
        return False
    messages.success(
        request,
        f"Offboarded {user.get_username()}: sessions ended, tokens and account access revoked; "
        f"{checklist.items.count()} item(s) on the offboarding checklist.",
    )
    return True


@admin.action(description="Offboard selected users (deactivate, end sessions, revoke tokens and access)")
def offboard_users(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    for user in queryset:
        _offboard(request, user, reason=f"Offboarded in the admin by {request.user.get_username()}")


@admin.action(description="Unlock sign-in (lift a lockout after failed sign-ins)")
def unlock_sign_in(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    for user in queryset:
        try:
            lifted = user_sign_in_unlock(actor=request.user, user_id=user.pk)
        except DomainError as exc:
            messages.error(request, f"{user.get_username()}: {exc.message}")
            continue
        if lifted:
            messages.success(request, f"Unlocked sign-in for {user.get_username()}: they can sign in again.")
        else:
            messages.info(request, f"Sign-in for {user.get_username()} was not locked.")


@admin.action(description="Sign out everywhere (end every session of the selected users)")
def sign_out_everywhere(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    for user in queryset:
        try:
            user_sessions_end(actor=request.user, user_id=user.pk)
        except DomainError as exc:
            messages.error(request, f"{user.get_username()}: {exc.message}")
            continue
        messages.success(request, f"Ended every session of {user.get_username()}.")


@admin.register(User)
class FirebreakUserAdmin(UserAdmin):
    inlines = [RoleAssignmentInline]
    actions = [offboard_users, unlock_sign_in, sign_out_everywhere]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Unticking "active" is an offboarding: the rest of the form is saved as it is, then the service
        # deactivates the user with everything that goes with it (or refuses, and the user stays active).
        if change and "is_active" in form.changed_data and not obj.is_active:
            obj.is_active = True
            super().save_model(request, obj, form, change)
            _offboard(request, obj, reason=f"Deactivated in the admin by {request.user.get_username()}")
            obj.refresh_from_db(fields=["is_active"])
            return
        super().save_model(request, obj, form, change)


# --- Offboarding checklists and the access audit trail ---------------------------------------------


class OffboardingItemInline(admin.TabularInline):
    model = OffboardingItem
    fields = readonly_fields = ("text", "account", "kind", "ticked_at", "ticked_by")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OffboardingChecklist)
class OffboardingChecklistAdmin(admin.ModelAdmin):
    list_display = ["user", "reason", "started_by", "created_at", "completed_at"]
    list_filter = [("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "started_by"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "started_by", "reason", "created_at", "completed_at"]
    inlines = [OffboardingItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a checklist comes from offboarding a user

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Tick selected items done")
def tick_items(modeladmin: Any, request: HttpRequest, queryset: QuerySet[OffboardingItem]) -> None:
    ticked = 0
    for item in queryset:
        try:
            offboarding_item_tick(actor=request.user, item_id=item.pk)
            ticked += 1
        except DomainError as exc:
            messages.warning(request, f"{item.text}: {exc.message}")
    if ticked:
        messages.success(request, f"Ticked {ticked} item(s).")


@admin.register(OffboardingItem)
class OffboardingItemAdmin(admin.ModelAdmin):
    list_display = ["text", "checklist", "kind", "ticked_at", "ticked_by"]
    list_filter = [("ticked_at", admin.EmptyFieldListFilter), "kind"]
    list_select_related = ["checklist__user", "ticked_by", "account"]
    readonly_fields = ["checklist", "account", "kind", "text", "ticked_at", "ticked_by"]
    actions = [tick_items]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessAuditEvent)
class AccessAuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor", "subject", "account"]
    list_filter = ["action"]
    list_select_related = ["actor", "subject", "account"]
    search_fields = ["actor__username", "subject__username", "account__name"]
    readonly_fields = ["at", "action", "actor", "subject", "account", "details"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SpikeSettings)
class SpikeSettingsAdmin(admin.ModelAdmin):
    """A single row: the list links straight to it; it can be edited, never added twice or deleted."""

    list_display = ("__str__", "bucket_minutes", "baseline_hours", "minimum_count", "factor")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        row = spike_settings_load()
        return HttpResponseRedirect(reverse("admin:protocols_spikesettings_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModerationRule)
class ModerationRuleAdmin(admin.ModelAdmin):
    """The community guidelines: active rules are published, in position order, at /community-guidelines/."""

    list_display = ("title", "action", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("action", "is_active")
    search_fields = ("title", "description")


# The review cadence's screens live with the cadence (protocols/cadence_admin.py).
from protocols import cadence_admin  # noqa: E402, F401
