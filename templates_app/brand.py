"""Checks a reply draft against the brand guidelines as the user types: banned phrases, the platform's
length limit, unfilled variables, template syntax and the elements a kind of reply must contain."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from protocols.models import Platform
from templates_app.models import BannedPhrase, PlatformLimit, RequiredElement
from templates_app.rendering import PLACEHOLDER, invalid_syntax_in

CACHE_KEY = "templates_app:brand_rules:v1"
# Services forget the cached rules on every change; the timeout only bounds a change made around them.
CACHE_SECONDS = 300
PLATFORM_LABELS = dict(Platform.choices)


@dataclass(frozen=True)
class BrandIssue:
    code: str  # banned_phrase | too_long | unfilled_variable | missing_required | invalid_placeholder
    message: str


@dataclass(frozen=True)
class Required:
    kind: str
    label: str
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class BrandRules:
    """The active guideline rows, small enough to keep whole in the cache."""

    banned: tuple[tuple[str, str], ...]  # (phrase, suggestion)
    required: tuple[Required, ...]
    limits: tuple[tuple[str, int], ...]  # (platform, max characters)


def _load_rules() -> BrandRules:
    return BrandRules(
        banned=tuple(
            BannedPhrase.objects.filter(is_active=True).order_by("phrase").values_list("phrase", "suggestion")
        ),
        required=tuple(
            Required(kind=kind, label=label, alternatives=tuple(alternatives))
            for kind, label, alternatives in RequiredElement.objects.filter(is_active=True)
            .order_by("kind", "label", "id")
            .values_list("kind", "label", "alternatives")
        ),
        limits=tuple(PlatformLimit.objects.values_list("platform", "max_characters")),
    )


def brand_rules() -> BrandRules:
    rules = cache.get(CACHE_KEY)
    if not isinstance(rules, BrandRules):
        rules = _load_rules()
        cache.set(CACHE_KEY, rules, CACHE_SECONDS)
    return rules


def forget_brand_rules() -> None:
    """Called by every service that changes a guideline. Forgotten now and again after commit, so a
    request that read the old rows while the change was in flight cannot keep them cached."""
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


@functools.lru_cache(maxsize=512)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Whole words only ("calm down" is banned, "calm downtown" is not); any run of spaces matches.
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def check_draft(*, text: str, platform: str, kind: str = "") -> list[BrandIssue]:
    """Every way the text breaks the guidelines, in words a responder can act on. `platform` picks the
    length limit (none when unknown); `kind` picks the required elements (none when empty)."""
    rules = brand_rules()
    issues: list[BrandIssue] = []
    for phrase, suggestion in rules.banned:
        if _phrase_pattern(phrase).search(text):
            instead = f"; try {suggestion}" if suggestion else ""
            issues.append(BrandIssue("banned_phrase", f'Banned phrase "{phrase}"{instead}'))
    limit = dict(rules.limits).get(platform)
    if limit is not None and len(text) > limit:
        label = PLATFORM_LABELS.get(platform, platform)
        issues.append(BrandIssue("too_long", f"Over the {label} limit: {len(text)} of {limit} characters"))
    for name in dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(text)):
        issues.append(BrandIssue("unfilled_variable", f"Fill in {{{{ {name} }}}} before sending"))
    for syntax in invalid_syntax_in(text):
        issues.append(BrandIssue("invalid_placeholder", f"Remove {syntax}: it is not a variable"))
    lowered = text.casefold()
    for required in rules.required:
        if (
            kind
            and required.kind == kind
            and not any(alt.casefold() in lowered for alt in required.alternatives)
        ):
            options = " or ".join(f'"{alt}"' for alt in required.alternatives)
            issues.append(BrandIssue("missing_required", f"Missing {required.label}: include {options}"))
    return issues


def platform_limit(*, platform: str) -> int | None:
    """The platform's length limit in characters, or None when it has none."""
    return dict(brand_rules().limits).get(platform)
