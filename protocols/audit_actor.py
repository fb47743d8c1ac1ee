"""Who the database should name in the audit log: a request's signed-in user (session or API token),
"system" for a Celery task, or whoever a script says it acts as; handed to PostgreSQL as settings of
the database session, which the audit triggers read.

The settings are sent only before a statement that may write an audited table (reads and incident
work pay nothing) and cleared when the outermost request, task or script block ends, so a pooled
connection never carries an actor into the next one. Writes outside all of them (a shell, a
migration) are recorded with no actor."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

from protocols.audit_tables import AUDITED

SYSTEM = "system"
_SET_SQL = (
    "SELECT set_config('firebreak.actor_id', %s, false), set_config('firebreak.actor_name', %s, false), "
    "set_config('firebreak.request_id', %s, false)"
)
_CLEARED = ("", "", "")
# Django's own writes name their table first; anything else that may write (WITH … INSERT, MERGE, a
# TRUNCATE, COPY) gets the actor too, to be safe. EXECUTE of a prepared statement does not: those are
# the intake's and the SLA sweeper's, which write incident tables only.
_WRITE_HEAD = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_MAYBE_WRITE = ("INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "TRUNCATE", "COPY")

Actor = tuple[str, str]  # (user id or "", name)
Settings = tuple[str, str, str]  # actor id, actor name, request id


def may_write_audited(sql: Any) -> bool:
    if isinstance(sql, bytes):  # psycopg2's execute_values sends its statement as bytes
        sql = sql[:300].decode("utf-8", "replace")
    elif not isinstance(sql, str):
        return True  # a composed statement (psycopg2.sql): it cannot be read here, so name the actor
    head = sql.lstrip()[:8].upper()
    if not head.startswith(_MAYBE_WRITE):
        return False
    match = _WRITE_HEAD.match(sql)
    return match is None or match.group(1) in AUDITED


def actor_of(user: Any) -> Actor:
    if user is None or not user.is_authenticated:
        return ("", "")
    return (str(user.pk), user.get_username())


@dataclass
class _Session:
    """What this thread's connection was told, and which block's actor applies (the innermost)."""

    blocks: list[_Block] = field(default_factory=list)
    sent: Settings | None = _CLEARED  # None: unknown (a rollback may have undone it)
    sent_on: int | None = None  # id() of the database session it was sent on

    def holds(self, raw: int) -> Settings | None:
        if raw != self.sent_on:
            return _CLEARED  # a new database session starts with none of our settings
        return self.sent


def _is_nobody(settings: Settings) -> bool:
    return settings[0] == "" and settings[1] == ""


def _session() -> _Session:
    state: _Session | None = getattr(connection, "_firebreak_audit", None)
    if state is None:
        state = _Session()
        connection._firebreak_audit = state  # type: ignore[attr-defined]
    return state


class _Block:
    """An execute wrapper: before a statement that may write an audited table, makes sure the session's
    settings name `actor()`, asked at that moment (a token's user is known only once DRF authenticated)."""

    def __init__(self, actor: Callable[[], Actor], request_id: str) -> None:
        self.actor = actor
        self.request_id = request_id

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        state = _session()
        if state.blocks and state.blocks[-1] is self and may_write_audited(sql):
            wanted: Settings = (*self.actor(), self.request_id)
            raw = id(connection.connection)
            held = state.holds(raw)
            # Nobody to name (not signed in, or a token not yet checked) is what cleared settings say.
            nobody_either_way = _is_nobody(wanted) and held is not None and _is_nobody(held)
            if held != wanted and not nobody_either_way:
                context["cursor"].execute(_SET_SQL, wanted)
                state.sent, state.sent_on = wanted, raw
        return execute(sql, params, many, context)


@contextmanager
def acting(actor: Callable[[], Actor], *, request_id: str = "") -> Iterator[None]:
    state = _session()
    block = _Block(actor, request_id)
    state.blocks.append(block)
    try:
        with connection.execute_wrapper(block):
            yield
    finally:
        state.blocks.remove(block)
        if not state.blocks:
            _clear(state)


def _clear(state: _Session) -> None:
    if connection.connection is None:
        return  # the database session is gone, and its settings with it
    held = state.holds(id(connection.connection))
    if held is not None and _is_nobody(held):
        return
    if connection.needs_rollback:
        state.sent = None  # unknown after the rollback; the next write sends what it needs first
        return
    with connection.cursor() as cursor:
        cursor.execute(_SET_SQL, _CLEARED)
    state.sent = _CLEARED


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """For a script or a shell session: `with acting_as(user): …` records its changes as `user`'s."""
    with acting(lambda: actor_of(user), request_id=uuid.uuid4().hex):
        yield


class AuditActorMiddleware:
    """After AuthenticationMiddleware: names the request's user to the database for its writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        request.audit_request_id = request_id  # type: ignore[attr-defined]
        # DRF's authentication sets the token's user on this request too, so the user is read late.
        with acting(lambda: actor_of(getattr(request, "user", None)), request_id=request_id):
            return self.get_response(request)


_tasks: dict[str, ExitStack] = {}


def task_started(task_id: str, *, is_eager: bool) -> None:
    """A Celery task writes as "system". An eager task runs inside its caller, whose actor stands."""
    if is_eager or task_id in _tasks:
        return
    stack = ExitStack()
    stack.enter_context(acting(lambda: ("", SYSTEM), request_id=task_id.replace("-", "")[:32]))
    _tasks[task_id] = stack


def task_finished(task_id: str) -> None:
    stack = _tasks.pop(task_id, None)
    if stack is not None:
        stack.close()
