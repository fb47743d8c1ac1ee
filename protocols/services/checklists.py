"""Writes to the "Identify the problem" checklists: an admin adds, changes, retires or deletes a
category's questions; the demo seed gets the six standard questions in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from protocols.models import AnswerKind, Category, ChecklistQuestion
from protocols.services.common import delete_or_conflict, locked, refuse, refuse_unknown, require

QUESTION_FIELDS = frozenset({"position", "text", "answer_kind", "choices", "is_required", "is_active"})

# The six questions of issue 5, section 6: what a high-priority or crisis incident must establish.
IDENTIFY_PROBLEM_QUESTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Was a mistake made?", AnswerKind.YES_NO, ()),
    ("Who was involved?", AnswerKind.CHOICE, ("Employee", "Contractor", "Someone else", "Nobody")),
    ("What exactly went wrong?", AnswerKind.TEXT, ()),
    ("When did it happen?", AnswerKind.DATETIME, ()),
    ("Is anyone at fault?", AnswerKind.CHOICE, ("Yes", "No", "Not yet known")),
    ("How much damage was done?", AnswerKind.CHOICE, ("None", "Minor", "Significant", "Severe")),
)


def _require_manage(actor: Any) -> None:
    require(actor=actor, action="checklist.manage", refusal="Only admins may change checklists.")


def _write(question: ChecklistQuestion, changes: dict[str, Any]) -> ChecklistQuestion:
    refuse_unknown(changes=changes, known=QUESTION_FIELDS)
    for field, value in changes.items():
        if field == "choices":
            value = [str(choice).strip() for choice in value or ()]
        setattr(question, field, value.strip() if isinstance(value, str) else value)
    try:
        # Field rules and the model's clean(): a list to pick from for (and only for) choice questions,
        # and a category in a tier that has a checklist.
        question.full_clean()
    except ValidationError as exc:
        refuse({"non_field_errors" if f == "__all__" else f: list(m) for f, m in exc.message_dict.items()})
    question.save()
    return question


@transaction.atomic
def checklist_question_create(
    *,
    actor: Any,
    category: Category,
    text: str,
    answer_kind: str,
    choices: Sequence[str] = (),
    is_required: bool = True,
    position: int | None = None,
) -> ChecklistQuestion:
    _require_manage(actor)
    if position is None:
        last = ChecklistQuestion.objects.filter(category=category).aggregate(last=Max("position"))["last"]
        position = (last or 0) + 1
    question = ChecklistQuestion(category=category)
    changes = {"text": text, "answer_kind": answer_kind, "choices": list(choices)}
    return _write(question, {**changes, "is_required": is_required, "position": position})


@transaction.atomic
def checklist_question_update(*, actor: Any, question_id: int, changes: dict[str, Any]) -> ChecklistQuestion:
    """Changes the question in place; answers already given keep their value (a retired choice still
    reads as it was answered)."""
    _require_manage(actor)
    question = locked(ChecklistQuestion, pk=question_id, missing="Question not found.")
    return _write(question, changes)


@transaction.atomic
def checklist_question_delete(*, actor: Any, question_id: int) -> None:
    """Deletes a question nobody answered yet; an answered one must be retired (is_active) instead."""
    _require_manage(actor)
    question = locked(ChecklistQuestion, pk=question_id, missing="Question not found.")
    delete_or_conflict(question, conflict="Incidents have answered this question; retire it instead.")


@transaction.atomic
def seed_identify_problem_questions(*, category: Category) -> list[ChecklistQuestion]:
    """Gives the category the six standard questions it does not have yet (by text), so running the seed
    twice adds nothing. A setup step, like a migration: no actor."""
    have = set(ChecklistQuestion.objects.filter(category=category).values_list("text", flat=True))
    added = []
    for position, (text, kind, choices) in enumerate(IDENTIFY_PROBLEM_QUESTIONS, start=1):
        if text in have:
            continue
        question = ChecklistQuestion(
            category=category, position=position, text=text, answer_kind=kind, choices=list(choices)
        )
        question.full_clean()
        question.save()
        added.append(question)
    return added
