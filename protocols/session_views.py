"""Browser page actions on one's own sessions: sign out everywhere (every browser, this one included)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from protocols.services.sessions import user_sessions_end


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    user_sessions_end(actor=request.user, user_id=cast(int, request.user.pk))
    logout(request)
    messages.success(request, "Signed out everywhere: all your sessions have ended, this one included.")
    return redirect("login")
