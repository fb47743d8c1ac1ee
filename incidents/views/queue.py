"""The triage queue page: filters, keyset pages, htmx partial refreshes, bulk actions and saved views.
Each view parses the request, calls a selector or a service, and renders; the rules live elsewhere."""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, first_error, page_context, safe_next, team_view, valid_data
from incidents import forms, policies, selectors
from incidents.filters import IncidentFilter, view_query
from incidents.keyset import page_of, sort_for
from incidents.presenters import assignee_phrase, queue_rows
from incidents.presenters.queue import queue_narrowing
from incidents.services import incidents as services
from incidents.services import saved_views
from protocols.models import Category, Priority
from protocols.selectors import category_list

QUEUE_PAGE_SIZE = 50
BUILTIN_VIEWS = (
    ("All open", ""),
    ("My open", "assignee=me"),
    ("Unassigned", "assignee=none"),
    ("High priority", "priority=high,critical"),
    ("Breaching soon", "sla_state=warning,breached&sort=deadline"),
)


def _view_links(request: HttpRequest, current: str) -> dict[str, Any]:
    queue_url = reverse("incidents:queue")
    builtin = [
        {"name": name, "url": f"{queue_url}?{query}" if query else queue_url, "active": query == current}
        for name, query in ((n, view_query(q)) for n, q in BUILTIN_VIEWS)
    ]
    own = [
        {
            "name": v.name,
            "id": v.pk,
            "url": f"{queue_url}?{v.query}",
            "active": view_query(v.query) == current,
        }
        for v in selectors.saved_view_list(user=request.user)
    ]
    return {"builtin_views": builtin, "own_views": own, "current_query": current}


def row_context(request: HttpRequest, queue_url: str) -> dict[str, Any]:
    """What each queue row needs, computed once per request (not once per row)."""
    allowed = policies.allowed_actions(user=request.user)
    return {
        "categories": list(category_list()) if "incident.categorize" in allowed else [],
        "priorities": Priority.choices,
        "may_assign_self": "incident.assign_self" in allowed,
        "queue_url": queue_url,
    }


@team_view("incident.view")
def queue(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    sort = sort_for(request.GET.get("sort") or None)
    filterset = IncidentFilter(request.GET, queryset=selectors.incident_base(user=user), request=request)
    if not filterset.is_valid():
        raise ValidationFailed(first_error(filterset.form))
    cursor = request.GET.get("cursor") or None
    try:
        page = page_of(filterset.qs, sort=sort, cursor=cursor, size=QUEUE_PAGE_SIZE)
    except django_forms.ValidationError as exc:
        raise ValidationFailed("; ".join(exc.messages)) from None

    without_cursor = request.GET.copy()
    without_cursor.pop("cursor", None)
    queue_url = reverse("incidents:queue")
    next_url = None
    if page.next_cursor:
        following = without_cursor.copy()
        following["cursor"] = page.next_cursor
        next_url = f"{queue_url}?{following.urlencode()}"
    query = request.GET.urlencode()
    context: dict[str, Any] = {
        **page_context(request),
        **row_context(request, request.get_full_path()),
        "nav": "queue",
        "rows": queue_rows(page.rows, user=user),
        "sort": sort,
        "next_url": next_url,
        "first_url": f"{queue_url}?{without_cursor.urlencode()}" if cursor else None,
        "refresh_url": f"{queue_url}?{query}" if query else queue_url,
        "refresh_seconds": settings.FIREBREAK_QUEUE_REFRESH_SECONDS,
    }
    target = request.htmx.target if request.htmx else None
    if target == "queue-rows":
        template = "incidents/_queue_rows.html"
    else:
        context.update(_view_links(request, view_query(request.GET)))
        if target == "queue-results":
            template = "incidents/_queue_results.html"
            context["sidebar_oob"] = True
        else:
            template = "incidents/queue.html"
            users = list(selectors.assignable_user_list())
            categories = context["categories"] or list(category_list())
            context["filter_form"] = forms.QueueFilterForm(request.GET, categories=categories, users=users)
            context["narrowing"] = queue_narrowing(request.GET)
            context["users"] = users
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _category(raw: str) -> Category | None:
    if raw in ("", "none"):
        return None
    category = category_list().filter(pk=int(raw)).first()
    if category is None:
        raise ValidationFailed("Category: Unknown or retired category.")
    return category


def _count(n: int) -> str:
    return f"{n} incident{'' if n == 1 else 's'}"


@team_view("incident.view")
@require_POST
def incidents_bulk(request: HtmxHttpRequest) -> HttpResponse:
    data = valid_data(forms.BulkForm(request.POST))
    ids = sorted(set(data["incidents"]))
    if data["op"] == "categorize":
        category = _category(data["bulk_category"])
        changed = services.incidents_bulk_categorize(actor=request.user, incident_ids=ids, category=category)
        message = f"Category set to {category.name if category else 'none'} on {_count(changed)}."
    else:
        raw = "me" if data["op"] == "assign_me" else data["bulk_assignee"]
        assignee = forms.chosen_assignee("" if raw == "none" else raw, user=request.user)
        changed = services.incidents_bulk_assign(actor=request.user, incident_ids=ids, assignee=assignee)
        message = f"Assigned {_count(changed)} to {assignee_phrase(assignee, viewer=request.user)}."
    if len(ids) > changed:
        message += f" {_count(len(ids) - changed)} already had it."
    if request.htmx:
        response = render(request, "firebreak/_flash_oob.html", {"flash": [("success", message)]})
        response["HX-Trigger"] = "queue-refresh"
        return response
    messages.success(request, message)
    return redirect(safe_next(request) or reverse("incidents:queue"))


@team_view("incident.view")
@require_POST
def saved_view_create(request: HtmxHttpRequest) -> HttpResponse:
    form = forms.SavedViewForm(request.POST, user=request.user)
    view = form.save() if form.is_valid() else None
    if view is None:
        raise ValidationFailed(first_error(form))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(f"{reverse('incidents:queue')}?{view.query}" if view.query else "incidents:queue")


@team_view("incident.view")
@require_POST
def saved_view_delete(request: HtmxHttpRequest, view_id: int) -> HttpResponse:
    saved_views.saved_view_delete(user=request.user, view_id=view_id)
    messages.success(request, "Saved view deleted.")
    return redirect("incidents:queue")
