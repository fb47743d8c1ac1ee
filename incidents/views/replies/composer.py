"""The reply composer on the incident page: its context (templates and their variables, brand checks,
preview, FAQ panel) and the views that answer it while someone writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from config.errors import NotFound, ValidationFailed
from config.pages import HtmxHttpRequest, team_view, valid_data
from incidents import policies, selectors
from incidents.models import Incident, Mention
from incidents.services import replies as services
from incidents.services.crisis import crisis_current
from incidents.views.replies.forms import CheckForm, FaqForm, TemplateForm
from protocols.models import Platform, PublisherKind, SocialAccount
from protocols.selectors import ApprovalPlan
from templates_app.brand import check_draft, platform_limit
from templates_app.models import TemplateKind
from templates_app.rendering import render_body
from templates_app.selectors import TemplateChoice, faqs_for, templates_for_incident

# The composer says "still writing" this often; reply_writers forgets a writer after 30 s of silence.
HEARTBEAT_SECONDS = 10
PLATFORM_LABELS = dict(Platform.choices)
KIND_LABELS = dict(TemplateKind.choices)


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


def incident_with_mentions(request: HttpRequest, incident_id: int) -> Incident:
    """The incident the user may see, with its mentions oldest first."""
    incident = (
        selectors.incident_base(user=request.user)
        .prefetch_related(Prefetch("mentions", queryset=Mention.objects.order_by("posted_at", "id")))
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("Incident not found.")
    return incident


def answered_mention(mentions: list[Mention], mention_id: int | None) -> Mention | None:
    """The mention a reply answers: the one picked, else the latest."""
    for mention in mentions:
        if mention.pk == mention_id:
            return mention
    return mentions[-1] if mentions else None


def incident_account(incident: Incident) -> SocialAccount | None:
    """The account a new reply on this incident goes out through."""
    return services.default_account(platform=incident.platform) if incident.platform else None


def posts_by_hand(account: SocialAccount | None) -> bool:
    """Whether a reply through this account is posted by hand (services.publishes_by_hand, before the
    reply exists)."""
    return account is None or account.publisher == PublisherKind.MANUAL


def template_choice(
    request: HttpRequest, incident: Incident, template_id: int | None
) -> TemplateChoice | None:
    """The template if the user may use it on this incident now (approved, fits category and platform)."""
    if template_id is None:
        return None
    choices = offered_templates(user=request.user, incident=incident)
    return next((c for c in choices if c.template_id == template_id), None)


def offered_templates(*, user: Any, incident: Incident) -> list[TemplateChoice]:
    """The approved templates suggested for the incident; during crisis mode its holding statement comes
    first (whatever category it was written for)."""
    choices = templates_for_incident(user=user, category_id=incident.category_id, platform=incident.platform)
    crisis = crisis_current()
    if crisis is None or crisis.holding_template_id is None:
        return choices
    pool = choices + templates_for_incident(user=user, category_id=None, platform=incident.platform)
    holding = next((c for c in pool if c.template_id == crisis.holding_template_id), None)
    if holding is None:
        return choices
    return [holding, *(c for c in choices if c.template_id != holding.template_id)]


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
        "preview_by_hand": posts_by_hand(account),
    }


def _checks_context(incident: Incident, body: str, kind: str) -> dict[str, Any]:
    limit = platform_limit(platform=incident.platform) if incident.platform else None
    return {
        "issues": check_draft(text=body, platform=incident.platform, kind=kind) if body.strip() else [],
        "length": len(body),
        "limit": limit,
        "over": limit is not None and len(body) > limit,
    }


def composer_context(
    request: HttpRequest,
    incident: Incident,
    mentions: list[Mention],
    plan: ApprovalPlan | None,
    composer: Composer | None = None,
) -> dict[str, Any]:
    """The composer for users who may draft on an open incident ({"composer": None} for the others)."""
    user = request.user
    allowed = policies.allowed_actions(user=user)
    if "reply.draft" not in allowed or not incident.is_open:
        return {"composer": None}
    composer = composer or Composer()
    mention = answered_mention(mentions, composer.mention_id)
    account = incident_account(incident)
    choices = offered_templates(user=user, incident=incident)
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


@team_view("reply.draft")
@require_GET
def composer_template(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The chosen template's variables, prefilled where Firebreak knows the answer."""
    data = valid_data(TemplateForm(request.GET))
    incident = incident_with_mentions(request, incident_id)
    composer = Composer(template_id=data["template"], mention_id=data["mention"])
    choice = template_choice(request, incident, data["template"])
    if choice is not None:
        known = _known_values(request.user, answered_mention(list(incident.mentions.all()), data["mention"]))
        composer.chosen, composer.variables = choice, _variable_fields(choice, known, {})
    return render(request, "incidents/_reply_variables.html", {"composer": composer, "incident": incident})


@team_view("reply.draft")
@require_POST
def composer_render(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """Fills the template in: the text replaces the composer's, and the checks and preview follow it."""
    data = valid_data(TemplateForm(request.POST))
    incident = incident_with_mentions(request, incident_id)
    choice = template_choice(request, incident, data["template"])
    if choice is None:
        raise ValidationFailed("Choose one of the templates offered for this incident.")
    typed = {
        spec.name: request.POST.get(f"var_{spec.name}", "").strip()
        for spec in choice.variables
        if f"var_{spec.name}" in request.POST
    }
    rendered = render_body(body=choice.body, variables=choice.variables, values=typed)
    mentions = list(incident.mentions.all())
    mention = answered_mention(mentions, data["mention"])
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
        **_preview_context(incident, incident_account(incident), mention, composer.body),
    }
    return render(request, "incidents/_reply_filled.html", context)


@team_view("reply.draft")
@require_POST
def composer_check(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    """The brand check and character count as the user types; the composer's preview follows along."""
    data = valid_data(CheckForm(request.POST))
    incident = incident_with_mentions(request, incident_id)
    mention = answered_mention(list(incident.mentions.all()), data["mention"])
    context = {
        **_checks_context(incident, data["body"], data["kind"]),
        **_preview_context(incident, incident_account(incident), mention, data["body"]),
        "with_preview": "preview" in request.POST,
    }
    return render(request, "incidents/_reply_checks.html", context)


@team_view("faq.view")
@require_GET
def composer_faqs(request: HtmxHttpRequest, incident_id: int) -> HttpResponse:
    query = valid_data(FaqForm(request.GET))["q"]
    incident = incident_with_mentions(request, incident_id)
    context = {
        "faqs": faqs_for(user=request.user, category_id=incident.category_id, query=query),
        "query": query,
    }
    return render(request, "incidents/_reply_faqs.html", context)
