"""The approval inbox: every reply waiting on the user's decision with what a reviewer needs to decide,
and the navigation link that counts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.pages import HtmxHttpRequest, page_context, team_view
from incidents import policies
from incidents.models import Incident, Mention, Reply, ReplyDecision, ReplyVersion
from incidents.presenters.replies import ReplyForm, ReplyView, reply_view
from incidents.presenters.wording import countdown_text, duration_words, since_text
from incidents.reply_selectors import (
    approval_inbox,
    approval_inbox_count,
    reply_diff_from_reviewed,
    reply_step_clocks,
)
from incidents.views.replies.card import LIVE_SECONDS
from protocols.selectors import user_roles


@dataclass
class InboxRow:
    view: ReplyView
    incident: Incident
    mention: Mention | None
    waited: str  # "25 min"
    due_text: str  # "1h 35m left", before sla.js ticks it

    @property
    def target(self) -> str:
        return f"#approval-{self.view.reply.pk}"

    @property
    def back(self) -> str:
        return reverse("incidents:approvals")


def inbox_rows(
    request: HttpRequest, replies: list[Reply], *, form: ReplyForm | None = None
) -> list[InboxRow]:
    """Each waiting reply with what a reviewer needs to decide: the incident, the mention it answers,
    how long it has waited, the step's deadline, the text and what changed since the last review."""
    prefetch_related_objects(
        replies,
        Prefetch("versions", queryset=ReplyVersion.objects.select_related("edited_by").order_by("number")),
        Prefetch(
            "decisions",
            queryset=ReplyDecision.objects.select_related("decided_by").order_by("decided_at", "id"),
        ),
    )
    clocks = reply_step_clocks(replies=replies)
    user, now = request.user, timezone.now()
    roles, allowed = user_roles(user=user), policies.allowed_actions(user=user)
    rows = []
    for reply in replies:
        view = reply_view(
            reply,
            viewer=user,
            roles=roles,
            allowed=allowed,
            clock=clocks.get(reply.pk),
            diff=reply_diff_from_reviewed(reply=reply),
            publishes_by_hand=True,
            needs_approval=True,
            now=now,
            form=form,
        )
        since, due = view.waiting_since, view.due_at
        if due is None:
            due_text = ""
        elif due > now:
            due_text = f"{countdown_text((due - now).total_seconds())} left"
        else:
            due_text = f"breached {since_text((now - due).total_seconds())}"
        rows.append(
            InboxRow(
                view=view,
                incident=reply.incident,
                mention=reply.mention,
                waited=duration_words((now - since).total_seconds()) if since else "",
                due_text=due_text,
            )
        )
    return rows


@team_view("reply.decide")
@require_GET
def approvals(request: HtmxHttpRequest) -> HttpResponse:
    """Everything waiting on the user's decision, oldest first; the list refreshes itself."""
    replies = approval_inbox(user=request.user)
    context: dict[str, Any] = {"rows": inbox_rows(request, replies), "live_seconds": LIVE_SECONDS}
    if request.htmx and request.htmx.target == "approval-rows":
        context.update(approvals_waiting=len(replies), rows_oob=True)
        return render(request, "incidents/_reply_inbox_rows.html", context)
    context.update(page_context(request), nav="approvals", approvals_waiting=len(replies))
    return render(request, "incidents/approvals.html", context)


@never_cache  # polled by every page of a reviewer
@team_view("reply.decide")
@require_GET
def approvals_nav(request: HtmxHttpRequest) -> HttpResponse:
    on_inbox = bool(request.htmx) and request.htmx.current_url_abs_path == reverse("incidents:approvals")
    context = {
        "approvals_waiting": approval_inbox_count(user=request.user),
        "nav": "approvals" if on_inbox else "",
    }
    return render(request, "incidents/_reply_nav.html", context)
