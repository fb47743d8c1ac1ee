"""Writes to FAQs and talking points: create, change, delete (search keeps itself up to date: the
search vector is a column PostgreSQL generates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from config.errors import NotFound
from protocols.models import Category
from templates_app.models import FaqEntry, FaqKind
from templates_app.policies import require
from templates_app.services.validation import clean_tags, clean_text, refuse

MAX_TITLE_LENGTH = 300
MAX_BODY_LENGTH = 10_000
MAX_PRODUCT_LENGTH = 80


def _faq_problems(
    *, kind: str | None, title: str | None, body: str | None, products: list[str] | None
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if kind is not None and kind not in FaqKind.values:
        problems["kind"] = [f"{kind!r} is not faq or talking_point."]
    if title is not None and not title:
        problems["title"] = ["Write the question or the point."]
    elif title is not None and len(title) > MAX_TITLE_LENGTH:
        problems["title"] = [f"At most {MAX_TITLE_LENGTH} characters."]
    if body is not None and not body:
        problems["body"] = ["Write the answer."]
    elif body is not None and len(body) > MAX_BODY_LENGTH:
        problems["body"] = [f"At most {MAX_BODY_LENGTH} characters."]
    if products is not None and any(len(p) > MAX_PRODUCT_LENGTH for p in products):
        problems["products"] = [f"A product tag has at most {MAX_PRODUCT_LENGTH} characters."]
    return problems


@transaction.atomic
def faq_create(
    *,
    actor: Any,
    title: str,
    body: str,
    kind: str = FaqKind.FAQ,
    categories: Sequence[Category] = (),
    products: Sequence[str] = (),
    is_active: bool = True,
) -> FaqEntry:
    require(user=actor, action="faq.edit")
    title, body, product_list = (
        clean_text(title),
        clean_text(body),
        [tag.lower() for tag in clean_tags(products)],
    )
    refuse(_faq_problems(kind=kind, title=title, body=body, products=product_list))
    entry = FaqEntry.objects.create(
        kind=kind, title=title, body=body, products=product_list, is_active=is_active, created_by=actor
    )
    entry.categories.set(categories)
    return entry


@transaction.atomic
def faq_update(
    *,
    actor: Any,
    faq_id: int,
    title: str | None = None,
    body: str | None = None,
    kind: str | None = None,
    categories: Sequence[Category] | None = None,
    products: Sequence[str] | None = None,
    is_active: bool | None = None,
) -> FaqEntry:
    """Changes what is given (None = keep)."""
    require(user=actor, action="faq.edit")
    entry = FaqEntry.objects.select_for_update().filter(pk=faq_id).first()
    if entry is None:
        raise NotFound("FAQ not found.")
    changes: dict[str, Any] = {
        "title": clean_text(title) if title is not None else None,
        "body": clean_text(body) if body is not None else None,
        "kind": kind,
        "products": [tag.lower() for tag in clean_tags(products)] if products is not None else None,
        "is_active": is_active,
    }
    refuse(
        _faq_problems(kind=kind, title=changes["title"], body=changes["body"], products=changes["products"])
    )
    changed = [field for field, value in changes.items() if value is not None]
    for field in changed:
        setattr(entry, field, changes[field])
    if changed:
        entry.save(update_fields=[*changed, "updated_at"])
    if categories is not None:
        entry.categories.set(categories)
    return entry


@transaction.atomic
def faq_delete(*, actor: Any, faq_id: int) -> None:
    require(user=actor, action="faq.edit")
    deleted, _ = FaqEntry.objects.filter(pk=faq_id).delete()
    if not deleted:
        raise NotFound("FAQ not found.")
