"""Turning incoming mentions into incidents: validate, de-duplicate, thread, triage, store in bulk.

One batch is one transaction. Advisory locks over a small set of buckets (hashed from the mention,
thread and author keys) serialize only batches that could touch the same thread, author or mention,
so concurrent replays store each mention exactly once and never open two incidents for one thread.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from config.errors import Conflict
from incidents.intake import MentionInput, parse_mention
from incidents.models import EventKind, Incident, WebhookEvent
from incidents.sentiment import sentiment_of
from incidents.services import clocks
from incidents.services.ingestion_sql import (
    FIND_AUTHORS_SQL,
    FIND_STORED_SQL,
    FIND_THREADS_SQL,
    INSERT_BUCKETS_SQL,
    INSERT_EVENTS_SQL,
    INSERT_INCIDENTS_SQL,
    INSERT_MENTIONS_SQL,
    LOCK_BUCKETS_SQL,
    UPDATE_TOUCHED_SQL,
)
from incidents.services.webhooks import EventItem, webhook_events_emit
from incidents.triage import TriageOutcome, compile_rules, higher_priority, triage
from protocols.models import Platform, Priority, Role
from protocols.selectors import triage_rule_list_active

AUTHOR_WINDOW = timedelta(hours=24)
LOCK_BUCKETS = 64
TITLE_MAX = 200
SEARCH_TEXT_MAX = 200_000
PLATFORM_LABELS = dict(Platform.choices)


@dataclass
class IngestResult:
    index: int
    status: str  # created | duplicate | invalid
    mention_id: int | None = None
    incident_id: int | None = None
    errors: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.status == "invalid":
            body["errors"] = self.errors
        else:
            body["mention_id"] = self.mention_id
            body["incident_id"] = self.incident_id
        return body


@dataclass
class _NewIncident:
    mentions: list[MentionInput]
    outcome: TriageOutcome
    thread_key: str
    author_key: str
    tags: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    id: int | None = None


@dataclass
class _Touched:
    """An existing open incident that receives new mentions in this batch."""

    id: int
    mentions: list[MentionInput] = field(default_factory=list)
    raise_to: str | None = None
    tags: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode()) % LOCK_BUCKETS


def _union(into: list[str], values: list[str]) -> None:
    for value in values:
        if value not in into:
            into.append(value)


def _title_for(mention: MentionInput) -> str:
    snippet = " ".join(mention.text.split())
    title = (
        f"@{mention.author_handle} on {PLATFORM_LABELS.get(mention.platform, mention.platform)}: {snippet}"
    )
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def mentions_ingest(*, items: list[Any], actor: Any | None, actor_label: str) -> list[IngestResult]:
    """Store what is new, report duplicates and invalid items; an invalid item never blocks others."""
    results: list[IngestResult | None] = [None] * len(items)
    valid: list[tuple[int, MentionInput, bool]] = []
    first_index: dict[tuple[str, str], int] = {}
    repeats: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        mention, errors = parse_mention(item)
        if mention is None:
            results[index] = IngestResult(index=index, status="invalid", errors=errors)
            continue
        if mention.key in first_index:
            repeats.append((index, first_index[mention.key]))
            continue
        first_index[mention.key] = index
        computed = not mention.sentiment
        if computed:
            mention.sentiment = sentiment_of(mention.text)
        valid.append((index, mention, computed))

    if valid:
        stored = _store(valid, actor=actor, actor_label=actor_label)
        for index, mention, _ in valid:
            status, mention_id, incident_id = stored[mention.key]
            results[index] = IngestResult(
                index=index, status=status, mention_id=mention_id, incident_id=incident_id
            )
    for index, first in repeats:
        original = results[first]
        assert original is not None
        results[index] = IngestResult(
            index=index, status="duplicate", mention_id=original.mention_id, incident_id=original.incident_id
        )
    return [r for r in results if r is not None]


@transaction.atomic
def _store(
    valid: list[tuple[int, MentionInput, bool]], *, actor: Any | None, actor_label: str
) -> dict[tuple[str, str], tuple[str, int, int | None]]:
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    with connection.cursor() as cur:
        buckets = sorted(
            {_bucket(m.thread_key) for _, m, _ in valid}
            | {_bucket(m.author_key) for _, m, _ in valid}
            | {_bucket("m:" + m.platform + ":" + m.external_id) for _, m, _ in valid}
        )
        LOCK_BUCKETS_SQL.execute(cur, (buckets,))
        outcome: dict[tuple[str, str], tuple[str, int, int | None]] = {}
        FIND_STORED_SQL.execute(
            cur, ([m.platform for _, m, _ in valid], [m.external_id for _, m, _ in valid])
        )
        for mention_id, platform, external_id, incident_id in cur.fetchall():
            outcome[(platform, external_id)] = ("duplicate", mention_id, incident_id)
        fresh = sorted(
            ((m, computed) for _, m, computed in valid if m.key not in outcome),
            key=lambda pair: pair[0].posted_at,
        )
        if not fresh:
            return outcome

        placement = _place(cur, [m for m, _ in fresh])
        new_incidents, touched, incident_of = placement
        _insert_incidents(cur, new_incidents, now=now, actor_id=actor_id)

        rows = [
            {
                "platform": m.platform,
                "external_id": m.external_id,
                "url": m.url,
                "author_handle": m.author_handle,
                "author_name": m.author_name,
                "body": m.text,
                "posted_at": m.posted_at.isoformat(),
                "thread_id": m.thread_id,
                "parent_id": m.parent_id,
                "language": m.language,
                "sentiment": m.sentiment,
                "computed": computed,
                "tags": m.tags,
                "products": m.products,
                "raw": m.raw_json,
                "incident_id": incident_of[m.key].id,
            }
            for m, computed in fresh
        ]
        INSERT_MENTIONS_SQL.execute(cur, (now, _json(rows)))
        inserted = cur.fetchall()
        if len(inserted) != len(rows):
            # Only possible if a writer bypassed the bucket locks; roll back rather than half-store.
            raise Conflict("A concurrent request stored some of these mentions first; retry the request.")
        mention_ids: dict[tuple[str, str], int] = {}
        for mention_id, platform, external_id, incident_id in inserted:
            mention_ids[(platform, external_id)] = mention_id
            outcome[(platform, external_id)] = ("created", mention_id, incident_id)

        _count_buckets(cur, [m for m, _ in fresh])
        raised = _update_touched(cur, list(touched.values()), now=now)
        _insert_events(
            cur, new_incidents, list(touched.values()), raised, mention_ids, now, actor_id, actor_label
        )
    _start_clocks(new_incidents, touched, raised, now)
    _emit_webhooks(new_incidents, raised)
    return outcome


def _emit_webhooks(new_incidents: list[_NewIncident], raised: dict[int, tuple[str, str]]) -> None:
    """One statement per event type for the whole batch (none at all while nobody subscribed)."""
    webhook_events_emit(
        event=WebhookEvent.INCIDENT_CREATED,
        items=[EventItem(data={}, incident_id=i.id) for i in new_incidents if i.id is not None],
    )
    webhook_events_emit(
        event=WebhookEvent.INCIDENT_UPDATED,
        items=[
            EventItem(data={"changes": {"priority": {"from": old, "to": new}}}, incident_id=incident_id)
            for incident_id, (old, new) in raised.items()
        ],
    )


def _start_clocks(
    new_incidents: list[_NewIncident], touched: dict[int, _Touched], raised: dict[int, Any], now: datetime
) -> None:
    """New incidents get their response-time clocks; a customer writing again on an answered incident
    starts a next-response clock; a priority raised by a triage rule recomputes the deadlines."""
    started = clocks.clocks_start_for_new_incidents(
        incidents=[
            (i.id, i.outcome.category_id, i.outcome.priority or Priority.NORMAL.value)
            for i in new_incidents
            if i.id is not None  # always set by _insert_incidents
        ],
        now=now,
    )
    clocks.incident_sla_sync(incident_ids=[c.incident_id for c in started])
    clocks.clocks_on_customer_message(incident_ids=list(touched), now=now)
    for incident in Incident.objects.filter(pk__in=list(raised)) if raised else ():
        clocks.clocks_recompute(
            incident=incident, actor=None, now=now, reason="Priority raised by a triage rule"
        )


def _place(
    cur: Any, fresh: list[MentionInput]
) -> tuple[list[_NewIncident], dict[int, _Touched], dict[tuple[str, str], Any]]:
    """Decide for each new mention which incident it joins: the open incident of its thread, else the
    open incident of its author on the same platform within 24 hours, else a new one."""
    thread_keys = sorted({m.thread_key for m in fresh})
    author_keys = sorted({m.author_key for m in fresh})
    earliest = min(m.posted_at for m in fresh) - AUTHOR_WINDOW
    FIND_THREADS_SQL.execute(cur, (thread_keys,))
    by_thread: dict[str, Any] = {key: _Touched(id=incident_id) for key, incident_id in cur.fetchall()}
    FIND_AUTHORS_SQL.execute(cur, (author_keys, earliest))
    touched: dict[int, _Touched] = {t.id: t for t in by_thread.values()}
    by_author: dict[str, tuple[Any, datetime]] = {}
    for key, incident_id, last_at in cur.fetchall():
        by_author[key] = (touched.setdefault(incident_id, _Touched(id=incident_id)), last_at)

    rules = compile_rules(triage_rule_list_active())
    new_incidents: list[_NewIncident] = []
    incident_of: dict[tuple[str, str], Any] = {}
    for mention in fresh:
        target: Any = by_thread.get(mention.thread_key)
        if target is None:
            candidate = by_author.get(mention.author_key)
            if candidate is not None and candidate[1] >= mention.posted_at - AUTHOR_WINDOW:
                target = candidate[0]
        if target is None:
            result = triage(rules, mention)
            target = _NewIncident(
                mentions=[], outcome=result, thread_key=mention.thread_key, author_key=mention.author_key
            )
            _union(target.tags, result.tags)
            new_incidents.append(target)
        elif isinstance(target, _Touched):
            # A mention joining an open incident may raise its priority and add tags, never lower them.
            result = triage(rules, mention)
            if result.priority:
                target.raise_to = (
                    result.priority
                    if target.raise_to is None
                    else higher_priority(target.raise_to, result.priority)
                )
            _union(target.tags, result.tags)
        target.mentions.append(mention)
        _union(target.tags, mention.tags)
        _union(target.products, mention.products)
        incident_of[mention.key] = target
        by_thread.setdefault(mention.thread_key, target)
        by_author[mention.author_key] = (target, mention.posted_at)
    return new_incidents, {t.id: t for t in touched.values() if t.mentions}, incident_of


def _json(rows: list[dict[str, Any]]) -> str:
    """One JSON document per statement: PostgreSQL unpacks it with json_to_recordset, which is far
    cheaper than formatting hundreds of VALUES tuples on the client."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def _search_text(parts: list[str]) -> str:
    return " ".join(parts)[:SEARCH_TEXT_MAX]


