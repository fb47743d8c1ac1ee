"""Each reply's actions (draft from the composer, edit, submit, approve, request changes, withdraw,
publish), answered where they were asked from: the incident page, an approval inbox row, or a redirect."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.pages import HtmxHttpRequest, safe_next, team_view, valid_data
from incidents.models import Reply, ReplyState
from incidents.presenters.replies import ReplyForm, role_label
from incidents.reply_selectors import approval_inbox_count, reply_get, reply_writing_stop
from incidents.services import replies as services
from incidents.views.incident import incident_context
from incidents.views.replies.card import card_context
from incidents.views.replies.composer import (
    Composer,
    answered_mention,
    composer_context,
    incident_with_mentions,
    template_choice,
)
from incidents.views.replies.forms import BodyForm, ComposerForm, NoteForm, PublishForm
from incidents.views.replies.inbox import inbox_rows


def _incident_update(
    request: HtmxHttpRequest,
    incident_id: int,
    message: str,
    *,
    focus: int | None,
    composer: bool = False,
    forms_by_reply: dict[int, ReplyForm] | None = None,
) -> HttpResponse:
    """The incident page after a reply changed: its panels, timeline and targets, the Replies card
    (the reply acted on takes the keyboard focus), and a fresh composer when the action came from it."""
    context = incident_context(request, incident_id, flash=[("success", message)])
    incident, mentions = context["incident"], context["mentions"]
    plan = services.approval_plan_for_incident(incident=incident)
    card = card_context(request, incident, mentions, plan, forms_by_reply=forms_by_reply, focus=focus)
    context.update(card, card_oob=True)
    if composer:
        context.update(composer_context(request, incident, mentions, plan), composer_oob=True)
    return render(request, "incidents/_reply_update.html", context)


def _retarget(response: HttpResponse, target: str) -> HttpResponse:
    response["HX-Retarget"] = target
    response["HX-Reswap"] = "outerHTML"
    return response


def _from_inbox(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and (request.htmx.target or "").startswith("approval-")


def _act(
    request: HtmxHttpRequest,
    reply_id: int,
    form: ReplyForm,
    perform: Callable[[Reply], str],
) -> HttpResponse:
    """Runs one reply action and answers where it was asked from: the incident page (the whole reply
    area), an approval inbox row, or a plain form (a redirect). A refusal or a conflict is shown next to
    the form that caused it, with the reply as it is now."""
    reply = reply_get(user=request.user, reply_id=reply_id)
    try:
        message = perform(reply)
    except DomainError as error:
        if not request.htmx:
            raise
        form.error, form.status = error.message, error.status_code
        if error.code == "stale_reply":
            form.stale_mentions = services.reply_staleness(reply=reply).newer_mentions
        if _from_inbox(request):
            row = inbox_rows(request, [reply_get(user=request.user, reply_id=reply_id)], form=form)[0]
            response = render(
                request, "incidents/_reply_inbox_row.html", {"row": row}, status=error.status_code
            )
            return _retarget(response, f"#approval-{reply_id}")
        incident = incident_with_mentions(request, reply.incident_id)
        plan = services.approval_plan_for_incident(incident=incident)
        mentions = list(incident.mentions.all())
        context = card_context(
            request, incident, mentions, plan, forms_by_reply={reply_id: form}, focus=reply_id
        )
        response = render(request, "incidents/_reply_card.html", context, status=error.status_code)
        return _retarget(response, "#replies")
    if _from_inbox(request):
        fresh = reply_get(user=request.user, reply_id=reply_id)
        context = {
            "outcome": message,
            "reply": fresh,
            "approvals_waiting": approval_inbox_count(user=request.user),
        }
        return render(request, "incidents/_reply_inbox_outcome.html", context)
    if request.htmx:
        return _incident_update(request, reply.incident_id, message, focus=reply_id)
    messages.success(request, message)
    back = reverse("incidents:incident_detail", args=[reply.incident_id]) + f"#reply-{reply_id}"
    return redirect(safe_next(request) or back)


@team_view("reply.draft")
@require_POST
def reply_new(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The composer's buttons: save a draft, or save and submit it, or save and publish it."""
    data = valid_data(ComposerForm(request.POST))
    incident = incident_with_mentions(request, incident_id)
    mentions = list(incident.mentions.all())
    choice = template_choice(request, incident, data["template"])
    composer = Composer(
        body=data["body"],
        mention_id=data["mention"],
        template_id=choice.template_id if choice else None,
        kind=choice.kind if choice else "",
        url=data["url"],
    )
    mention = answered_mention(mentions, data["mention"])
    try:
        reply = services.reply_create(
            actor=request.user,
            incident_id=incident.pk,
            body=data["body"],
            mention_id=mention.pk if mention else None,
            template_version_id=choice.version_id if choice else None,
            template_name=choice.name if choice else "",
        )
    except DomainError as error:
        if not request.htmx:
            raise
        composer.error = error.message
        plan = services.approval_plan_for_incident(incident=incident)
        context = composer_context(request, incident, mentions, plan, composer)
        response = render(request, "incidents/_reply_composer.html", context, status=error.status_code)
        return _retarget(response, "#composer")
    reply_writing_stop(user=request.user, incident_id=incident.pk)
    message = f"Draft saved on #{incident.pk}."
    intent = data["intent"] or "draft"
    follow_up = ReplyForm(action="submit" if intent == "submit" else "publish", url=data["url"])
    try:
        if intent == "submit":
            submitted = services.reply_submit(
                actor=request.user, reply_id=reply.pk, expected_version=reply.version
            )
            message = _submitted_message(submitted)
        elif intent == "publish":
            message = _publish(
                request, reply, url=data["url"], confirm_stale=False, expected_version=reply.version
            )
    except DomainError as error:
        # The draft is saved; what stopped the next step is shown on the draft, where it can be retried.
        if not request.htmx:
            raise
        follow_up.error, follow_up.status = f"Draft saved, but: {error.message}", error.status_code
        return _incident_update(
            request, incident.pk, message, focus=reply.pk, composer=True, forms_by_reply={reply.pk: follow_up}
        )
    if request.htmx:
        return _incident_update(request, incident.pk, message, focus=reply.pk, composer=True)
    messages.success(request, message)
    return redirect(reverse("incidents:incident_detail", args=[incident.pk]) + f"#reply-{reply.pk}")


