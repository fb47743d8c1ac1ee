"""Validation of incoming mentions, shared by the API, the signed webhook and the bench.

Hand-written rather than a DRF serializer per item: a batch of 500 is validated in a few
milliseconds, and each problem is reported against the field that has it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from protocols.models import Platform, Sentiment

PLATFORMS = frozenset(Platform.values)
SENTIMENTS = frozenset(Sentiment.values)
FIELD_LIMITS = {
    "external_id": 200,
    "author_handle": 150,
    "author_name": 200,
    "thread_id": 200,
    "parent_id": 200,
    "language": 16,
    "url": 2000,
}
TAG_MAX = 50
PRODUCT_MAX = 80
LIST_MAX_ITEMS = 20
RAW_MAX_CHARS = 100_000
KNOWN_FIELDS = frozenset(
    {
        "platform",
        "external_id",
        "url",
        "author_handle",
        "author_name",
        "text",
        "posted_at",
        "thread_id",
        "parent_id",
        "language",
        "sentiment",
        "tags",
        "products",
        "raw",
    }
)
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# PostgreSQL text cannot hold NUL, and UTF-8 cannot encode an unpaired surrogate (which a JSON "\ud800"
# escape can produce); both are refused. Other control characters are kept as given.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Must not contain NUL characters or unpaired surrogates (invalid Unicode)."


@dataclass
class MentionInput:
    platform: str
    external_id: str
    author_handle: str
    text: str
    posted_at: datetime
    url: str = ""
    author_name: str = ""
    thread_id: str = ""
    parent_id: str = ""
    language: str = ""
    sentiment: str = ""
    tags: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    raw_json: str = "{}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.external_id)

    @property
    def thread_key(self) -> str:
        root = self.thread_id or self.parent_id or self.external_id
        return f"{self.platform}:{root}"

    @property
    def author_key(self) -> str:
        return f"{self.platform}:{self.author_handle.lower()}"


def _string(item: dict[str, Any], name: str, errors: dict[str, str], *, required: bool) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            errors[name] = "This field is required."
        return ""
    if not isinstance(value, str):
        errors[name] = f"Must be a string, not {type(value).__name__}."
        return ""
    if _UNSTORABLE.search(value):
        errors[name] = UNSTORABLE_MESSAGE
        return ""
    limit = FIELD_LIMITS.get(name)
    if limit is not None and len(value) > limit:
        errors[name] = f"Must be at most {limit} characters (got {len(value)})."
        return ""
    return value


def _string_list(item: dict[str, Any], name: str, limit: int, errors: dict[str, str]) -> list[str]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[name] = "Must be a list of strings."
        return []
    if len(value) > LIST_MAX_ITEMS:
        errors[name] = f"At most {LIST_MAX_ITEMS} items."
        return []
    cleaned: list[str] = []
    for v in value:
        v = v.strip().lower()
        if not v:
            continue
        if len(v) > limit or _UNSTORABLE.search(v):
            errors[name] = f"Each item must be at most {limit} characters of valid text."
            return []
        if v not in cleaned:
            cleaned.append(v)
    return cleaned


def parse_mention(item: Any) -> tuple[MentionInput | None, dict[str, str]]:
    """Returns the parsed mention, or None and a {field: problem} map."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": f"Each mention must be a JSON object, not {type(item).__name__}."}
    errors: dict[str, str] = {}
    unknown = sorted(set(item) - KNOWN_FIELDS)
    if unknown:
        errors["non_field_errors"] = f"Unknown field(s): {', '.join(unknown)}."

    platform = _string(item, "platform", errors, required=True)
    if platform and platform not in PLATFORMS:
        errors["platform"] = f"Unknown platform {platform!r}; one of: {', '.join(sorted(PLATFORMS))}."
    external_id = _string(item, "external_id", errors, required=True)
    author_handle = _string(item, "author_handle", errors, required=True).lstrip("@")
    if "author_handle" not in errors and not author_handle:
        errors["author_handle"] = "Must contain more than '@'."
    text = item.get("text")
    if text is None or text == "":
        errors["text"] = "This field is required."
        text = ""
    elif not isinstance(text, str):
        errors["text"] = f"Must be a string, not {type(text).__name__}."
        text = ""
    elif len(text) > settings.FIREBREAK_MENTION_TEXT_MAX:
        errors["text"] = (
            f"Must be at most {settings.FIREBREAK_MENTION_TEXT_MAX} characters (got {len(text)})."
        )
    elif _UNSTORABLE.search(text):
        errors["text"] = UNSTORABLE_MESSAGE

    posted_raw = item.get("posted_at")
    posted_at: datetime | None = None
    if posted_raw is None or posted_raw == "":
        errors["posted_at"] = "This field is required."
    elif not isinstance(posted_raw, str):
        errors["posted_at"] = "Must be an ISO 8601 date-time string."
    else:
        try:
            posted_at = parse_datetime(posted_raw)
        except ValueError:
            posted_at = None
        if posted_at is None:
            errors["posted_at"] = "Must be an ISO 8601 date-time, e.g. 2026-11-22T10:00:00Z."
        elif timezone.is_naive(posted_at):
            errors["posted_at"] = "Must include a time zone (e.g. Z or +01:00)."
            posted_at = None
        else:
            # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
            try:
                posted_at = posted_at.astimezone(UTC)
            except OverflowError:
                errors["posted_at"] = "Must be between the years 1 and 9999."
                posted_at = None

    url = _string(item, "url", errors, required=False)
    if url and not _URL_RE.match(url):
        errors["url"] = "Must be an http(s) URL."
    author_name = _string(item, "author_name", errors, required=False)
    thread_id = _string(item, "thread_id", errors, required=False)
    parent_id = _string(item, "parent_id", errors, required=False)
    language = _string(item, "language", errors, required=False)
    sentiment = _string(item, "sentiment", errors, required=False)
    if sentiment and sentiment not in SENTIMENTS:
        errors["sentiment"] = f"Must be one of: {', '.join(sorted(SENTIMENTS))}."
    tags = _string_list(item, "tags", TAG_MAX, errors)
    products = _string_list(item, "products", PRODUCT_MAX, errors)
    raw = item.get("raw")
    raw_json = "{}"
    if raw is not None:
        if not isinstance(raw, dict):
            errors["raw"] = "Must be a JSON object."
        else:
            raw_json = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
            if "\\u0000" in raw_json or _UNSTORABLE.search(raw_json):
                errors["raw"] = UNSTORABLE_MESSAGE
            elif len(raw_json) > RAW_MAX_CHARS:
                errors["raw"] = f"Must be at most {RAW_MAX_CHARS} characters of JSON."

    if errors or posted_at is None:
        return None, errors
    return (
        MentionInput(
            platform=platform,
            external_id=external_id,
            author_handle=author_handle,
            text=text,
            posted_at=posted_at,
            url=url,
            author_name=author_name,
            thread_id=thread_id,
            parent_id=parent_id,
            language=language,
            sentiment=sentiment,
            tags=tags,
            products=products,
            raw_json=raw_json,
        ),
        {},
    )
