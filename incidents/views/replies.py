"""Replies in the browser: the incident page's Replies card and composer (templates, brand checks as
you type, preview, FAQ panel, who else is writing), each reply's actions, and the approval inbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.errors import DomainError, NotFound, ValidationFailed
from config.pages import HtmxHttpRequest, page_context, safe_next, team_view, valid_data
from incidents import policies, selectors
from incidents.models import Incident, Mention, Reply, ReplyDecision, ReplyState, ReplyVersion
from incidents.presenters.replies import ReplyForm, ReplyView, reply_view, role_label, writers_phrase
from incidents.presenters.wording import countdown_text, duration_words, since_text
from incidents.reply_selectors import (
    approval_inbox,
    approval_inbox_count,
    replies_fingerprint,
    replies_for_incident,
    reply_diff_from_reviewed,
    reply_get,
    reply_step_clocks,
    reply_writers,
    reply_writing_stop,
    reply_writing_touch,
)
from incidents.services import replies as services
from incidents.views.incident import _incident_context
from protocols.models import Platform, PublisherKind, SocialAccount
from protocols.selectors import ApprovalPlan, user_roles
from templates_app.brand import check_draft, platform_limit
from templates_app.models import TemplateKind
from templates_app.rendering import render_body
from templates_app.selectors import TemplateChoice, faqs_for, templates_for_incident

# The composer says "still writing" this often; reply_writers forgets a writer after 30 s of silence.
HEARTBEAT_SECONDS = 10
# How often the Replies card and the approval inbox look for changes made by others.
LIVE_SECONDS = 10
PLATFORM_LABELS = dict(Platform.choices)
KIND_LABELS = dict(TemplateKind.choices)


# --- forms ---------------------------------------------------------------------------------------------


class ReplyTextField(forms.CharField):
    """A reply's text as the platform counts it: a browser sends each line break as CR LF, one character."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=services.BODY_MAX, required=False, strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class VersionField(forms.IntegerField):
    def __init__(self) -> None:
        super().__init__(required=False, min_value=1)


class BodyForm(forms.Form):
    body = ReplyTextField(label="Reply")
    version = VersionField()


class ComposerForm(forms.Form):
    body = ReplyTextField(label="Reply")
    mention = forms.IntegerField(required=False)
    template = forms.IntegerField(required=False)
    intent = forms.ChoiceField(
        choices=[("draft", "Save draft"), ("submit", "Submit"), ("publish", "Publish")], required=False
    )
    url = forms.CharField(label="Link to the post", max_length=2000, required=False)


class CheckForm(forms.Form):
    body = ReplyTextField()
    kind = forms.CharField(max_length=20, required=False)
    mention = forms.IntegerField(required=False)


