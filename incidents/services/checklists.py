"""Answering an incident's "Identify the problem" checklist. The first answer creates the row, a change
is a compare-and-set on the value it replaces; each records the answer (before -> after) on the timeline."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused
from incidents import policies
from incidents.models import ChecklistAnswer, EventKind, Incident
from incidents.services.timeline import timeline_append
from protocols.checklist_answers import answer_value_clean
from protocols.models import CHECKLIST_TIERS, ChecklistQuestion

LOST_RACE = "Someone else answered this question first; reload and try again."


@transaction.atomic
def incident_checklist_answer(
    *, actor: Any, incident_id: int, question_id: int, value: Any
) -> ChecklistAnswer:
    if not policies.can(user=actor, action="incident.identify"):
        raise PermissionRefused("Your role does not allow answering the checklist.")
    incident = Incident.objects.select_related("category").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("Incident not found.")
    category = incident.category
    question = None
    if category is not None and category.tier in CHECKLIST_TIERS:
        question = ChecklistQuestion.objects.filter(pk=question_id, category=category, is_active=True).first()
    if question is None:
        raise Conflict("This incident's category has no such question.", code="no_such_question")
    cleaned = answer_value_clean(question=question, value=value)
    now = timezone.now()
    answer = ChecklistAnswer.objects.filter(incident=incident, question=question).first()
    if answer is None:
        before: dict[str, Any] = {}
        try:
            with transaction.atomic():
                answer = ChecklistAnswer.objects.create(
                    incident=incident, question=question, value=cleaned, answered_by=actor, answered_at=now
                )
        except IntegrityError:
            raise Conflict(LOST_RACE) from None
    else:
        if answer.value == cleaned:
            return answer
        before = {"answer": answer.value}
        changed = ChecklistAnswer.objects.filter(pk=answer.pk, value=answer.value).update(
            value=cleaned, answered_by=actor, answered_at=now
        )
        if changed != 1:
            raise Conflict(LOST_RACE)
        answer.value, answer.answered_by, answer.answered_at = cleaned, actor, now
    about = {"question_id": question.pk, "question": question.text, "kind": question.answer_kind}
    timeline_append(
        incident_id=incident.pk,
        kind=EventKind.ANSWERED,
        actor=actor,
        before={**about, **before} if before else {},
        after={**about, "answer": cleaned},
    )
    return answer
