"""Writes to the brand guidelines: banned phrases, required elements per kind of reply, per-platform
length limits and tone notes. Each change forgets the cached rules the draft checker reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from config.errors import NotFound
from protocols.models import Platform
from templates_app.brand import forget_brand_rules
from templates_app.models import BannedPhrase, PlatformLimit, RequiredElement, TemplateKind, ToneNote
from templates_app.policies import require
from templates_app.services.validation import clean_tags, clean_text, refuse

Row = TypeVar("Row", bound=models.Model)
MAX_LIMIT = 100_000
NOUNS = {
    BannedPhrase: "Banned phrase",
    RequiredElement: "Required element",
    PlatformLimit: "Platform limit",
    ToneNote: "Tone note",
}


def _row(model: type[Row], row_id: int | None, blank: Row) -> Row:
    if row_id is None:
        return blank
    found = model._default_manager.select_for_update().filter(pk=row_id).first()
    if found is None:
        raise NotFound(f"{NOUNS[model]} not found.")
    return found


def _apply(row: Row, changes: dict[str, Any]) -> Row:
    for field, value in changes.items():
        if value is not None:
            setattr(row, field, value)
    return row


def _store(row: Row, *, taken: dict[str, list[str]]) -> Row:
    """Saves a checked row; a unique value saved by someone else meanwhile is refused like a taken one."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        refuse(taken)
        raise
    forget_brand_rules()
    return row


def _delete(model: type[Row], row_id: int) -> None:
    deleted, _ = model._default_manager.filter(pk=row_id).delete()
    if not deleted:
        raise NotFound(f"{NOUNS[model]} not found.")
    forget_brand_rules()


@transaction.atomic
def banned_phrase_save(
    *,
    actor: Any,
    phrase_id: int | None = None,
    phrase: str | None = None,
    suggestion: str | None = None,
    is_active: bool | None = None,
) -> BannedPhrase:
    """Creates (no id) or changes a banned phrase; None keeps a value."""
    require(user=actor, action="brand.edit")
    row = _row(BannedPhrase, phrase_id, BannedPhrase(phrase="", suggestion=""))
    _apply(
        row, {"phrase": " ".join(phrase.split()) if phrase is not None else None, "suggestion": suggestion}
    )
    _apply(row, {"is_active": is_active})
    taken = {"phrase": [f'"{row.phrase}" is already banned.']}
    problems: dict[str, list[str]] = {}
    if not row.phrase:
        problems["phrase"] = ["Write the phrase to ban."]
    elif BannedPhrase.objects.filter(phrase__iexact=row.phrase).exclude(pk=row.pk).exists():
        problems = dict(taken)
    refuse(problems)
    return _store(row, taken=taken)


def banned_phrase_delete(*, actor: Any, phrase_id: int) -> None:
    require(user=actor, action="brand.edit")
    _delete(BannedPhrase, phrase_id)


@transaction.atomic
def required_element_save(
    *,
    actor: Any,
    element_id: int | None = None,
    kind: str | None = None,
    label: str | None = None,
    alternatives: Sequence[str] | None = None,
    is_active: bool | None = None,
) -> RequiredElement:
    """Creates or changes what a kind of reply must contain: any one of `alternatives`."""
    require(user=actor, action="brand.edit")
    row = _row(RequiredElement, element_id, RequiredElement(kind="", label="", alternatives=[]))
    _apply(
        row,
        {
            "kind": kind,
            "label": clean_text(label) if label is not None else None,
            "alternatives": clean_tags(alternatives) if alternatives is not None else None,
            "is_active": is_active,
        },
    )
    problems: dict[str, list[str]] = {}
    if row.kind not in TemplateKind.values:
        problems["kind"] = [f"{row.kind!r} is not a kind of template."]
    if not row.label:
        problems["label"] = ['Say what is required, e.g. "an apology".']
    if not row.alternatives:
        problems["alternatives"] = ["Give at least one word or phrase that satisfies it."]
    refuse(problems)
    return _store(row, taken={})


def required_element_delete(*, actor: Any, element_id: int) -> None:
    require(user=actor, action="brand.edit")
    _delete(RequiredElement, element_id)


@transaction.atomic
def platform_limit_save(
    *, actor: Any, limit_id: int | None = None, platform: str | None = None, max_characters: int | None = None
) -> PlatformLimit:
    require(user=actor, action="brand.edit")
    row = _row(PlatformLimit, limit_id, PlatformLimit(platform="", max_characters=0))
    _apply(row, {"platform": platform, "max_characters": max_characters})
    taken = {"platform": [f"{row.platform!r} already has a limit; change that one."]}
    problems: dict[str, list[str]] = {}
    if row.platform not in Platform.values:
        problems["platform"] = [f"{row.platform!r} is not a platform."]
    elif PlatformLimit.objects.filter(platform=row.platform).exclude(pk=row.pk).exists():
        problems = dict(taken)
    if not 1 <= row.max_characters <= MAX_LIMIT:
        problems["max_characters"] = [f"A whole number from 1 to {MAX_LIMIT}."]
    refuse(problems)
    return _store(row, taken=taken)


def platform_limit_delete(*, actor: Any, limit_id: int) -> None:
    require(user=actor, action="brand.edit")
    _delete(PlatformLimit, limit_id)


@transaction.atomic
def tone_note_save(
    *,
    actor: Any,
    note_id: int | None = None,
    title: str | None = None,
    body: str | None = None,
    position: int | None = None,
) -> ToneNote:
    require(user=actor, action="brand.edit")
    row = _row(ToneNote, note_id, ToneNote(title="", body=""))
    _apply(
        row,
        {
            "title": clean_text(title) if title is not None else None,
            "body": clean_text(body) if body is not None else None,
            "position": position,
        },
    )
    taken = {"title": [f"A tone note titled {row.title!r} already exists."]}
    problems: dict[str, list[str]] = {}
    if not row.title:
        problems["title"] = ["Give the note a title."]
    elif ToneNote.objects.filter(title=row.title).exclude(pk=row.pk).exists():
        problems = dict(taken)
    if not row.body:
        problems["body"] = ["Write the note."]
    refuse(problems)
    return _store(row, taken=taken)


def tone_note_delete(*, actor: Any, note_id: int) -> None:
    require(user=actor, action="brand.edit")
    _delete(ToneNote, note_id)
