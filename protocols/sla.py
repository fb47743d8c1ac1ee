"""Response-time policies as plain values: each active policy resolved with its calendar and frozen
escalation steps, and the rule that picks the most specific policy for a category and priority."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocols.business_time import ALWAYS_OPEN, BusinessCalendarSpec

ALWAYS_OPEN_NAME = "24/7"
TARGET_FIELDS = {
    "first_response": "first_response_seconds",
    "next_response": "next_response_seconds",
    "resolution": "resolution_seconds",
    "approval_step": "reference_seconds",
    "crisis_update": "reference_seconds",
    "crisis_expiry": "reference_seconds",
}


@dataclass(frozen=True)
class PolicySnapshot:
    policy_id: int | None
    name: str
    category_id: int | None
    priority: str
    calendar_name: str
    calendar: BusinessCalendarSpec
    first_response_seconds: int | None
    next_response_seconds: int | None
    resolution_seconds: int | None
    warn_at_percent: int | None
    warn_before_seconds: int | None
    chain_name: str = ""
    chain: tuple[dict[str, Any], ...] = ()
    # the target of a clock started for one thing (an approval step, a crisis reminder or expiry)
    reference_seconds: int | None = None

    def target_seconds(self, kind: str) -> int | None:
        attr = TARGET_FIELDS.get(kind)
        return getattr(self, attr) if attr else None

    def warn_after_seconds(self, target: int) -> int | None:
        """When, in business seconds into the target, the warning fires (None: no warning)."""
        if self.warn_at_percent:
            return target * self.warn_at_percent // 100
        if self.warn_before_seconds and self.warn_before_seconds < target:
            return target - self.warn_before_seconds
        return None

    def chain_for(self, *, has_warning: bool) -> list[dict[str, Any]]:
        """The steps a clock freezes: warning-triggered ones only if the clock can warn at all."""
        return [dict(step) for step in self.chain if has_warning or step["trigger"] != "warning"]


@dataclass
class PolicyBook:
    """All active policies, looked up by (category, priority) with the most specific winning."""

    by_match: dict[tuple[int | None, str], PolicySnapshot] = field(default_factory=dict)

    def policy_for(self, *, category_id: int | None, priority: str) -> PolicySnapshot | None:
        for key in ((category_id, priority), (category_id, ""), (None, priority), (None, "")):
            found = self.by_match.get(key)
            if found is not None:
                return found
        return None


def step_sort_key(step: dict[str, Any]) -> tuple[int, int, int]:
    """Warning steps come before breach steps; then by delay, then by position."""
    return (0 if step["trigger"] == "warning" else 1, step["delay_minutes"], step["position"])


def fixed_policy(*, name: str, seconds: int, warn_at_percent: int | None = None) -> PolicySnapshot:
    """A one-off target counted around the clock, with no escalation (crisis reminders and expiry)."""
    return PolicySnapshot(
        policy_id=None,
        name=name,
        category_id=None,
        priority="",
        calendar_name=ALWAYS_OPEN_NAME,
        calendar=ALWAYS_OPEN,
        first_response_seconds=None,
        next_response_seconds=None,
        resolution_seconds=None,
        warn_at_percent=warn_at_percent,
        warn_before_seconds=None,
        reference_seconds=seconds,
    )