def _insert_incidents(
    cur: Any, new_incidents: list[_NewIncident], *, now: datetime, actor_id: int | None
) -> None:
    if not new_incidents:
        return
    rows = []
    for incident in new_incidents:
        first = incident.mentions[0]
        title = _title_for(first)
        rows.append(
            {
                "title": title,
                "description": first.text,
                "category_id": incident.outcome.category_id,
                "priority": incident.outcome.priority or Priority.NORMAL.value,
                "assigned_role": incident.outcome.role or Role.RESPONDER.value,
                "tags": incident.tags,
                "products": incident.products,
                "platform": first.platform,
                "thread_key": incident.thread_key,
                "author_key": incident.author_key,
                "n": len(incident.mentions),
                "last_at": max(m.posted_at for m in incident.mentions).isoformat(),
                "search": _search_text([title, first.text]),
            }
        )
    # Within one batch every new incident has its own thread key, so it maps the returned ids back.
    INSERT_INCIDENTS_SQL.execute(cur, (now, _json(rows)))
    ids = dict((key, incident_id) for incident_id, key in cur.fetchall())
    for incident in new_incidents:
        incident.id = ids[incident.thread_key]


def _count_buckets(cur: Any, fresh: list[MentionInput]) -> None:
    """Adds the batch's new mentions to spike detection's per-minute counts (one statement)."""
    rows = [
        {"sentiment": m.sentiment, "posted_at": m.posted_at.isoformat(), "products": m.products}
        for m in fresh
        if m.products
    ]
    if rows:
        INSERT_BUCKETS_SQL.execute(cur, (_json(rows),))


