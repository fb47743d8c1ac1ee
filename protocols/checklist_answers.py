"""What counts as an answer to a checklist question, by its kind: the raw value from a form or a JSON body
checked and turned into the JSON value stored, or refused with the problem named."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.errors import ValidationFailed
from protocols.models import AnswerKind, ChecklistQuestion

TEXT_MAX = 2000
YES = {"yes", "true", "1", "on"}
NO = {"no", "false", "0", "off"}


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(f"value: {message}", fields={"value": [message]})


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in YES | NO:
        return value.strip().lower() in YES
    raise _refuse("Answer yes or no.")


def _choice(value: Any, choices: list[str]) -> str:
    if isinstance(value, str) and value.strip() in choices:
        return value.strip()
    raise _refuse(f"Pick one of: {', '.join(choices)}.")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse("Write an answer.")
    if len(value.strip()) > TEXT_MAX:
        raise _refuse(f"Keep the answer under {TEXT_MAX} characters.")
    return value.strip()


def _datetime(value: Any) -> str:
    moment: datetime | None = None
    if isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise _refuse("Give a date and time, such as 2026-03-01T14:30.")
    if timezone.is_naive(moment):
        # A browser's datetime-local input has no zone: it means the viewer's, which is the site's here.
        moment = timezone.make_aware(moment)
    return moment.isoformat()


def _number(value: Any) -> int | float:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise _refuse("Give a number.")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def answer_value_clean(*, question: ChecklistQuestion, value: Any) -> Any:
    """The value to store for this question, or ValidationFailed naming `value`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _refuse("Give an answer.")
    kind = question.answer_kind
    if kind == AnswerKind.YES_NO:
        return _yes_no(value)
    if kind == AnswerKind.CHOICE:
        return _choice(value, list(question.choices))
    if kind == AnswerKind.TEXT:
        return _text(value)
    if kind == AnswerKind.DATETIME:
        return _datetime(value)
    if kind == AnswerKind.NUMBER:
        return _number(value)
    raise _refuse("This question cannot be answered.")
