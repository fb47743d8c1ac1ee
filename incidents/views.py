"""Browser pages for the triage queue and the incident page: each view parses the request, calls a
selector or a service, and renders a page or an htmx partial. The rules live in policies and services."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from config.errors import DomainError, NotFound, PermissionRefused, ValidationFailed
from incidents import forms, policies, selectors
from incidents.filters import IncidentFilter
from incidents.keyset import page_of, sort_for
from incidents.models import Incident, IncidentStatus, TimelineEvent
from incidents.services import incidents as services
from protocols.models import Category, Platform, Priority, Role
from protocols.selectors import category_list, user_roles

QUEUE_PAGE_SIZE = 50
BUILTIN_VIEWS = (
    ("All open", ""),
    ("My open", "assignee=me"),
    ("Unassigned", "assignee=none"),
    ("High priority", "priority=high,critical"),
)
ROLE_LABELS = dict(Role.choices)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[..., HttpResponse]


# --- Shared by every page (protocols' token page uses these too) ---------------------------------


def page_context(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs: the actions the user may take (to show only usable controls) and roles."""
    roles = user_roles(user=request.user)
    return {
        "allowed": policies.allowed_actions(user=request.user),
        "role_labels": sorted(ROLE_LABELS.get(role, role) for role in roles),
    }


def error_response(request: HtmxHttpRequest, message: str, *, status: int) -> HttpResponse:
    """An htmx request gets a toast swapped into #flash; a page request gets a page, both with the status."""
    context = {"message": message, "status": status}
    if request.htmx:
        response = render(request, "firebreak/_error.html", context, status=status)
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "beforeend"
        response["HX-Push-Url"] = "false"  # a refused filter must not become the address
        return response
    return render(request, "firebreak/error.html", {**page_context(request), **context}, status=status)


