"""Admin screens for templates (with their version history), FAQs and talking points, and the brand
guidelines. Every save, delete and action goes through the services, so the same rules apply."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import DomainError
from incidents import policies
from templates_app.checks import body_problems, variables_problems
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    PlatformLimit,
    RequiredElement,
    ResponseTemplate,
    TemplateEvent,
    TemplateStatus,
    TemplateVersion,
    ToneNote,
    VersionStatus,
)
from templates_app.rendering import VariableSpec
from templates_app.services import brand as brand_services
from templates_app.services import faqs as faq_services
from templates_app.services import templates as template_services


class _PolicyAdmin(admin.ModelAdmin):
    """Django's model permissions and the role policy both apply; the policy action names come from the
    subclass, so a superuser without the role sees the screens read-only instead of hitting a refusal."""

    view_action = ""
    edit_action = ""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and policies.can(
            user=request.user, action=self.view_action
        )

    def _can_edit(self, request: HttpRequest) -> bool:
        return policies.can(user=request.user, action=self.edit_action)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self._can_edit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._can_edit(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._can_edit(request)


# --- Templates ----------------------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    """The template's details plus the wording of its latest version (body and variables), which the
    service saves as an edit of the draft or as a new draft version."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), strip=False)
    variables = forms.JSONField(
        required=False,
        initial=list,
        help_text='A list like [{"name": "customer_name", "label": "Customer name", "default": "there"}].',
    )

    class Meta:
        model = ResponseTemplate
        fields = ["name", "kind", "categories", "platforms", "language", "owner", "review_due_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            latest = self.instance.versions.order_by("-number").first()
            if latest is not None:
                self.fields["body"].initial = latest.body
                self.fields["variables"].initial = latest.variables
        if "owner" in self.fields:  # absent when the screen is read-only
            self.fields["owner"].required = False
            self.fields["owner"].help_text = "You when left empty."
        if "review_due_on" in self.fields:
            self.fields["review_due_on"].required = False
            self.fields["review_due_on"].help_text = "A year from today when left empty."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and self.instance.status == TemplateStatus.RETIRED:
            raise forms.ValidationError("This template is retired and can no longer be edited.")
        raw = data.get("variables") or []
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.add_error("variables", "A list of objects with name, label and default.")
            return data
        specs = [VariableSpec.of(item) for item in raw]
        data["variable_specs"] = specs
        for problem in variables_problems(specs):
            self.add_error("variables", problem)
        if "body" in data:
            for problem in body_problems(data["body"], specs):
                self.add_error("body", problem)
        return data


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = readonly_fields = (
        "number",
        "status",
        "revision",
        "body",
        "created_by",
        "approved_by",
        "approved_at",
        "retired_at",
    )
    extra = 0
    can_delete = False
    ordering = ["-number"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TemplateEventInline(admin.TabularInline):
    model = TemplateEvent
    fields = ("at", "kind", "version", "actor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _report(modeladmin: admin.ModelAdmin, request: HttpRequest, done: list[str], refused: list[str]) -> None:
    if done:
        modeladmin.message_user(request, "; ".join(done), messages.SUCCESS)
    for problem in refused:
        modeladmin.message_user(request, problem, messages.ERROR)


@admin.action(description="Approve the draft version of selected templates")
def approve_drafts(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ResponseTemplate]
) -> None:
    done: list[str] = []
    refused: list[str] = []
    for template in queryset:
        draft = template.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            refused.append(f"{template.name}: no draft to approve.")
            continue
        try:
            template_services.template_version_approve(
                actor=request.user, version_id=draft.pk, template_id=template.pk, revision=draft.revision
            )
        except DomainError as exc:
            refused.append(f"{template.name}: {exc.message}")
        else:
            done.append(f"Approved {template.name} v{draft.number}")
    _report(modeladmin, request, done, refused)


@admin.action(description="Retire selected templates")
def retire_templates(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ResponseTemplate]
) -> None:
    done: list[str] = []
    refused: list[str] = []
    for template in queryset:
        try:
            template_services.template_retire(actor=request.user, template_id=template.pk)
        except DomainError as exc:
            refused.append(f"{template.name}: {exc.message}")
        else:
            done.append(f"Retired {template.name}")
    _report(modeladmin, request, done, refused)


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(_PolicyAdmin):
    form = TemplateForm
    view_action = "template.view"
    edit_action = "template.edit"
    list_display = ["name", "kind", "status", "language", "owner", "review_due_on", "updated_at"]
    list_filter = ["status", "kind", "categories", "language"]
    search_fields = ["name"]
    filter_horizontal = ["categories"]
    readonly_fields = ["status", "current_version"]
    inlines = [TemplateVersionInline, TemplateEventInline]
    actions = [approve_drafts, retire_templates]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire instead: replies keep pointing at the words they used

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        if not policies.can(user=request.user, action="template.approve"):
            found.pop("approve_drafts", None)
            found.pop("retire_templates", None)
        return found

    def save_model(
        self, request: HttpRequest, obj: ResponseTemplate, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        fields: dict[str, Any] = {
            "name": data["name"],
            "kind": data["kind"],
            "categories": list(data["categories"]),
            "platforms": data["platforms"],
            "language": data["language"],
            "owner": data.get("owner"),
            "review_due_on": data.get("review_due_on"),
            "body": data["body"],
            "variables": data["variable_specs"],
        }
        if change:
            saved = template_services.template_update(actor=request.user, template_id=obj.pk, **fields)
        else:
            saved = template_services.template_create(actor=request.user, **fields)
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        # The service saved the categories (no form.save_m2m()); the read-only inlines save nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- FAQs and talking points ----------------------------------------------------------------------------


@admin.register(FaqEntry)
class FaqEntryAdmin(_PolicyAdmin):
    view_action = "faq.view"
    edit_action = "faq.edit"
    list_display = ["title", "kind", "is_active", "updated_at"]
    list_filter = ["kind", "is_active", "categories"]
    search_fields = ["title", "body"]
    filter_horizontal = ["categories"]
    fields = ["kind", "title", "body", "categories", "products", "is_active"]

    def save_model(self, request: HttpRequest, obj: FaqEntry, form: forms.ModelForm, change: bool) -> None:
        data = {
            field: form.cleaned_data[field] for field in ["kind", "title", "body", "products", "is_active"]
        }
        data["categories"] = list(form.cleaned_data["categories"])
        if change:
            saved = faq_services.faq_update(actor=request.user, faq_id=obj.pk, **data)
        else:
            saved = faq_services.faq_create(actor=request.user, **data)
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        pass  # the service saved the categories

    def delete_model(self, request: HttpRequest, obj: FaqEntry) -> None:
        faq_services.faq_delete(actor=request.user, faq_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FaqEntry]) -> None:
        for entry in queryset:
            faq_services.faq_delete(actor=request.user, faq_id=entry.pk)


# --- Brand guidelines -----------------------------------------------------------------------------------


class _BrandAdmin(_PolicyAdmin):
    """Saves and deletes through the brand services, which also forget the draft checker's cache."""

    view_action = "brand.view"
    edit_action = "brand.edit"
    service_fields: tuple[str, ...] = ()

    def _save(self, request: HttpRequest, row_id: int | None, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _delete(self, request: HttpRequest, row_id: int) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in self.service_fields}
        obj.pk = self._save(request, obj.pk if change else None, data).pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._delete(request, obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for row in queryset:
            self._delete(request, row.pk)


@admin.register(BannedPhrase)
class BannedPhraseAdmin(_BrandAdmin):
    list_display = ["phrase", "suggestion", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["phrase"]
    fields = service_fields = ("phrase", "suggestion", "is_active")

    def _save(self, request: HttpRequest, row_id: int | None, data: dict[str, Any]) -> BannedPhrase:
        return brand_services.banned_phrase_save(actor=request.user, phrase_id=row_id, **data)

    def _delete(self, request: HttpRequest, row_id: int) -> None:
        brand_services.banned_phrase_delete(actor=request.user, phrase_id=row_id)


@admin.register(RequiredElement)
class RequiredElementAdmin(_BrandAdmin):
    list_display = ["kind", "label", "alternatives", "is_active"]
    list_filter = ["kind", "is_active"]
    fields = service_fields = ("kind", "label", "alternatives", "is_active")

    def _save(self, request: HttpRequest, row_id: int | None, data: dict[str, Any]) -> RequiredElement:
        return brand_services.required_element_save(actor=request.user, element_id=row_id, **data)

    def _delete(self, request: HttpRequest, row_id: int) -> None:
        brand_services.required_element_delete(actor=request.user, element_id=row_id)


@admin.register(PlatformLimit)
class PlatformLimitAdmin(_BrandAdmin):
    list_display = ["platform", "max_characters", "updated_at"]
    fields = service_fields = ("platform", "max_characters")

    def _save(self, request: HttpRequest, row_id: int | None, data: dict[str, Any]) -> PlatformLimit:
        return brand_services.platform_limit_save(actor=request.user, limit_id=row_id, **data)

    def _delete(self, request: HttpRequest, row_id: int) -> None:
        brand_services.platform_limit_delete(actor=request.user, limit_id=row_id)


@admin.register(ToneNote)
class ToneNoteAdmin(_BrandAdmin):
    list_display = ["title", "position", "updated_at"]
    fields = service_fields = ("title", "body", "position")

    def _save(self, request: HttpRequest, row_id: int | None, data: dict[str, Any]) -> ToneNote:
        return brand_services.tone_note_save(actor=request.user, note_id=row_id, **data)

    def _delete(self, request: HttpRequest, row_id: int) -> None:
        brand_services.tone_note_delete(actor=request.user, note_id=row_id)
