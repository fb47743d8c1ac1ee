"""Keyset ("cursor") pagination over the queue's sort orders.

DRF's CursorPagination keys on the first ordering field only and falls back to OFFSET on ties; with
urgency's four values that would make deep pages scan everything before them. Here the cursor holds
the whole sort key, so page 2,000 costs what page 1 costs: one index range scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import OrderBy, RawSQL

from config.errors import ValidationFailed
from incidents.models import Incident

T = '"incidents_incident"'
DATETIME_COLUMNS = frozenset({"created_at", "sla_due_at"})


@dataclass(frozen=True)
class Sort:
    label: str
    columns: tuple[str, ...]  # model attributes, in order
    descending: bool
    # Nullable timestamps keyed as COALESCE(column, 'infinity'): rows without one sort last, and the key
    # stays a row value without NULLs, so `(key) > (cursor)` is exact and one expression index serves it.
    nulls_last: tuple[str, ...] = ()

    def key_sql(self, column: str) -> str:
        sql = f'{T}."{column}"'
        return f"COALESCE({sql}, 'infinity'::timestamptz)" if column in self.nulls_last else sql

    @property
    def order_by(self) -> list[str | OrderBy]:
        return [self._order(c) for c in self.columns]

    def _order(self, column: str) -> str | OrderBy:
        if column not in self.nulls_last:
            return ("-" if self.descending else "") + column
        key = RawSQL(self.key_sql(column), [])  # noqa: S611 - column names from SORTS, no input
        return key.desc() if self.descending else key.asc()


SORTS: dict[str, Sort] = {
    "urgency": Sort("Most urgent first", ("urgency_rank", "created_at", "id"), descending=False),
    "oldest": Sort("Oldest first", ("created_at", "id"), descending=False),
    "newest": Sort("Newest first", ("created_at", "id"), descending=True),
    # Served by the index inc_open_deadline: (COALESCE(sla_due_at, 'infinity'), id) over open incidents.
    "deadline": Sort("Deadline first", ("sla_due_at", "id"), descending=False, nulls_last=("sla_due_at",)),
}
DEFAULT_SORT = "urgency"


def sort_for(name: str | None) -> Sort:
    if not name:
        return SORTS[DEFAULT_SORT]
    sort = SORTS.get(name)
    if sort is None:
        raise ValidationFailed(
            f"sort: Must be one of {', '.join(SORTS)}.",
            fields={"sort": [f"Must be one of {', '.join(SORTS)}."]},
        )
    return sort


def encode_cursor(sort: Sort, row: Incident) -> str:
    values = []
    for column in sort.columns:
        value = getattr(row, column)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(sort: Sort, cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(sort.columns):
            raise ValueError
        decoded: list[Any] = []
        for column, value in zip(sort.columns, values, strict=True):
            if value is None and column in sort.nulls_last:
                decoded.append("infinity")
            elif column in DATETIME_COLUMNS:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError
                decoded.append(moment)
            elif isinstance(value, int) and not isinstance(value, bool):
                decoded.append(value)
            else:
                raise ValueError
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed(
            "cursor: Invalid cursor; start again from the first page.", fields={"cursor": ["Invalid cursor."]}
        ) from None


def after_cursor(qs: QuerySet[Incident], sort: Sort, cursor: str | None) -> QuerySet[Incident]:
    """Orders the queryset by the sort and, given a cursor, keeps only rows after it. A row-value
    comparison `(a, b, c) > (x, y, z)` lets PostgreSQL start the index scan right at the cursor."""
    qs = qs.order_by(*sort.order_by)
    if not cursor:
        return qs
    values = _decode(sort, cursor)
    columns = ", ".join(sort.key_sql(c) for c in sort.columns)
    marks = ", ".join("%s::timestamptz" if c in sort.nulls_last else "%s" for c in sort.columns)
    operator = "<" if sort.descending else ">"
    return qs.filter(RawSQL(f"({columns}) {operator} ({marks})", values, output_field=BooleanField()))  # noqa: S611


@dataclass
class Page:
    rows: list[Incident]
    next_cursor: str | None


def page_of(qs: QuerySet[Incident], *, sort: Sort, cursor: str | None, size: int) -> Page:
    rows = list(after_cursor(qs, sort, cursor)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_cursor=encode_cursor(sort, rows[-1]) if has_more and rows else None)
