"""Reading an incident's "Identify the problem" checklist: its category's live questions in order, each
with the current answer (who, when), and how many of the required ones are answered. Two queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.models import ChecklistAnswer
from protocols.models import CHECKLIST_TIERS, Category, ChecklistQuestion


@dataclass(frozen=True)
class ChecklistItem:
    question: ChecklistQuestion
    answer: ChecklistAnswer | None


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def required_count(self) -> int:
        return sum(1 for item in self.items if item.question.is_required)

    @property
    def answered_count(self) -> int:
        """Required questions answered: what "4 of 6 answered" counts."""
        return sum(1 for item in self.items if item.question.is_required and item.answer is not None)

    @property
    def is_complete(self) -> bool:
        return self.answered_count == self.required_count


def has_checklist(category: Category | None) -> bool:
    return category is not None and category.tier in CHECKLIST_TIERS


def incident_checklist(*, incident_id: int, category: Category | None) -> Checklist | None:
    """None when the incident's category (already loaded with it) carries no checklist: no query then."""
    if category is None or not has_checklist(category):
        return None
    questions = list(ChecklistQuestion.objects.filter(category=category, is_active=True))
    answers: dict[int, Any] = {
        a.question_id: a
        for a in ChecklistAnswer.objects.filter(incident_id=incident_id).select_related("answered_by")
    }
    return Checklist(items=[ChecklistItem(q, answers.get(q.pk)) for q in questions])