def _update_touched(cur: Any, touched: list[_Touched], *, now: datetime) -> dict[int, tuple[str, str]]:
    """Adds the mentions to their open incidents; returns {incident id: (old, new priority)} where a
    triage rule raised it."""
    if not touched:
        return {}
    rows = [
        {
            "id": t.id,
            "n": len(t.mentions),
            "last_at": max(m.posted_at for m in t.mentions).isoformat(),
            "tags": t.tags,
            "products": t.products,
            "raise_to": t.raise_to,
        }
        for t in touched
    ]
    # Priority only goes up: the CASE keeps the higher of the current and the rule's priority. Tags are
    # only appended when new, so the common case changes no indexed column and PostgreSQL can update
    # the row in place (HOT). Joining the table again as `old` reads the row as it was, for the timeline.
    UPDATE_TOUCHED_SQL.execute(cur, (now, _json(rows)))
    changed = cur.fetchall()
    return {incident_id: (old, new) for incident_id, old, new in changed if old != new}


def _insert_events(
    cur: Any,
    new_incidents: list[_NewIncident],
    touched: list[_Touched],
    raised: dict[int, tuple[str, str]],
    mention_ids: dict[tuple[str, str], int],
    now: datetime,
    actor_id: int | None,
    actor_label: str,
) -> None:
    events: list[dict[str, Any]] = []

    def add(
        incident_id: int | None, kind: str, before: dict[str, Any], after: dict[str, Any], note: str
    ) -> None:
        events.append(
            {"incident_id": incident_id, "kind": kind, "before": before, "after": after, "note": note}
        )

    for incident in new_incidents:
        first = incident.mentions[0]
        add(
            incident.id,
            EventKind.CREATED,
            {},
            {
                "mention_id": mention_ids[first.key],
                "platform": first.platform,
                "priority": incident.outcome.priority or Priority.NORMAL.value,
                "assigned_role": incident.outcome.role or Role.RESPONDER.value,
                "category_id": incident.outcome.category_id,
            },
            f"Opened from a mention by @{first.author_handle}",
        )
        if incident.outcome.rule_names:
            add(
                incident.id,
                EventKind.TRIAGE_RULE,
                {},
                {"rules": incident.outcome.rule_names, "tags": incident.outcome.tags},
                "Triage rules applied: " + ", ".join(incident.outcome.rule_names),
            )
        for mention in incident.mentions[1:]:
            add(incident.id, EventKind.MENTION_ADDED, {}, {"mention_id": mention_ids[mention.key]}, "")
    for target in touched:
        for mention in target.mentions:
            add(target.id, EventKind.MENTION_ADDED, {}, {"mention_id": mention_ids[mention.key]}, "")
        if target.id in raised:
            old, new = raised[target.id]
            add(
                target.id,
                EventKind.PRIORITY_CHANGED,
                {"priority": old},
                {"priority": new},
                "Raised by a triage rule",
            )
    INSERT_EVENTS_SQL.execute(cur, (actor_id, actor_label, now, _json(events)))
