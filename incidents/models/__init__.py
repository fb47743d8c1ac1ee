"""The incidents app's models, one module per subject: the core (mentions, incidents, timeline), the
response-time clocks, checklist answers, captured evidence, the notification outbox, replies with their
approvals, merges of duplicates, moderation actions, satisfaction surveys and outbound webhooks."""

from incidents.models.checklists import ChecklistAnswer
from incidents.models.clocks import (
    ACTIVE_CLOCK,
    LIVE_CLOCK,
    TARGET_CLOCK_KINDS,
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
from incidents.models.crisis import CrisisMode
from incidents.models.evidence import EvidenceCapture, EvidenceItem, EvidenceItemKind
from incidents.models.merges import UNDO_WINDOW, IncidentMerge
from incidents.models.moderation import ONCE_ONLY_ACTIONS, ModerationAction, ModerationOutcome
from incidents.models.notifications import Notification, NotificationChannel, NotificationStatus
from incidents.models.privacy import PersonalDataRequest, PersonalDataRequestKind
from incidents.models.replies import (
    EDITABLE_STATES,
    REVIEW_STATES,
    DecisionKind,
    PublishStatus,
    Reply,
    ReplyDecision,
    ReplyState,
    ReplyVersion,
)
from incidents.models.spikes import MentionBucket
from incidents.models.surveys import SatisfactionSurvey, SurveyLanguage, SurveyState
from incidents.models.webhooks import DeliveryState, WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "ACTIVE_CLOCK",
    "EDITABLE_STATES",
    "IS_OPEN",
    "LIVE_CLOCK",
    "ONCE_ONLY_ACTIONS",
    "OPEN_STATUSES",
    "OPEN_STATUS_VALUES",
    "REVIEW_STATES",
    "TARGET_CLOCK_KINDS",
    "UNDO_WINDOW",
    "URGENCY_RANK",
    "ChecklistAnswer",
    "ClockFiring",
    "ClockKind",
    "ClockStatus",
    "CrisisMode",
    "DecisionKind",
    "DeliveryState",
    "EventKind",
    "EvidenceCapture",
    "EvidenceItem",
    "EvidenceItemKind",
    "FiringKind",
    "Incident",
    "IncidentMerge",
    "IncidentStatus",
    "Mention",
    "MentionBucket",
    "ModerationAction",
    "ModerationOutcome",
    "Notification",
    "NotificationChannel",
    "NotificationStatus",
    "PersonalDataRequest",
    "PersonalDataRequestKind",
    "PublishStatus",
    "Reply",
    "ReplyDecision",
    "ReplyState",
    "ReplyVersion",
    "SatisfactionSurvey",
    "SavedView",
    "SlaClock",
    "SlaState",
    "SurveyLanguage",
    "SurveyState",
    "TimelineEvent",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
