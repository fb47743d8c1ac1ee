"""JSON parsing for the API that refuses text PostgreSQL cannot store, as a 400 instead of a 500.

A JSON body may spell a NUL (`\\u0000`) or an unpaired surrogate (`\\ud800`); both parse into Python
strings that the database then rejects. The mention intake validates its own fields the same way.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _has_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_unstorable_text(k) or _has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unstorable_text(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _has_unstorable_text(data):
            raise ParseError("JSON contains NUL characters or unpaired surrogates (invalid Unicode).")
        return data