def team_view(action: str) -> Callable[[View], View]:
    """Sign-in first (an htmx request is sent to the login page as a whole), then the role check, and
    a service's DomainError becomes its status with a visible message."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.htmx:
                    back = request.htmx.current_url_abs_path or "/"
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = f"{reverse('login')}?{urlencode({'next': back})}"
                    return response
                return redirect_to_login(request.get_full_path())
            if not policies.can(user=request.user, action=action):
                return error_response(request, "Your role does not allow this.", status=403)
            try:
                return view(request, *args, **kwargs)
            except DomainError as exc:
                return error_response(request, exc.message, status=exc.status_code)

        return wrapper

    return decorate


def first_error(form: django_forms.BaseForm) -> str:
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return "Invalid input."


def valid_data(form: django_forms.BaseForm) -> dict[str, Any]:
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    return form.cleaned_data


def safe_next(request: HttpRequest) -> str | None:
    url = request.POST.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None


# --- Presentation --------------------------------------------------------------------------------


def compact_age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h ago"
    days = hours // 24
    return f"{days}d ago" if days < 60 else f"{days // 30}mo ago"


@dataclass(frozen=True)
class QueueRow:
    incident: Incident
    age: str
    is_mine: bool


def queue_rows(incidents: Iterable[Incident], *, user: Any) -> list[QueueRow]:
    now = timezone.now()
    return [QueueRow(i, compact_age(now, i.created_at), i.assignee_id == user.pk) for i in incidents]


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None when the event set the value rather than changed it
    after: str


@dataclass(frozen=True)
class TimelineEntry:
    event: TimelineEvent
    changes: list[Change]
    mention_id: int | None


CHANGE_FIELDS = (
    ("title", "Title"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("category_id", "Category"),
    ("assignee", "Assignee"),
    ("assigned_role", "Assigned role"),
    ("platform", "Platform"),
    ("follow_up_required", "Follow-up Required"),
    ("tags", "Tags"),
    ("products", "Products"),
    ("description", "Issue Description"),
    ("rules", "Rules"),
)
VALUE_LABELS = {
    "status": dict(IncidentStatus.choices),
    "priority": dict(Priority.choices),
    "assigned_role": ROLE_LABELS,
    "platform": dict(Platform.choices),
}
_MISSING = object()


def _shown(key: str, value: Any, category_names: dict[int, str]) -> str:
    if value is None or value in ("", []):
        return "none"
    if key == "assignee":
        return str(value.get("username", "?")) if isinstance(value, dict) else str(value)
    if key == "category_id":
        return category_names.get(value, f"#{value}")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(VALUE_LABELS.get(key, {}).get(value, value))
    return text if len(text) <= 140 else text[:139] + "…"


def timeline_entry(event: TimelineEvent, category_names: dict[int, str]) -> TimelineEntry:
    before, after = event.before or {}, event.after or {}
    names = dict(category_names)
    if after.get("category_id") is not None and after.get("category"):
        names.setdefault(after["category_id"], str(after["category"]))
    changes = []
    for key, label in CHANGE_FIELDS:
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if new is _MISSING or old == new or (old is _MISSING and new in (None, "", [])):
            continue
        shown_old = None if old is _MISSING else _shown(key, old, names)
        changes.append(Change(label, shown_old, _shown(key, new, names)))
    mention_id = after.get("mention_id")
    return TimelineEntry(event, changes, mention_id if isinstance(mention_id, int) else None)


# --- The queue -----------------------------------------------------------------------------------


def _view_links(request: HttpRequest, current: str) -> dict[str, Any]:
    queue_url = reverse("incidents:queue")
    builtin = [
        {"name": name, "url": f"{queue_url}?{query}" if query else queue_url, "active": query == current}
        for name, query in ((n, forms.view_query(q)) for n, q in BUILTIN_VIEWS)
    ]
    own = [
        {
            "name": v.name,
            "id": v.pk,
            "url": f"{queue_url}?{v.query}",
            "active": forms.view_query(v.query) == current,
        }
        for v in selectors.saved_view_list(user=request.user)
    ]
    return {"builtin_views": builtin, "own_views": own, "current_query": current}


def _row_context(request: HttpRequest, queue_url: str) -> dict[str, Any]:
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
        **_row_context(request, request.get_full_path()),
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
        context.update(_view_links(request, forms.view_query(request.GET)))
        if target == "queue-results":
            template = "incidents/_queue_results.html"
            context["sidebar_oob"] = True
        else:
            template = "incidents/queue.html"
            users = list(selectors.assignable_user_list())
            categories = context["categories"] or list(category_list())
            context["filter_form"] = forms.QueueFilterForm(request.GET, categories=categories, users=users)
            context["users"] = users
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


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
        assignee = _assignee(request, "" if raw == "none" else raw)
        changed = services.incidents_bulk_assign(actor=request.user, incident_ids=ids, assignee=assignee)
        message = f"Assigned {_count(changed)} to {_whom(request, assignee)}."
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
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    view = form.save()
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(f"{reverse('incidents:queue')}?{view.query}" if view.query else "incidents:queue")


@team_view("incident.view")
@require_POST
def saved_view_delete(request: HtmxHttpRequest, view_id: int) -> HttpResponse:
    deleted, _ = selectors.saved_view_list(user=request.user).filter(pk=view_id).delete()
    if not deleted:
        raise NotFound("Saved view not found.")
    messages.success(request, "Saved view deleted.")
    return redirect("incidents:queue")


# --- The incident page and its actions -----------------------------------------------------------


def _incident_context(request: HttpRequest, incident_id: int, **extra: Any) -> dict[str, Any]:
    user = request.user
    incident = selectors.incident_get(user=user, incident_id=incident_id)
    categories = list(category_list(include_inactive=True))
    names = {c.pk: c.name for c in categories}
    allowed = policies.allowed_actions(user=user)
    return {
        **page_context(request),
        "incident": incident,
        "mentions": list(incident.mentions.all()),
        "timeline": [timeline_entry(e, names) for e in incident.timeline.all()],
        "categories": [c for c in categories if c.is_active],
        "users": list(selectors.assignable_user_list()) if "incident.assign_other" in allowed else [],
        "priorities": Priority.choices,
        "settable_statuses": [(s.value, s.label) for s in services.SETTABLE_STATUSES],
        "is_mine": incident.assignee_id == user.pk,
        "details_form": forms.DetailsForm(
            initial={name: getattr(incident, name) for name in services.EDITABLE_FIELDS},
            auto_id=f"edit-{incident.pk}-%s",
        ),
        **extra,
    }


@team_view("incident.view")
def incident_detail(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    return render(request, "incidents/incident_detail.html", _incident_context(request, incident_id))


def _after_change(request: HtmxHttpRequest, incident_id: int, message: str) -> HttpResponse:
    """A queue row posts for its row, the incident page for its panels, a plain form for a redirect."""
    flash = [("success", message)]
    target = request.htmx.target if request.htmx else None
    if target and target.startswith("row-"):
        incident = selectors.incident_base(user=request.user).filter(pk=incident_id).first()
        if incident is None:
            raise NotFound("Incident not found.")
        context = {
            **page_context(request),
            **_row_context(request, safe_next(request) or reverse("incidents:queue")),
            "row": queue_rows([incident], user=request.user)[0],
            "flash": flash,
        }
        return render(request, "incidents/_queue_row_update.html", context)
    if request.htmx:
        context = _incident_context(request, incident_id, flash=flash)
        return render(request, "incidents/_incident_update.html", context)
    messages.success(request, message)
    return redirect(safe_next(request) or reverse("incidents:incident_detail", args=[incident_id]))


def _assignee(request: HttpRequest, raw: str) -> Any | None:
    if raw == "me":
        return request.user
    return services.user_for_assignment(user_id=int(raw) if raw else None)


def _whom(request: HttpRequest, assignee: Any | None) -> str:
    if assignee is None:
        return "nobody"
    return "you" if assignee.pk == request.user.pk else forms.user_label(assignee)


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
def incident_assign(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    assignee = _assignee(request, valid_data(forms.AssignForm(request.POST))["assignee"])
    if not policies.can_assign(user=request.user, assignee=assignee):
        raise PermissionRefused("Your role does not allow assigning incidents to someone else.")
    services.incident_assign(actor=request.user, incident_id=incident_id, assignee=assignee)
    who = _whom(request, assignee)
    message = f"#{incident_id} unassigned." if assignee is None else f"#{incident_id} assigned to {who}."
    return _after_change(request, incident_id, message)


@team_view("incident.categorize")
@require_POST
def incident_categorize(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    category = valid_data(forms.CategoryForm(request.POST))["category"]
    services.incident_categorize(actor=request.user, incident_id=incident_id, category=category)
    return _after_change(
        request, incident_id, f"#{incident_id} category set to {category.name if category else 'none'}."
    )


@team_view("incident.prioritize")
@require_POST
def incident_prioritize(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    priority = valid_data(forms.PriorityForm(request.POST))["priority"]
    services.incident_set_priority(actor=request.user, incident_id=incident_id, priority=priority)
    return _after_change(request, incident_id, f"#{incident_id} priority set to {Priority(priority).label}.")


@team_view("incident.edit")
@require_POST
def incident_status(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    status = valid_data(forms.StatusForm(request.POST))["status"]
    services.incident_set_status(actor=request.user, incident_id=incident_id, status=status)
    return _after_change(
        request, incident_id, f"#{incident_id} is now {IncidentStatus(status).label.lower()}."
    )


@team_view("incident.edit")
@require_POST
def incident_edit(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    data = valid_data(forms.DetailsForm(request.POST))
    services.incident_update_details(actor=request.user, incident_id=incident_id, **data)
    return _after_change(request, incident_id, f"#{incident_id} details saved.")


@team_view("incident.resolve")
@require_POST
def incident_resolve(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    note = valid_data(forms.NoteForm(request.POST))["note"]
    services.incident_resolve(actor=request.user, incident_id=incident_id, note=note)
    return _after_change(request, incident_id, f"#{incident_id} resolved.")


@team_view("incident.reopen")
@require_POST
def incident_reopen(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    note = valid_data(forms.NoteForm(request.POST))["note"]
    services.incident_reopen(actor=request.user, incident_id=incident_id, note=note)
    return _after_change(request, incident_id, f"#{incident_id} reopened.")


@team_view("incident.create")
def incident_create(request: HtmxHttpRequest) -> HttpResponse:
    allowed = policies.allowed_actions(user=request.user)
    users = list(selectors.assignable_user_list()) if "incident.assign_other" in allowed else []
    form = forms.IncidentCreateForm(
        request.POST if request.method == "POST" else None,
        users=users,
        may_assign_self="incident.assign_self" in allowed,
    )
    if form.is_valid():
        data = dict(form.cleaned_data)
        assignee = _assignee(request, data.pop("assignee"))
        try:
            incident = services.incident_create(actor=request.user, assignee=assignee, **data)
        except ValidationFailed as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Incident #{incident.pk} opened.")
            return redirect("incidents:incident_detail", incident_id=incident.pk)
    context = {**page_context(request), "nav": "new", "form": form}
    return render(request, "incidents/incident_form.html", context, status=400 if form.is_bound else 200)
