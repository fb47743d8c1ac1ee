"""Server-side prepared statements for the hot paths (intake, token authentication).

The incidents table carries many (partial) indexes, so planning one small statement costs ~0.7 ms,
about ten times its execution. Hot paths prepare their statements once per connection and run them
with a generic plan (`plan_cache_mode` is set for every session in the database settings; it only
concerns prepared statements, and Django prepares none of its own), which is safe for statements
that are index probes or bulk writes whose plan does not depend on the values.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

_PLACEHOLDER = re.compile(r"%s")
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
# Every statement by name, so tools (the bench's raw-SQL floor) can prepare the same ones.
REGISTRY: dict[str, Prepared] = {}


@dataclass(frozen=True)
class Prepared:
    name: str
    param_types: tuple[str, ...]
    sql: str  # with %s placeholders, in the order of param_types
    _numbered: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        counter = iter(range(1, len(self.param_types) + 1))
        numbered = _PLACEHOLDER.sub(lambda _: f"${next(counter)}", self.sql)
        if next(counter, None) is not None:
            raise ValueError(f"{self.name}: {len(self.param_types)} types for fewer placeholders")
        object.__setattr__(self, "_numbered", numbered)
        REGISTRY[self.name] = self

    @property
    def prepare_sql(self) -> str:
        types = f" ({', '.join(self.param_types)})" if self.param_types else ""
        return f"PREPARE {self.name}{types} AS {self._numbered}"

    def execute(self, cur: Any, params: tuple[Any, ...]) -> None:
        """Runs on a Django cursor of the current connection (so query logging and counting see it)."""
        prepared = _prepared_on_this_connection()
        if self.name not in prepared:
            cur.execute(self.prepare_sql)
            prepared.add(self.name)
        if params:
            cur.execute(f"EXECUTE {self.name} ({', '.join(['%s'] * len(params))})", params)
        else:
            cur.execute(f"EXECUTE {self.name}")


def _prepared_on_this_connection() -> set[str]:
    """The names prepared on the live database session. Keyed by the psycopg2 connection object
    itself (weakly), so a reconnect starts with an empty set and nothing outlives its session."""
    raw = connection.connection
    prepared = _PREPARED.get(raw)
    if prepared is None:
        prepared = _PREPARED[raw] = set()
    return prepared
