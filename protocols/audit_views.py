"""The audit log in the browser (admins): sign-ins, refusals and configuration changes, newest first,
filtered and paged by keyset, and the same filtered list as a streamed CSV."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header

from config.errors import ValidationFailed
from config.pages import HtmxHttpRequest, first_error, page_context, team_view
from protocols.api.filters import AuditEventFilter
from protocols.audit_selectors import audit_event_list, audit_event_page, audit_events_csv
from protocols.audit_tables import table_label
from protocols.models import AuditEvent

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# The page's filters: the API's, less the ids a person would not type.
PAGE_FILTERS = ("kind", "action", "actor_name", "table", "date_from", "date_to")


def _filtered(request: HtmxHttpRequest) -> tuple[AuditEventFilter, Any]:
    data = request.GET.copy()
    for name in list(data):
        if name not in PAGE_FILTERS:
            del data[name]
    filters = AuditEventFilter(data, queryset=audit_event_list())
    for name in list(filters.filters):
        if name not in PAGE_FILTERS:
            del filters.filters[name]
    if not filters.is_valid():
        raise ValidationFailed(first_error(filters.form))
    return filters, filters.qs


def _older_than(request: HtmxHttpRequest) -> int | None:
    value = request.GET.get("older_than", "")
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed("older_than: a whole number is required.")
    return int(value)


@team_view("audit.view")
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    filters, events = _filtered(request)
    page = audit_event_page(events=events, older_than=_older_than(request))
    query = filters.data.urlencode()
    context: dict[str, Any] = {
        **page_context(request),
        "nav": "audit",
        "form": filters.form,
        "rows": [_row(event) for event in page.events],
        "older_than": page.older_than,
        "query": query,
        "is_first_page": "older_than" not in request.GET,
    }
    return render(request, "protocols/audit.html", context)


def _row(event: AuditEvent) -> dict[str, Any]:
    changes = [
        {
            "field": change.field,
            "is_secret": change.is_secret,
            "old": _shown(change.old),
            "new": _shown(change.new),
        }
        for change in event.field_changes
        # a created or deleted row is listed by what it held: its id is in "What", empty columns say nothing
        if change.is_secret or (change.field != "id" and not (_empty(change.old) and _empty(change.new)))
    ]
    return {
        "event": event,
        "what": table_label(event.table_name) if event.table_name else "",
        "changes": changes,
        "is_insert": event.action == "insert",
        "is_delete": event.action == "delete",
    }


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _shown(value: Any) -> str:
    """A changed value as typed: text as is, anything else as JSON (`null` is shown as empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# team_view is typed for HttpResponse but hands any response back untouched, a streaming one too.
@team_view("audit.view")  # type: ignore[arg-type]
def audit_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    _, events = _filtered(request)
    filename = f"firebreak-audit-{timezone.now():%Y-%m-%d-%H%M}.csv"
    return StreamingHttpResponse(
        audit_events_csv(events=events),
        content_type=CSV_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition_header(as_attachment=True, filename=filename)},
    )
