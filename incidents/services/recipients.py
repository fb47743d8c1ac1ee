"""Who a message goes to: people and roles turned into notification drafts (in-app, email, chat
webhooks) for many messages at once, in at most three queries whatever their number."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q

from incidents.models import Notification, NotificationChannel
from protocols.models import RoleAssignment, WebhookEndpoint

IN_APP, EMAIL, WEBHOOK = NotificationChannel.IN_APP, NotificationChannel.EMAIL, NotificationChannel.WEBHOOK
_DEDUPE_KEY_MAX = Notification._meta.get_field("dedupe_key").max_length or 200


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    """One message to one person or chat channel, not stored yet. The dedupe key makes enqueueing the
    same draft twice (a retried sweep, a re-run task) store it once."""

    recipient_id: int | None
    channel: str
    endpoint_id: int | None
    incident_id: int | None
    kind: str
    subject: str
    body: str
    link: str
    dedupe_key: str

    def __post_init__(self) -> None:
        if self.channel not in NotificationChannel.values:
            raise ValueError(f"Unknown notification channel {self.channel!r}.")
        if self.channel == WEBHOOK and self.endpoint_id is None:
            raise ValueError("A webhook notification needs an endpoint.")
        if self.channel != WEBHOOK and self.recipient_id is None:
            raise ValueError("An in-app or email notification needs a recipient.")
        if not self.dedupe_key or len(self.dedupe_key) > _DEDUPE_KEY_MAX:
            raise ValueError(f"A dedupe key must have 1 to {_DEDUPE_KEY_MAX} characters.")


def dedupe_key_for(key: str, suffix: str) -> str:
    full = f"{key}:{suffix}"
    if len(full) <= _DEDUPE_KEY_MAX:
        return full
    # A key too long for the column keeps its uniqueness through its hash; the suffix stays readable.
    return f"{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()}:{suffix}"


@dataclass
class Message:
    """One thing to tell: to these users and to the on-duty members (and chat channels) of these roles.
    `key` names the occurrence (e.g. the firing); each recipient and channel gets it once."""

    key: str
    kind: str
    subject: str
    body: str = ""
    link: str = ""
    incident_id: int | None = None
    user_ids: Sequence[int] = ()
    roles: Sequence[str] = ()
    exclude_user_ids: Sequence[int] = field(default_factory=tuple)


@dataclass(frozen=True)
class Digest:
    """How a flood of messages to one audience reads as one: a headline and a link to the list."""

    headline: str
    link: str


DIGEST_LISTED = 20  # incidents named in a digest's text; the link shows them all


def messages_coalesce(
    messages: Sequence[Message], *, after: int, digests: dict[str, Digest]
) -> list[Message]:
    """More than `after` messages of one kind to the same audience (from one sweep: a storm after an
    outage, a wave of deadlines) become one digest message naming them, so nobody receives hundreds of
    near-identical emails and the outbox does not grow by recipients x messages. Kinds without a digest
    wording, and smaller groups, pass through unchanged. The digest's key is derived from the keys it
    replaces, so the same batch coalesces to the same digest (and is stored once)."""
    if after < 1 or len(messages) <= after:
        return list(messages)
    groups: dict[tuple[str, tuple[int, ...], tuple[str, ...]], list[Message]] = defaultdict(list)
    for message in messages:
        groups[(message.kind, tuple(sorted(message.user_ids)), tuple(sorted(message.roles)))].append(message)
    result: list[Message] = []
    for (kind, user_ids, roles), group in groups.items():
        digest = digests.get(kind)
        if digest is None or len(group) <= after:
            result.extend(group)
            continue
        keys = hashlib.sha1(
            "\n".join(sorted(m.key for m in group)).encode(), usedforsecurity=False
        ).hexdigest()
        listed = [m.subject for m in group[:DIGEST_LISTED]]
        more = len(group) - len(listed)
        result.append(
            Message(
                key=f"digest:{kind}:{keys}",
                kind=kind,
                subject=f"{len(group)} {digest.headline}",
                body="\n".join(listed) + (f"\n… and {more} more." if more else ""),
                link=digest.link,
                user_ids=user_ids,
                roles=roles,
            )
        )
    return result


def drafts_for(messages: Sequence[Message]) -> list[NotificationDraft]:
    """Each message to each recipient: in-app always, email when the user has an address, and every
    active webhook of the user; a role's own webhooks get the message once per role."""
    if not messages:
        return []
    roles = {role for m in messages for role in m.roles}
    members: dict[str, list[int]] = defaultdict(list)
    if roles:
        for user_id, role in RoleAssignment.objects.filter(
            role__in=roles, is_on_duty=True, user__is_active=True
        ).values_list("user_id", "role"):
            members[role].append(user_id)
    recipients_of = {
        id(m): sorted(
            (set(m.user_ids) | {u for role in m.roles for u in members.get(role, [])})
            - set(m.exclude_user_ids)
        )
        for m in messages
    }
    user_ids = {u for ids in recipients_of.values() for u in ids}
    User = get_user_model()
    emails = dict(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", "email"))
    user_hooks: dict[int, list[int]] = defaultdict(list)
    role_hooks: dict[str, list[int]] = defaultdict(list)
    if user_ids or roles:
        hooks = WebhookEndpoint.objects.filter(is_active=True).filter(
            Q(user_id__in=user_ids) | Q(role__in=roles)
        )
        for endpoint_id, user_id, role in hooks.values_list("pk", "user_id", "role"):
            if user_id is not None:
                user_hooks[user_id].append(endpoint_id)
            else:
                role_hooks[role].append(endpoint_id)

    drafts: list[NotificationDraft] = []
    for message in messages:

        def draft(
            recipient: int | None, channel: str, endpoint: int | None, suffix: str, m: Message = message
        ) -> None:
            drafts.append(
                NotificationDraft(
                    recipient_id=recipient,
                    channel=channel,
                    endpoint_id=endpoint,
                    incident_id=m.incident_id,
                    kind=m.kind,
                    subject=m.subject[:200],
                    body=m.body,
                    link=m.link,
                    dedupe_key=dedupe_key_for(m.key, suffix),
                )
            )

        for user_id in recipients_of[id(message)]:
            if user_id not in emails:
                continue  # deactivated
            draft(user_id, IN_APP, None, f"u{user_id}:{IN_APP}")
            if emails[user_id]:
                draft(user_id, EMAIL, None, f"u{user_id}:{EMAIL}")
            for endpoint_id in user_hooks.get(user_id, []):
                draft(user_id, WEBHOOK, endpoint_id, f"u{user_id}:{WEBHOOK}:e{endpoint_id}")
        for role in message.roles:
            for endpoint_id in role_hooks.get(role, []):
                draft(None, WEBHOOK, endpoint_id, f"r{role}:{WEBHOOK}:e{endpoint_id}")
    return drafts


def notification_drafts_for_users(
    *,
    user_ids: Iterable[int],
    kind: str,
    subject: str,
    body: str,
    link: str,
    incident_id: int | None,
    key: str,
) -> list[NotificationDraft]:
    """For each active user: in-app, email when they have an address, and each of their chat webhooks."""
    message = Message(
        key=key,
        kind=kind,
        subject=subject,
        body=body,
        link=link,
        incident_id=incident_id,
        user_ids=list(user_ids),
    )
    return drafts_for([message])


def notification_drafts_for_role(
    *,
    role: str,
    kind: str,
    subject: str,
    body: str,
    link: str,
    incident_id: int | None,
    key: str,
) -> list[NotificationDraft]:
    """The drafts of every active on-duty member of the role, plus one per chat webhook of the role."""
    message = Message(
        key=key, kind=kind, subject=subject, body=body, link=link, incident_id=incident_id, roles=[role]
    )
    return drafts_for([message])
