"""How incidents read on a page: compact ages and Target cells for queue rows, timeline events as
labelled changes, response-time clocks explained, and people named the way the team knows them. Pure
formatting; no queries, no writes. One module per subject; import from here."""

from incidents.presenters.clocks import ClockView, StepView, clock_label, clock_views, step_user_ids
from incidents.presenters.queue import QueueRow, SlaTarget, queue_rows, sla_target
from incidents.presenters.timeline import Change, TimelineEntry, timeline_entry
from incidents.presenters.wording import (
    assignee_phrase,
    compact_age,
    countdown_text,
    duration_words,
    moment_text,
    since_text,
    user_label,
)

__all__ = [
    "Change",
    "ClockView",
    "QueueRow",
    "SlaTarget",
    "StepView",
    "TimelineEntry",
    "assignee_phrase",
    "clock_label",
    "clock_views",
    "compact_age",
    "countdown_text",
    "duration_words",
    "moment_text",
    "queue_rows",
    "since_text",
    "sla_target",
    "step_user_ids",
    "timeline_entry",
    "user_label",
]
