"""DRF glue for the keyset pagination in `incidents.keyset`."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from config.errors import ValidationFailed
from incidents.keyset import SORTS, page_of, sort_for

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class KeysetPagination(BasePagination):
    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        size_raw = request.query_params.get("page_size", str(DEFAULT_PAGE_SIZE))
        if not size_raw.isdigit() or not 1 <= int(size_raw) <= MAX_PAGE_SIZE:
            raise ValidationFailed(
                f"page_size: Must be a whole number from 1 to {MAX_PAGE_SIZE}.",
                fields={"page_size": [f"1 to {MAX_PAGE_SIZE}"]},
            )
        sort = sort_for(request.query_params.get("sort"))
        page = page_of(queryset, sort=sort, cursor=request.query_params.get("cursor"), size=int(size_raw))
        self.request = request
        self.next_cursor = page.next_cursor
        return page.rows

    def get_paginated_response(self, data: Any) -> Response:
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)
        return Response({"next": next_url, "next_cursor": self.next_cursor, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "next_cursor": {"type": "string", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Opaque cursor from `next_cursor` of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Rows per page (1-{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
            {
                "name": "sort",
                "in": "query",
                "required": False,
                "description": (
                    "urgency (default: most urgent, then oldest), oldest, newest, "
                    "deadline (soonest response-time deadline first, none last)."
                ),
                "schema": {"type": "string", "enum": list(SORTS)},
            },
        ]
