"""What every browser page shares: sign-in and the role check (a refusal is written to the audit log), a
service's DomainError shown as a page or an htmx toast, form errors as one message, and the layout's
context."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from config.errors import DomainError, ValidationFailed
from incidents import policies
from protocols.models import Role
from protocols.selectors import user_roles
from protocols.services.audit import audit_refusal_record

ROLE_LABELS = dict(Role.choices)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def page_context(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs: the actions the user may take (to show only usable controls) and roles."""
    from incidents.services.crisis import crisis_current

    roles = user_roles(user=request.user)
    allowed = policies.allowed_actions(user=request.user)
    return {
        "allowed": allowed,
        "role_labels": sorted(ROLE_LABELS.get(role, role) for role in roles),
        # the red banner on every page (cached: no query while nothing changes)
        "crisis": crisis_current() if "crisis.view" in allowed else None,
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
                audit_refusal_record(request=request, user=request.user, needed=action)
                return error_response(request, "Your role does not allow this.", status=403)
            try:
                return view(request, *args, **kwargs)
            except DomainError as exc:
                if exc.status_code == 403:
                    audit_refusal_record(request=request, user=request.user, message=exc.message)
                return error_response(request, exc.message, status=exc.status_code)

        return wrapper

    return decorate


def first_error(form: forms.BaseForm) -> str:
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return "Invalid input."


def valid_data(form: forms.BaseForm) -> dict[str, Any]:
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    return form.cleaned_data


def safe_next(request: HttpRequest) -> str | None:
    url = request.POST.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None
