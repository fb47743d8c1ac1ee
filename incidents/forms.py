"""Forms of the browser pages: they parse and validate what a page posts, and render the filter bar;
the writes themselves happen in services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.errors import ValidationFailed
from incidents.filters import STATUS_CHOICES
from incidents.keyset import DEFAULT_SORT, SORTS
from incidents.models import SavedView, SlaState
from incidents.presenters import user_label
from incidents.services.incidents import BULK_MAX, SETTABLE_STATUSES, user_for_assignment
from incidents.services.saved_views import saved_view_create
from protocols.models import Category, Platform, Priority
from protocols.selectors import category_list


def chosen_assignee(raw: str, *, user: Any) -> Any | None:
    """An assignee select's value as a user: "me", an active user's id, or empty for nobody."""
    if raw == "me":
        return user
    return user_for_assignment(user_id=int(raw) if raw else None)


class CommaListField(forms.CharField):
    """Tags or products typed as `a, b, c`."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [part.strip() for part in text.split(",") if part.strip()]


class IncidentIdsField(forms.Field):
    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Choose at least one incident.",
        "invalid": "Invalid incident id.",
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if len(ids) > BULK_MAX:
            raise forms.ValidationError(f"At most {BULK_MAX} incidents at once.", code="too_many")
        return ids


def _set_choices(form: forms.BaseForm, name: str, choices: list[tuple[str, str]]) -> None:
    """Fills a ChoiceField once the form knows its categories and users."""
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{name} is not a choice field")
    field.choices = choices


def _use_active_categories(form: forms.BaseForm) -> None:
    field = form.fields["category"]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError("category is not a model choice field")
    field.queryset = category_list()


def _assignee_choices(users: Iterable[Any], *, me: bool) -> list[tuple[str, str]]:
    choices = [("", "Unassigned")]
    if me:
        choices.append(("me", "Me"))
    return choices + [(str(u.pk), user_label(u)) for u in users]


def _moment(text: str) -> datetime | None:
    """A moment typed in the address bar: with its offset, or else in the server's time zone."""
    try:
        moment = parse_datetime(text.strip())
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class QueueFilterForm(forms.Form):
    """Renders the queue's filter bar; IncidentFilter does the filtering."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "id": "filter-q",
                "placeholder": "Search title, description, mentions or #id   ( / )",
                "autocomplete": "off",
            }
        ),
    )
    # The defaults carry an empty value, so a filtered address names only what differs from them.
    status = forms.ChoiceField(
        choices=[("", "All open"), *[(value, label) for value, label in STATUS_CHOICES if value != "open"]],
        required=False,
    )
    priority = forms.ChoiceField(
        choices=[("", "Any priority"), ("high,critical", "High + critical"), *reversed(Priority.choices)],
        required=False,
    )
    sla_state = forms.ChoiceField(
        label="Target",
        choices=[
            ("", "Any target"),
            ("warning,breached", "At risk"),
            *[(value, label) for value, label in SlaState.choices if value != SlaState.NONE],
            (SlaState.NONE, "No target"),
        ],
        required=False,
    )
    # The browser sends the moment with its offset (sla.js converts the local date and time picked);
    # without JavaScript the value is read in the server's time zone.
    due_before = forms.CharField(
        label="Due before",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "data-local-input": ""}),
    )
    category = forms.ChoiceField(required=False)
    platform = forms.ChoiceField(choices=[("", "Any platform"), *Platform.choices], required=False)
    assignee = forms.ChoiceField(required=False)
    tag = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "tag"}))
    product = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "product"}))
    sort = forms.ChoiceField(
        choices=[("" if key == DEFAULT_SORT else key, sort.label) for key, sort in SORTS.items()],
        required=False,
    )

    def __init__(self, data: Any, *, categories: Sequence[Category], users: Sequence[Any]) -> None:
        data = data.copy()
        # `priority=high&priority=critical` and `priority=critical,high` both mean the combined option.
        priorities = sorted({p for raw in data.getlist("priority") for p in raw.split(",") if p})
        if priorities == ["critical", "high"]:
            data["priority"] = "high,critical"
        states = sorted({s for raw in data.getlist("sla_state") for s in raw.split(",") if s})
        if states == ["breached", "warning"]:
            data["sla_state"] = "warning,breached"
        due_before = _moment(data.get("due_before") or "")
        if due_before is not None:
            # A datetime-local input shows a plain date and time: the server's, until sla.js rewrites
            # it in the viewer's time zone from the exact moment.
            data["due_before"] = timezone.localtime(due_before).strftime("%Y-%m-%dT%H:%M")
        super().__init__(data, prefix=None)
        if due_before is not None:
            self.fields["due_before"].widget.attrs["data-moment"] = due_before.isoformat()
        _set_choices(
            self,
            "category",
            [
                ("", "Any category"),
                ("none", "No category"),
                *[(str(c.pk), c.name) for c in categories],
            ],
        )
        _set_choices(
            self,
            "assignee",
            [
                ("", "Anyone"),
                ("me", "Me"),
                ("none", "Unassigned"),
                *[(str(u.pk), user_label(u)) for u in users],
            ],
        )
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("id", f"filter-{name}")


class IncidentCreateForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        label="Issue Description", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="No category"
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    assignee = forms.ChoiceField(required=False)
    tags = CommaListField(required=False, help_text="Comma-separated.")
    products = CommaListField(required=False, help_text="Comma-separated.")
    follow_up_required = forms.BooleanField(label="Follow-up Required", required=False)

    def __init__(self, *args: Any, users: Sequence[Any], may_assign_self: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _use_active_categories(self)
        _set_choices(self, "assignee", _assignee_choices(users, me=may_assign_self))


class DetailsForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        label="Issue Description", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    follow_up_required = forms.BooleanField(label="Follow-up Required", required=False)
    tags = CommaListField(required=False, help_text="Comma-separated.")
    products = CommaListField(required=False, help_text="Comma-separated.")


class AssignForm(forms.Form):
    assignee = forms.RegexField(regex=r"^(|me|\d+)$", required=False)


class CategoryForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _use_active_categories(self)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[(s.value, s.label) for s in SETTABLE_STATUSES])


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class BulkForm(forms.Form):
    op = forms.ChoiceField(
        choices=[("assign_me", "Assign to me"), ("assign", "Assign"), ("categorize", "Categorize")]
    )
    incidents = IncidentIdsField()
    bulk_assignee = forms.RegexField(regex=r"^(|none|\d+)$", required=False)
    bulk_category = forms.RegexField(regex=r"^(|none|\d+)$", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        op = cleaned.get("op")
        if op == "assign" and not cleaned.get("bulk_assignee"):
            self.add_error("bulk_assignee", "Choose who to assign the incidents to.")
        if op == "categorize" and not cleaned.get("bulk_category"):
            self.add_error("bulk_category", "Choose a category.")
        return cleaned


class SavedViewForm(forms.Form):
    """Parses the sidebar's "save current view" form; saved_view_create decides what is stored."""

    name = forms.CharField(max_length=60)
    query = forms.CharField(required=False)  # empty for the default view (all open)

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        self.user = user

    def save(self) -> SavedView | None:
        """The saved view, or None when the service refused it; its reasons become the form's errors."""
        try:
            return saved_view_create(
                user=self.user, name=self.cleaned_data["name"], query=self.cleaned_data["query"]
            )
        except ValidationFailed as exc:
            if not exc.fields:
                self.add_error(None, exc.message)
            for field, errors in exc.fields.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
            return None
