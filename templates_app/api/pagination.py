"""Cursor pagination of the templates app's lists, each ordered by a column that keeps pages stable."""

from __future__ import annotations

from config.pagination import CursorPages

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class _Pages(CursorPages):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class ByNamePagination(_Pages):
    ordering = "name"  # unique (case-insensitively), so a cursor never skips or repeats a row


class ByTitlePagination(_Pages):
    ordering = ("title", "id")


class ByIdPagination(_Pages):
    ordering = "id"
