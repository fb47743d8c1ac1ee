"""Triage rules applied to a mention: pure functions, so they are cheap to run on every item of a batch."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from incidents.intake import MentionInput
from protocols.models import Priority, TriageRule

PRIORITY_ORDER = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.CRITICAL: 3}


def higher_priority(a: str, b: str) -> str:
    return a if PRIORITY_ORDER.get(a, 1) >= PRIORITY_ORDER.get(b, 1) else b  # type: ignore[call-overload]


@dataclass
class CompiledRule:
    rule: TriageRule
    keyword_re: re.Pattern[str] | None
    authors: frozenset[str]

    def matches(self, mention: MentionInput) -> bool:
        rule = self.rule
        if rule.platform and rule.platform != mention.platform:
            return False
        if rule.sentiment and rule.sentiment != mention.sentiment:
            return False
        if self.authors and mention.author_handle.lower() not in self.authors:
            return False
        return not (self.keyword_re is not None and self.keyword_re.search(mention.text) is None)


@dataclass
class TriageOutcome:
    category_id: int | None = None
    priority: str | None = None
    role: str | None = None
    tags: list[str] = field(default_factory=list)
    rule_names: list[str] = field(default_factory=list)


def compile_rules(rules: list[TriageRule]) -> list[CompiledRule]:
    compiled = []
    for rule in rules:
        words = [w.strip() for w in rule.keywords if w.strip()]
        pattern = None
        if words:
            alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        authors = frozenset(a.strip().lstrip("@").lower() for a in rule.authors if a.strip())
        compiled.append(CompiledRule(rule=rule, keyword_re=pattern, authors=authors))
    return compiled


def triage(rules: list[CompiledRule], mention: MentionInput) -> TriageOutcome:
    """Every matching rule applies in order; a later rule overrides category and role, priority only
    ever goes up, and tags accumulate."""
    outcome = TriageOutcome()
    for compiled in rules:
        if not compiled.matches(mention):
            continue
        rule = compiled.rule
        outcome.rule_names.append(rule.name)
        if rule.set_category_id:
            outcome.category_id = rule.set_category_id
        if rule.set_priority:
            outcome.priority = (
                rule.set_priority
                if outcome.priority is None
                else higher_priority(outcome.priority, rule.set_priority)
            )
        if rule.route_to_role:
            outcome.role = rule.route_to_role
        for tag in rule.add_tags:
            tag = tag.strip().lower()
            if tag and tag not in outcome.tags:
                outcome.tags.append(tag)
    return outcome
