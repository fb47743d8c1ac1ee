"""Browser pages for outbound webhooks (admins): the subscriptions (create one, its secret shown once in
the answer; switch one off), and one subscription's delivery log with a replay button per delivery."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.errors import ValidationFailed
from config.pages import first_error, page_context, team_view
from incidents.models import WebhookEvent
from incidents.services import webhooks as services
from incidents.webhook_selectors import (
    webhook_delivery_list,
    webhook_subscription_get,
    webhook_subscription_list,
)

LOG_PAGE_SIZE = 25


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Ticketing"}))
    url = forms.CharField(
        label="Target URL",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "https://…", "inputmode": "url"}),
        help_text="https:// (plain http only to localhost).",
    )
    event_types = forms.MultipleChoiceField(
        label="Events", choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )


@never_cache  # the answer to a create holds the secret; no cache or back button may keep it
@team_view("webhook.manage")
def webhooks(request: HttpRequest) -> HttpResponse:
    issued = None
    status = 200
    form = SubscriptionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                issued = services.webhook_subscription_create(actor=request.user, **form.cleaned_data)
            except ValidationFailed as error:
                for field, problems in error.fields.items():
                    form.add_error(field if field in form.fields else None, problems)
                messages.error(request, error.message)
                status = 400
            else:
                form = SubscriptionForm()
        else:
            messages.error(request, first_error(form))
            status = 400
    context: dict[str, Any] = {
        **page_context(request),
        "nav": "webhooks",
        "form": form,
        "issued": issued,
        "subscriptions": list(webhook_subscription_list(user=request.user)),
        "event_labels": dict(WebhookEvent.choices),
    }
    return render(request, "incidents/webhooks.html", context, status=status)


@team_view("webhook.manage")
@require_POST
def webhook_deactivate(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = services.webhook_subscription_deactivate(
        actor=request.user, subscription_id=subscription_id
    )
    messages.success(request, f"Switched off “{subscription.name}”. New events no longer reach it.")
    return redirect("incidents:webhooks")


@team_view("webhook.manage")
def webhook_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = webhook_subscription_get(user=request.user, subscription_id=subscription_id)
    page = Paginator(webhook_delivery_list(user=request.user, subscription_id=subscription.pk), LOG_PAGE_SIZE)
    deliveries = page.get_page(request.GET.get("page"))
    rows = [
        {"delivery": d, "payload": json.dumps(d.payload, indent=2, sort_keys=True, ensure_ascii=False)}
        for d in deliveries
    ]
    context: dict[str, Any] = {
        **page_context(request),
        "nav": "webhooks",
        "subscription": subscription,
        "deliveries": deliveries,
        "rows": rows,
        "event_labels": dict(WebhookEvent.choices),
    }
    return render(request, "incidents/webhook_detail.html", context)


@team_view("webhook.manage")
@require_POST
def webhook_delivery_replay(request: HttpRequest, delivery_id: Any) -> HttpResponse:
    delivery = services.webhook_delivery_replay(actor=request.user, delivery_id=delivery_id)
    messages.success(request, f"Sending delivery {delivery.pk} again (same id, same payload).")
    back = redirect("incidents:webhook_detail", subscription_id=delivery.subscription_id)
    page = request.POST.get("page", "")
    if page.isdigit():
        back["Location"] += f"?page={page}"
    return back
