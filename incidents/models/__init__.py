"""The incidents app's models, one module per subject: the core (mentions, incidents, timeline), the
response-time clocks and the notification outbox."""

from incidents.models.clocks import (
    ACTIVE_CLOCK,
    LIVE_CLOCK,
    ClockFiring,
    ClockKind,
    ClockStatus,
    FiringKind,
    SlaClock,
)
from incidents.models.core import (
    IS_OPEN,
    OPEN_STATUS_VALUES,
    OPEN_STATUSES,
    URGENCY_RANK,
    EventKind,
    Incident,
    IncidentStatus,
    Mention,
    SavedView,
    SlaState,
    TimelineEvent,
)
from incidents.models.notifications import Notification, NotificationChannel, NotificationStatus

__all__ = [
    "ACTIVE_CLOCK",
    "IS_OPEN",
    "LIVE_CLOCK",
    "OPEN_STATUSES",
    "OPEN_STATUS_VALUES",
    "URGENCY_RANK",
    "ClockFiring",
    "ClockKind",
    "ClockStatus",
    "EventKind",
    "FiringKind",
    "Incident",
    "IncidentStatus",
    "Mention",
    "Notification",
    "NotificationChannel",
    "NotificationStatus",
    "SavedView",
    "SlaClock",
    "SlaState",
    "TimelineEvent",
]