class TemplateForm(forms.Form):
    template = forms.IntegerField(required=False)
    mention = forms.IntegerField(required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", max_length=2000, required=False)
    version = VersionField()


class PublishForm(forms.Form):
    url = forms.CharField(label="Link to the post", max_length=2000, required=False)
    confirm_stale = forms.BooleanField(required=False)
    version = VersionField()


class FaqForm(forms.Form):
    q = forms.CharField(max_length=200, required=False)


# --- the composer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableField:
    name: str
    label: str
    value: str
    is_required: bool


@dataclass
class Composer:
    """What the composer shows: the text being written and where it came from, and what went wrong."""

    body: str = ""
    mention_id: int | None = None
    template_id: int | None = None
    kind: str = ""
    url: str = ""
    error: str = ""
    chosen: TemplateChoice | None = None
    variables: list[VariableField] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _incident(request: HttpRequest, incident_id: int) -> Incident:
    incident = (
        selectors.incident_base(user=request.user)
        .prefetch_related(Prefetch("mentions", queryset=Mention.objects.order_by("posted_at", "id")))
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("Incident not found.")
    return incident


def _answered(mentions: list[Mention], mention_id: int | None) -> Mention | None:
    """The mention a reply answers: the one picked, else the latest."""
    for mention in mentions:
        if mention.pk == mention_id:
            return mention
    return mentions[-1] if mentions else None


def _known_values(user: Any, mention: Mention | None) -> dict[str, str]:
    """What the composer can fill in by itself: the customer from the mention, the agent from the user."""
    return {
        "customer_name": (mention.author_name or mention.author_handle) if mention else "",
        "customer_handle": f"@{mention.author_handle}" if mention else "",
        "agent_first_name": user.first_name,
        "agent_name": user.get_full_name(),
    }


def _variable_fields(
    choice: TemplateChoice, known: dict[str, str], typed: dict[str, str]
) -> list[VariableField]:
    return [
        VariableField(
            name=spec.name,
            label=spec.label or spec.name.replace("_", " ").capitalize(),
            value=typed.get(spec.name, known.get(spec.name) or spec.default),
            is_required=not spec.default,
        )
        for spec in choice.variables
    ]


def _account(incident: Incident) -> SocialAccount | None:
    return services.default_account(platform=incident.platform) if incident.platform else None


def _by_hand(account: SocialAccount | None) -> bool:
    """Whether a reply through this account is posted by hand (services.publishes_by_hand, before the
    reply exists)."""
    return account is None or account.publisher == PublisherKind.MANUAL


def _handle(account: SocialAccount | None) -> str:
    if account is None or not account.handle:
        return ""
    return account.handle if account.handle.startswith("@") else f"@{account.handle}"


def _preview_context(
    incident: Incident, account: SocialAccount | None, mention: Mention | None, body: str
) -> dict[str, Any]:
    limit = platform_limit(platform=incident.platform) if incident.platform else None
    return {
        "preview_body": body,
        "preview_length": len(body),
        "preview_limit": limit,
        "preview_over": limit is not None and len(body) > limit,
        "preview_mention": mention,
        "preview_account": account,
        "preview_handle": _handle(account),
        "preview_platform": PLATFORM_LABELS.get(incident.platform, "") if incident.platform else "",
        "preview_initial": account.name[:1].upper() if account and account.name else "?",
        "preview_by_hand": _by_hand(account),
    }


def _checks_context(incident: Incident, body: str, kind: str) -> dict[str, Any]:
    limit = platform_limit(platform=incident.platform) if incident.platform else None
    return {
        "issues": check_draft(text=body, platform=incident.platform, kind=kind) if body.strip() else [],
        "length": len(body),
        "limit": limit,
        "over": limit is not None and len(body) > limit,
    }


def _composer_context(
    request: HttpRequest,
    incident: Incident,
    mentions: list[Mention],
    plan: ApprovalPlan | None,
    composer: Composer | None = None,
) -> dict[str, Any]:
    user = request.user
    allowed = policies.allowed_actions(user=user)
    if "reply.draft" not in allowed or not incident.is_open:
        return {"composer": None}
    composer = composer or Composer()
    mention = _answered(mentions, composer.mention_id)
    account = _account(incident)
    choices = templates_for_incident(user=user, category_id=incident.category_id, platform=incident.platform)
    return {
        "composer": composer,
        "incident": incident,
        "allowed": allowed,
        "template_options": [
            {"id": c.template_id, "name": c.name, "kind": KIND_LABELS.get(c.kind, c.kind)} for c in choices
        ],
        "faqs": faqs_for(user=user, category_id=incident.category_id),
        "reply_mentions": mentions[::-1],
        "answering": mention,
        "may_publish": "reply.publish" in allowed,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        "plan": plan,
        **_checks_context(incident, composer.body, composer.kind),
        **_preview_context(incident, account, mention, composer.body),
    }


# --- the Replies card ----------------------------------------------------------------------------------


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
    default_by_hand = _by_hand(_account(incident)) if any(not r.account_id for r in replies) else True
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


def _card_context(
    request: HttpRequest,
    incident: Incident,
    mentions: list[Mention],
    plan: ApprovalPlan | None,
    *,
    forms_by_reply: dict[int, ReplyForm] | None = None,
    focus: int | None = None,
) -> dict[str, Any]:
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


@team_view("reply.view")
@require_GET
def reply_card(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The Replies card and the composer, loaded into the incident page once it is shown."""
    if not request.htmx:
        return redirect(reverse("incidents:incident_detail", args=[incident_id]) + "#replies")
    incident = _incident(request, incident_id)
    mentions = list(incident.mentions.all())
    plan = services.approval_plan_for_incident(incident=incident)
    context = {
        **_card_context(request, incident, mentions, plan),
        **_composer_context(request, incident, mentions, plan),
    }
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
        incident = _incident(request, incident_id)
        plan = services.approval_plan_for_incident(incident=incident)
        context.update(_card_context(request, incident, list(incident.mentions.all()), plan), list_oob=True)
    return render(request, "incidents/_reply_live.html", context)


@team_view("reply.draft")
@require_POST
def reply_writing(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The composer's heartbeat while someone writes: the others see "Ana is writing a reply"."""
    reply_writing_touch(user=request.user, incident_id=incident_id)
    return HttpResponse(status=204)


@team_view("reply.draft")
@require_GET
def composer_template(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The chosen template's variables, prefilled where Firebreak knows the answer."""
    data = valid_data(TemplateForm(request.GET))
    incident = _incident(request, incident_id)
    composer = Composer(template_id=data["template"], mention_id=data["mention"])
    choice = _choice(request, incident, data["template"])
    if choice is not None:
        known = _known_values(request.user, _answered(list(incident.mentions.all()), data["mention"]))
        composer.chosen, composer.variables = choice, _variable_fields(choice, known, {})
    return render(request, "incidents/_reply_variables.html", {"composer": composer, "incident": incident})


def _choice(request: HttpRequest, incident: Incident, template_id: int | None) -> TemplateChoice | None:
    """The template if the user may use it on this incident now (approved, fits category and platform)."""
    if template_id is None:
        return None
    choices = templates_for_incident(
        user=request.user, category_id=incident.category_id, platform=incident.platform
    )
    return next((c for c in choices if c.template_id == template_id), None)


@team_view("reply.draft")
@require_POST
def composer_render(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """Fills the template in: the text replaces the composer's, and the checks and preview follow it."""
    data = valid_data(TemplateForm(request.POST))
    incident = _incident(request, incident_id)
    choice = _choice(request, incident, data["template"])
    if choice is None:
        raise ValidationFailed("Choose one of the templates offered for this incident.")
    typed = {
        spec.name: request.POST.get(f"var_{spec.name}", "").strip()
        for spec in choice.variables
        if f"var_{spec.name}" in request.POST
    }
    rendered = render_body(body=choice.body, variables=choice.variables, values=typed)
    mentions = list(incident.mentions.all())
    mention = _answered(mentions, data["mention"])
    labels = {spec.name: spec.label or spec.name for spec in choice.variables}
    composer = Composer(
        body=rendered.text,
        template_id=choice.template_id,
        kind=choice.kind,
        mention_id=data["mention"],
        chosen=choice,
        variables=_variable_fields(choice, _known_values(request.user, mention), typed),
        missing=[labels.get(name, name) for name in rendered.missing],
    )
    context = {
        "incident": incident,
        "composer": composer,
        **_checks_context(incident, composer.body, composer.kind),
        **_preview_context(incident, _account(incident), mention, composer.body),
    }
    return render(request, "incidents/_reply_filled.html", context)


@team_view("reply.draft")
@require_POST
def composer_check(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The brand check and character count as the user types; the composer's preview follows along."""
    data = valid_data(CheckForm(request.POST))
    incident = _incident(request, incident_id)
    mention = _answered(list(incident.mentions.all()), data["mention"])
    context = {
        **_checks_context(incident, data["body"], data["kind"]),
        **_preview_context(incident, _account(incident), mention, data["body"]),
        "with_preview": "preview" in request.POST,
    }
    return render(request, "incidents/_reply_checks.html", context)


@team_view("faq.view")
@require_GET
def composer_faqs(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    query = valid_data(FaqForm(request.GET))["q"]
    incident = _incident(request, incident_id)
    context = {
        "faqs": faqs_for(user=request.user, category_id=incident.category_id, query=query),
        "query": query,
    }
    return render(request, "incidents/_reply_faqs.html", context)


# --- actions ---------------------------------------------------------------------------------------------


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
    context = _incident_context(request, incident_id, flash=[("success", message)])
    incident, mentions = context["incident"], context["mentions"]
    plan = services.approval_plan_for_incident(incident=incident)
    card = _card_context(request, incident, mentions, plan, forms_by_reply=forms_by_reply, focus=focus)
    context.update(card, card_oob=True)
    if composer:
        context.update(_composer_context(request, incident, mentions, plan), composer_oob=True)
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
            row = _inbox_rows(request, [reply_get(user=request.user, reply_id=reply_id)], form=form)[0]
            response = render(
                request, "incidents/_reply_inbox_row.html", {"row": row}, status=error.status_code
            )
            return _retarget(response, f"#approval-{reply_id}")
        incident = _incident(request, reply.incident_id)
        plan = services.approval_plan_for_incident(incident=incident)
        mentions = list(incident.mentions.all())
        context = _card_context(
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
    incident = _incident(request, incident_id)
    mentions = list(incident.mentions.all())
    choice = _choice(request, incident, data["template"])
    composer = Composer(
        body=data["body"],
        mention_id=data["mention"],
        template_id=choice.template_id if choice else None,
        kind=choice.kind if choice else "",
        url=data["url"],
    )
    mention = _answered(mentions, data["mention"])
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
        context = _composer_context(request, incident, mentions, plan, composer)
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


# --- the approval inbox --------------------------------------------------------------------------------


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


def _inbox_rows(
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
    context: dict[str, Any] = {"rows": _inbox_rows(request, replies), "live_seconds": LIVE_SECONDS}
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
