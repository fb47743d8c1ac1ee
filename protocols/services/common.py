"""What every write to the response plan does alike: the permission check, refusing with every problem by
field, finding the row under a lock, saving and deleting with a race or a reference answered 409."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies

ModelT = TypeVar("ModelT", bound=models.Model)


def require(*, actor: Any, action: str, refusal: str) -> None:
    if not policies.can(user=actor, action=action):
        raise PermissionRefused(refusal)


def refuse(fields: dict[str, Any]) -> None:
    """Raises the first problem as the message, with every problem by field. Rows of a list are keyed
    by their index, as DRF reports a list field's rows."""
    if not fields:
        return
    field, problems = next(iter(fields.items()))
    if isinstance(problems, dict):
        index, row = next(iter(problems.items()))
        inner, messages = next(iter(row.items()))
        first = f"row {int(index) + 1}: {inner}: {messages[0]}"
    else:
        first = problems[0]
    raise ValidationFailed(f"{field}: {first}", fields=fields)


def refuse_unknown(*, changes: dict[str, Any], known: frozenset[str]) -> None:
    unknown = set(changes) - known
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")


def locked(model: type[ModelT], *, pk: int, missing: str) -> ModelT:
    """The row, locked until the transaction ends, so two saves of it run one after the other."""
    found = model._default_manager.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound(missing)
    return found


def save_or_conflict(instance: models.Model, *, conflict: str) -> None:
    """Saves; a unique constraint that a concurrent save won (after the checks passed) answers 409."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(conflict) from None


def delete_or_conflict(instance: models.Model, *, conflict: str) -> None:
    """Deletes; a protected reference to it (a published reply, say) answers 409 and nothing goes."""
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError:
        raise Conflict(conflict, code="in_use") from None


def rows_replace(current: models.Manager[ModelT], rows: Iterable[ModelT]) -> None:
    """Replaces the rows a related manager holds (a chain's steps, a calendar's hours) with new ones."""
    current.all().delete()
    current.model._default_manager.bulk_create(rows)


def in_use_conflict(*, what: str, used_by: str, those: str, names: Sequence[str], joiner: str) -> Conflict:
    """The refusal to delete something other configuration still uses, naming up to five of the users."""
    shown = joiner.join(sorted(names)[:5]) + (" …" if len(names) > 5 else "")
    return Conflict(
        f"This {what} is used by the {used_by} {shown}; change or delete those {those} first.", code="in_use"
    )
