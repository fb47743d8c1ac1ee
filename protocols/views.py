"""Browser pages of the protocols app: a user's own API tokens (the secret shown once, in the answer to
the POST that created it) and, for admins, everyone's; who has access to the brand's accounts, with
the offboarding checklists, and the public community guidelines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.errors import NotFound
from config.pages import first_error, page_context, team_view
from incidents import policies
from protocols.models import TokenScope
from protocols.selectors import (
    api_token_list,
    moderation_rule_list,
    offboarding_checklist_list,
    social_account_access_registry,
)
from protocols.services import (
    api_token_create,
    api_token_revoke,
    offboarding_item_tick,
    social_account_access_revoke,
)
from protocols.token_selectors import api_token_get_any, api_token_list_all

MAX_EXPIRY_DAYS = 3650
ALL_TOKENS_SHOWN = 200  # an admin's list of everyone's tokens, newest first


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Listening tool"})
    )
    expires_in_days = forms.IntegerField(
        label="Expires in (days)",
        required=False,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="Leave empty for a token that does not expire.",
    )
    scope = forms.ChoiceField(
        label="Access",
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text="Read only: the token can look but change nothing (GET only), whatever your roles allow.",
    )


@never_cache  # the answer to a create holds the secret; no cache or back button may keep it
@team_view("token.manage_own")
def tokens(request: HttpRequest) -> HttpResponse:
    issued = None
    status = 200
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            expires_at = timezone.now() + timedelta(days=days) if days else None
            issued = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=expires_at,
                scope=form.cleaned_data["scope"],
            )
            form = TokenCreateForm()
        else:
            messages.error(request, first_error(form))
            status = 400
    context: dict[str, Any] = {
        **page_context(request),
        "nav": "tokens",
        "form": form,
        "issued": issued,
        "tokens": list(api_token_list(user=request.user)),
        "all_tokens": list(api_token_list_all(user=request.user)[:ALL_TOKENS_SHOWN]),
        "now": timezone.now(),
    }
    return render(request, "protocols/tokens.html", context, status=status)


@team_view("token.manage_own")
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_token_get_any(user=request.user, token_id=token_id)
    if token is None:
        raise NotFound("API token not found.")
    if api_token_revoke(token=token):
        whose = "" if token.user_id == request.user.pk else f" of {token.user.get_username()}"
        messages.success(request, f"Revoked the token “{token.name}”{whose}. Clients using it now get 401.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("protocols:tokens")


@team_view("access.view")
def access(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        **page_context(request),
        "nav": "access",
        "accounts": list(social_account_access_registry()),
        "checklists": list(offboarding_checklist_list(open_only=True)),
        "may_manage": policies.can(user=request.user, action="access.manage"),
    }
    return render(request, "protocols/access.html", context)


@team_view("access.manage")
@require_POST
def access_item_tick(request: HttpRequest, item_id: int) -> HttpResponse:
    """Ticks one item; htmx swaps in the checklist again (done, or the item ticked), a form post reloads."""
    item = offboarding_item_tick(actor=request.user, item_id=item_id)
    if not getattr(request, "htmx", False):
        messages.success(request, f"Done: {item.text}.")
        return redirect("protocols:access")
    checklist = offboarding_checklist_list().get(pk=item.checklist_id)
    return render(
        request,
        "protocols/_checklist.html",
        {"checklist": checklist, "may_manage": True, "just_ticked": item.pk},
    )


@team_view("access.manage")
@require_POST
def access_revoke(request: HttpRequest, access_id: int) -> HttpResponse:
    grant = social_account_access_revoke(actor=request.user, access_id=access_id)
    messages.success(request, f"Revoked {grant.user.get_username()}'s access to {grant.account.name}.")
    return redirect("protocols:access")


def community_guidelines(request: HttpRequest) -> HttpResponse:
    """Public (no sign-in): what the brand's community may post and what happens when it does not."""
    return render(request, "protocols/community_guidelines.html", {"rules": list(moderation_rule_list())})
