"""Signing in: every session is stamped as it is signed in, and a sign-in refused by the lockout
(django-axes) gets the login page with a clear message, 429 and Retry-After instead of axes' own page."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from protocols.services.sessions import session_start


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # The signal is the one place every sign-in passes (the login page, the admin's, the test client).
    if request is not None and hasattr(request, "session"):
        session_start(request=request)


def client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address the rate limits count (REMOTE_ADDR, or the X-Forwarded-For
    entry FIREBREAK_TRUSTED_PROXIES hops back), so behind a proxy a lockout is not per proxy."""
    address = BaseThrottle().get_ident(cast(Request, request))  # it reads only request.META
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = settings.FIREBREAK_LOCKOUT_MINUTES
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"Too many failed sign-ins. Try again in {wait} or ask an admin to unlock your account."


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login form again (username kept), the message, 429 and Retry-After.
    Each attempt during a lockout starts its time again (axes' default), so the full time is right."""
    username = request.POST.get("username", "")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": next_url,
        "locked_out": lockout_message(),
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(settings.FIREBREAK_LOCKOUT_MINUTES * 60)
    return response