def _submitted_message(reply: Reply) -> str:
    step = reply.current_step
    if step is None:
        return f"Reply #{reply.pk} needs no approval: it is ready to publish."
    stage = str(step["label"]).lower()
    return f"Reply #{reply.pk} submitted: waiting on {role_label(step['role'])} for {stage}."


def _publish(
    request: HttpRequest, reply: Reply, *, url: str, confirm_stale: bool, expected_version: int | None
) -> str:
    published = services.reply_publish(
        actor=request.user,
        reply_id=reply.pk,
        url=url.strip(),
        confirm_stale=confirm_stale,
        expected_version=expected_version,
    )
    if published.state == ReplyState.PUBLISHED:
        return f"Reply #{reply.pk} published."
    account = published.account.name if published.account else "the platform"
    return f"Reply #{reply.pk} is being sent to {account}."


@team_view("reply.draft")
@require_POST
def reply_edit(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    data = valid_data(BodyForm(request.POST))
    form = ReplyForm(action="edit", body=data["body"])

    def perform(reply: Reply) -> str:
        before = reply.version
        edited = services.reply_edit(
            actor=request.user, reply_id=reply.pk, body=data["body"], expected_version=data["version"]
        )
        if edited.version != before:
            return f"Reply #{reply.pk} saved as version {edited.version}: the approval starts again."
        return f"Reply #{reply.pk} saved."

    return _act(request, reply_id, form, perform)


@team_view("reply.draft")
@require_POST
def reply_submit(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    version = valid_data(NoteForm(request.POST))["version"]

    def perform(reply: Reply) -> str:
        return _submitted_message(
            services.reply_submit(actor=request.user, reply_id=reply.pk, expected_version=version)
        )

    return _act(request, reply_id, ReplyForm(action="submit"), perform)


@team_view("reply.decide")
@require_POST
def reply_approve(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    data = valid_data(NoteForm(request.POST))

    def perform(reply: Reply) -> str:
        step = reply.current_step
        approved = services.reply_approve(
            actor=request.user, reply_id=reply.pk, expected_version=data["version"], note=data["note"]
        )
        label = str(step["label"]) if step else "The step"
        following = approved.current_step
        if following is not None:
            return f"{label} approved: reply #{reply.pk} now waits on {role_label(following['role'])}."
        return f"{label} approved: reply #{reply.pk} is ready to publish."

    return _act(request, reply_id, ReplyForm(action="decide", note=data["note"]), perform)


@team_view("reply.decide")
@require_POST
def reply_request_changes(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    data = valid_data(NoteForm(request.POST))

    def perform(reply: Reply) -> str:
        services.reply_request_changes(
            actor=request.user, reply_id=reply.pk, note=data["note"], expected_version=data["version"]
        )
        return f"Changes requested on reply #{reply.pk}; its authors are told."

    return _act(request, reply_id, ReplyForm(action="decide", note=data["note"]), perform)


@team_view("reply.draft")
@require_POST
def reply_withdraw(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    note = valid_data(NoteForm(request.POST))["note"]

    def perform(reply: Reply) -> str:
        services.reply_withdraw(actor=request.user, reply_id=reply.pk, note=note)
        return f"Reply #{reply.pk} withdrawn."

    return _act(request, reply_id, ReplyForm(action="withdraw", note=note), perform)


@team_view("reply.publish")
@require_POST
def reply_publish(request: HtmxHttpRequest, reply_id: int) -> HttpResponse:
    data = valid_data(PublishForm(request.POST))
    form = ReplyForm(action="publish", url=data["url"])

    def perform(reply: Reply) -> str:
        return _publish(
            request,
            reply,
            url=data["url"],
            confirm_stale=data["confirm_stale"],
            expected_version=data["version"],
        )

    return _act(request, reply_id, form, perform)
