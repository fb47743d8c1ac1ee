"""The dashboard's filter bar: a date range (whole days, UTC) and the queue's filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django import forms

from incidents.selectors import assignable_user_list
from protocols.models import Category, Platform, Priority, Role, Tier
from protocols.selectors import category_list
from reporting.metrics import ReportQuery

DEFAULT_DAYS = 30
LONGEST = timedelta(days=731)


class ReportFilterForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(required=False)
    tier = forms.ChoiceField(choices=[("", "Any tier"), *Tier.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "Any priority"), *reversed(Priority.choices)], required=False)
    platform = forms.ChoiceField(choices=[("", "Any platform"), *Platform.choices], required=False)
    product = forms.CharField(
        required=False, max_length=80, widget=forms.TextInput(attrs={"placeholder": "Product"})
    )
    assignee = forms.ChoiceField(required=False)
    assigned_role = forms.ChoiceField(label="Role", choices=[("", "Any role"), *Role.choices], required=False)

    def __init__(
        self, data: Any, *, today: date, categories: Sequence[Category], users: Sequence[Any]
    ) -> None:
        defaults = {"start": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": today.isoformat()}
        merged = {**defaults, **{k: v for k, v in (data or {}).items() if v}}
        super().__init__(merged)
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            ("", "Any category"),
            ("none", "Uncategorised"),
            *[(str(c.pk), c.name) for c in categories],
        ]
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            ("", "Anyone"),
            ("none", "Unassigned"),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in users],
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The range ends before it starts.")
            if end - start > LONGEST:
                raise forms.ValidationError("A report covers at most two years.")
        return data

    def report_query(self) -> ReportQuery:
        data = self.cleaned_data
        start = datetime.combine(data["start"], time.min, tzinfo=UTC)
        end = datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=UTC)
        filters = {
            name: str(data[name]).strip().lower() if name == "product" else str(data[name])
            for name in ("category", "tier", "priority", "platform", "product", "assignee", "assigned_role")
            if data.get(name)
        }
        return ReportQuery(start=start, end=end, filters=filters)


def report_filter_form(params: Any, *, today: date) -> ReportFilterForm:
    """The filter bar bound to `params`, its choices loaded (categories, assignable people): the
    dashboard, the exports and the API validate their parameters with it alike."""
    return ReportFilterForm(
        params, today=today, categories=list(category_list()), users=list(assignable_user_list())
    )
