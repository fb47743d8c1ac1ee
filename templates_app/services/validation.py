"""Input cleaning the templates app's services share, and refusing bad input with every problem by field."""

from __future__ import annotations

from typing import Any

from config.errors import ValidationFailed


def refuse(problems: dict[str, list[str]]) -> None:
    """Raises the first problem as the message, with every problem by field (as the API reports them)."""
    problems = {field: found for field, found in problems.items() if found}
    if not problems:
        return
    field, found = next(iter(problems.items()))
    raise ValidationFailed(f"{field}: {found[0]}", fields=problems)


def clean_text(value: Any) -> str:
    return str(value or "").strip()


def clean_tags(values: Any) -> list[str]:
    """Stripped, without blanks or repeats, first spelling kept."""
    seen: dict[str, str] = {}
    for value in values or []:
        tag = str(value).strip()
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())
