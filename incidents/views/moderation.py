"""Browser action moderating a mention from the incident page: an action and a rule of the community
guidelines, with a note; it answers like the page's other actions."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_POST

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, team_view
from incidents.services import moderation as services
from incidents.views.evidence import _answer


@team_view("mention.moderate")
@require_POST
def mention_moderate(request: HtmxHttpRequest, mention_id: int) -> HttpResponse:
    raw_rule = request.POST.get("rule", "")
    if not raw_rule.isdigit():
        raise ValidationFailed("Choose a rule of the community guidelines.", fields={"rule": ["Required."]})
    row = services.mention_moderate(
        actor=request.user,
        mention_id=mention_id,
        action=request.POST.get("action", ""),
        rule_id=int(raw_rule),
        note=request.POST.get("note", ""),
    )
    message = f"Mention moderated ({row.get_action_display()}): {row.get_outcome_display()}."
    return _answer(request, row.mention.incident_id, message)
