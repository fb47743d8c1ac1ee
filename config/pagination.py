"""Cursor pagination for the API's lists: a cursor that is not one of ours is a client's mistake,
answered 400 naming `cursor` (DRF answers 404, as if the list did not exist)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class CursorPages(CursorPagination):
    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor; start again from the first page."]}) from None
