"""A user's saved queue views: create one under a unique name, delete one of their own. A view stores
only the queue's own filters and sort, so a saved link can carry nothing else back into the queue."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import QueryDict

from config.errors import NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.filters import IncidentFilter, view_query
from incidents.models import SavedView

NAME_MAX = 60
QUERY_MAX = 1000
VIEW_PARAMS = frozenset(IncidentFilter.declared_filters) | {"sort"}


def _require_queue(user: Any) -> None:
    if not policies.can(user=user, action="incident.view"):
        raise PermissionRefused("Your role does not allow saved views.")


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


def _saved_query(query: str) -> str:
    data = QueryDict(query.lstrip("?"), mutable=True)
    for key in list(data):
        if key not in VIEW_PARAMS:
            del data[key]
    return view_query(data)


def saved_view_create(*, user: Any, name: str, query: str) -> SavedView:
    _require_queue(user)
    name = name.strip()
    if not name:
        raise _refuse("name", "Give the view a name.")
    if len(name) > NAME_MAX:
        raise _refuse("name", f"At most {NAME_MAX} characters.")
    query = _saved_query(query.strip())
    if len(query) > QUERY_MAX:
        raise _refuse("query", f"The view's filters are too long (at most {QUERY_MAX} characters).")
    try:
        # The unique constraint decides between two saves of one name, so there is no check-then-act.
        with transaction.atomic():
            return SavedView.objects.create(user=user, name=name, query=query)
    except IntegrityError:
        if SavedView.objects.filter(user_id=user.pk, name=name).exists():
            raise _refuse("name", f"You already have a view called “{name}”.") from None
        raise


def saved_view_delete(*, user: Any, view_id: int) -> None:
    """Deletes one of the user's own views; someone else's is as unknown as a missing one."""
    _require_queue(user)
    deleted, _ = SavedView.objects.filter(user_id=user.pk, pk=view_id).delete()
    if not deleted:
        raise NotFound("Saved view not found.")
