"""How a checklist answer reads: yes/no, the choice or text as given, a number without a trailing .0,
and a moment in words (with the moment itself, so the page can show it in the viewer's time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from incidents.checklist_selectors import Checklist
from incidents.models import ChecklistAnswer
from incidents.presenters.wording import moment_text
from protocols.models import AnswerKind, ChecklistQuestion


def answer_moment(kind: str, value: Any) -> datetime | None:
    if kind != AnswerKind.DATETIME or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def answer_text(kind: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    moment = answer_moment(kind, value)
    if moment is not None:
        return moment_text(moment)
    return str(value)


def answer_input_value(kind: str, value: Any) -> str:
    """The answer as the form's input holds it: a datetime-local needs "YYYY-MM-DDTHH:MM", yes/no "yes"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    moment = answer_moment(kind, value)
    if moment is not None:
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
    return str(value)


@dataclass(frozen=True)
class ChecklistRow:
    question: ChecklistQuestion
    answer: ChecklistAnswer | None
    shown: str
    moment: datetime | None
    # What the form shows: the answer, or the refused input with the reason it was refused.
    input_value: str
    error: str


def checklist_rows(
    checklist: Checklist, *, refused: dict[int, tuple[str, str]] | None = None
) -> list[ChecklistRow]:
    """One row per question; `refused` maps a question to the input just refused and why."""
    rows = []
    for item in checklist.items:
        kind, value = item.question.answer_kind, item.answer.value if item.answer else None
        raw, error = (refused or {}).get(item.question.pk, (answer_input_value(kind, value), ""))
        rows.append(
            ChecklistRow(
                item.question,
                item.answer,
                answer_text(kind, value) if item.answer else "",
                answer_moment(kind, value),
                raw,
                error,
            )
        )
    return rows
