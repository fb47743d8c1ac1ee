"""The Replies card on the incident page: each reply as its viewer may act on it, the sign-off chain,
who else is writing, and the live refresh that brings others' changes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.pages import HtmxHttpRequest, team_view
from incidents import policies
from incidents.models import Incident, Mention
from incidents.presenters.replies import ReplyForm, ReplyView, reply_view, role_label, writers_phrase
from incidents.presenters.wording import duration_words
from incidents.reply_selectors import (
    replies_fingerprint,
    replies_for_incident,
    reply_diff_from_reviewed,
    reply_step_clocks,
    reply_writers,
    reply_writing_touch,
)
from incidents.services import replies as services
from incidents.views.replies.composer import (
    composer_context,
    incident_account,
    incident_with_mentions,
    posts_by_hand,
)
from protocols.selectors import ApprovalPlan, user_roles

# How often the Replies card and the approval inbox look for changes made by others.
LIVE_SECONDS = 10


def _reply_views(
    request: HttpRequest,
    incident: Incident,
    mentions: list[Mention],
    plan: ApprovalPlan | None,
    *,
    forms_by_reply: dict[int, ReplyForm] | None = None,
    focus: int | None = None,
) -> list[ReplyView]:
    user = request.user
    replies = replies_for_incident(user=user, incident_id=incident.pk)
    clocks = reply_step_clocks(replies=replies)
    default_by_hand = (
        posts_by_hand(incident_account(incident)) if any(not r.account_id for r in replies) else True
    )
    roles, allowed, now = user_roles(user=user), policies.allowed_actions(user=user), timezone.now()
    by_id = {m.pk: m for m in mentions}
    views = []
    for reply in replies:
        view = reply_view(
            reply,
            viewer=user,
            roles=roles,
            allowed=allowed,
            clock=clocks.get(reply.pk),
            diff=reply_diff_from_reviewed(reply=reply),
            publishes_by_hand=services.publishes_by_hand(reply=reply)
            if reply.account_id
            else default_by_hand,
            needs_approval=plan is not None,
            planned=plan.steps if plan else (),
            mentions=mentions,
            now=now,
            form=(forms_by_reply or {}).get(reply.pk),
        )
        view.focus = reply.pk == focus
        view.mention = by_id.get(reply.mention_id) if reply.mention_id else None
        views.append(view)
    return views


def card_context(
    request: HttpRequest,
    incident: Incident,
    mentions: list[Mention],
    plan: ApprovalPlan | None,
    *,
    forms_by_reply: dict[int, ReplyForm] | None = None,
    focus: int | None = None,
) -> dict[str, Any]:
    """The Replies card; forms_by_reply shows an action's error on its reply, focus gives it the focus."""
    return {
        "incident": incident,
        "reply_views": _reply_views(
            request, incident, mentions, plan, forms_by_reply=forms_by_reply, focus=focus
        ),
        "chain_steps": [
            {
                "label": s["label"],
                "role": role_label(s["role"]),
                "within": duration_words(s["target_minutes"] * 60),
            }
            for s in (plan.steps if plan else ())
        ],
        "needs_approval": plan is not None,
        "writers": writers_phrase(reply_writers(user=request.user, incident_id=incident.pk)),
        "fingerprint": replies_fingerprint(user=request.user, incident_id=incident.pk),
        "live_seconds": LIVE_SECONDS,
        "allowed": policies.allowed_actions(user=request.user),
    }


def reply_area_context(request: HttpRequest, incident: Incident, mentions: list[Mention]) -> dict[str, Any]:
    """The Replies card and the composer as the incident page shows them (incidents/_reply_area.html);
    the incident comes with its mentions, oldest first."""
    plan = services.approval_plan_for_incident(incident=incident)
    return {
        **card_context(request, incident, mentions, plan),
        **composer_context(request, incident, mentions, plan),
    }


@team_view("reply.view")
@require_GET
def reply_card(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The Replies card and the composer on their own, for htmx (the incident page shows them inline)."""
    if not request.htmx:
        return redirect(reverse("incidents:incident_detail", args=[incident_id]) + "#replies")
    incident = incident_with_mentions(request, incident_id)
    context = reply_area_context(request, incident, list(incident.mentions.all()))
    return render(request, "incidents/_reply_area.html", context)


@never_cache  # polled: a cached answer would hide a new writer or a decision
@team_view("reply.view")
@require_GET
def reply_live(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """Who else is writing, and the replies again when they changed since the page showed them."""
    writers = writers_phrase(reply_writers(user=request.user, incident_id=incident_id))
    fingerprint = replies_fingerprint(user=request.user, incident_id=incident_id)
    context: dict[str, Any] = {"writers": writers}
    if request.GET.get("seen") != fingerprint:
        incident = incident_with_mentions(request, incident_id)
        plan = services.approval_plan_for_incident(incident=incident)
        context.update(card_context(request, incident, list(incident.mentions.all()), plan), list_oob=True)
    return render(request, "incidents/_reply_live.html", context)


@team_view("reply.draft")
@require_POST
def reply_writing(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The composer's heartbeat while someone writes: the others see "Ana is writing a reply"."""
    reply_writing_touch(user=request.user, incident_id=incident_id)
    return HttpResponse(status=204)
