"""The in-app inbox: the notifications page (with the failing chat webhooks, for admins), the bell's
unread count that every page polls, and marking one or all notifications read (htmx or plain POST)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.pages import HtmxHttpRequest, page_context, team_view
from incidents import policies
from incidents.models import Notification
from incidents.notification_selectors import (
    notification_get,
    notification_list,
    notification_unread_count,
    webhook_endpoint_list_failing,
)
from incidents.services.notifications import notification_mark_read, notifications_mark_all_read

INBOX_SIZE = 100


def _href(notification: Notification) -> str:
    """Where the notification leads: its own link when it points inside Firebreak, else its incident."""
    link = notification.link
    base = settings.FIREBREAK_BASE_URL.rstrip("/")
    if link.startswith("/") and not link.startswith("//"):
        return link
    if link.startswith(f"{base}/"):
        return link[len(base) :]
    if notification.incident_id is not None:
        return reverse("incidents:incident_detail", args=[notification.incident_id])
    return ""


def _item(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "subject": notification.subject,
        "body": notification.body,
        "href": _href(notification),
        "incident_id": notification.incident_id,
        "incident_title": getattr(notification, "incident_title", None),
        "created_at": notification.created_at,
        "is_unread": notification.read_at is None,
    }


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "notifications": [_item(n) for n in notification_list(user=user, limit=INBOX_SIZE)],
        "unread_count": notification_unread_count(user=user),
    }


@team_view("notification.view")
@require_GET
def notifications(request: HtmxHttpRequest) -> HttpResponse:
    may_see_failing = policies.can(user=request.user, action="webhook.view_failing")
    context = {
        **page_context(request),
        **_inbox_context(request),
        "nav": "notifications",
        "failing_endpoints": list(webhook_endpoint_list_failing()) if may_see_failing else None,
    }
    return render(request, "incidents/notifications.html", context)


@never_cache  # polled: a cached count would hide new notifications
@team_view("notification.view")
@require_GET
def notification_bell(request: HtmxHttpRequest) -> HttpResponse:
    # The poll answers for whatever page is open; the bell is the current page's link on the inbox.
    on_inbox = bool(request.htmx) and request.htmx.current_url_abs_path == reverse("incidents:notifications")
    context = {
        "unread_count": notification_unread_count(user=request.user),
        "nav": "notifications" if on_inbox else "",
    }
    return render(request, "incidents/_notification_bell.html", context)


@team_view("notification.view")
@require_POST
def notification_read(request: HtmxHttpRequest, notification_id: int) -> HttpResponse:
    notification_mark_read(user=request.user, notification_id=notification_id)
    if not request.htmx:
        return redirect("incidents:notifications")
    context = {
        "item": _item(notification_get(user=request.user, notification_id=notification_id)),
        "unread_count": notification_unread_count(user=request.user),
        # The button that was pressed is gone; keyboard focus moves to its notification instead.
        "focus": True,
    }
    return render(request, "incidents/_notification_item_update.html", context)


@team_view("notification.view")
@require_POST
def notifications_read_all(request: HtmxHttpRequest) -> HttpResponse:
    marked = notifications_mark_all_read(user=request.user)
    message = f"Marked {marked} notification{'' if marked == 1 else 's'} read." if marked else "All read."
    if not request.htmx:
        messages.success(request, message)
        return redirect("incidents:notifications")
    context = {**_inbox_context(request), "flash": [("success", message)]}
    return render(request, "incidents/_notification_list_update.html", context)
