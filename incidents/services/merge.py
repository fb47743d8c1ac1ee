"""Merging a duplicate incident into the one that survives, and undoing that within a day. Both are
compare-and-sets on the incidents' status: if either changed meanwhile, nothing is written (409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.models import (
    UNDO_WINDOW,
    ClockKind,
    ClockStatus,
    EventKind,
    Incident,
    IncidentMerge,
    IncidentStatus,
    Mention,
    Reply,
    SlaClock,
)
from incidents.services import clocks
from incidents.services.timeline import timeline_append
from incidents.services.webhooks import incident_updated_emit

# The duplicate's own targets end with it; the survivor's first response and resolution take the earlier
# start of the two (the customer of the duplicate has been waiting since then).
STOPPED_KINDS = (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE, ClockKind.RESOLUTION)
EARLIEST_START_KINDS = (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION)
LIVE = (ClockStatus.RUNNING, ClockStatus.PAUSED)
CONFLICT = "The incidents were changed by someone else; reload and try again."


def _require(actor: Any) -> None:
    if not policies.can(user=actor, action="incident.merge"):
        raise PermissionRefused("Your role does not allow merging incidents.")


def _get(incident_id: int) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"Incident #{incident_id} not found.")
    return incident


def _cas(incident_id: int, expected: dict[str, Any], changes: dict[str, Any]) -> None:
    if Incident.objects.filter(pk=incident_id, **expected).update(**changes) != 1:
        raise Conflict(CONFLICT)


def _recount(incident_ids: list[int]) -> None:
    """Mention count and latest mention of each incident, from the mentions it holds now."""
    for incident_id in incident_ids:
        totals = Mention.objects.filter(incident_id=incident_id).aggregate(
            n=Count("id"), last=Max("posted_at")
        )
        Incident.objects.filter(pk=incident_id).update(
            mention_count=totals["n"], last_mention_at=totals["last"]
        )


def _reply_clock_ids(incident_id: int, reply_ids: list[int]) -> list[int]:
    """The live approval-step clocks of these replies (named `reply:<id>:...`)."""
    prefixes = tuple(f"reply:{reply_id}:" for reply_id in reply_ids)
    rows = SlaClock.objects.filter(
        incident_id=incident_id, kind=ClockKind.APPROVAL_STEP, status__in=LIVE
    ).values_list("pk", "reference")
    return [pk for pk, reference in rows if reference.startswith(prefixes)]


def _incident_starts(incident_id: int) -> dict[str, datetime]:
    rows = SlaClock.objects.filter(
        incident_id=incident_id, kind__in=EARLIEST_START_KINDS, status__in=LIVE, reference=""
    ).values_list("kind", "started_at")
    return dict(rows)


@transaction.atomic
def incident_merge(*, actor: Any, source_id: int, target_id: int) -> IncidentMerge:
    """Moves the mentions and replies of `source` into `target`, closes `source` as merged into it,
    stops its targets and lets the survivor's clocks count from the earlier start."""
    _require(actor)
    if source_id == target_id:
        raise ValidationFailed(
            "into: An incident cannot be merged into itself.", fields={"into": ["Itself."]}
        )
    source, target = _get(source_id), _get(target_id)
    if source.status == IncidentStatus.CLOSED:
        raise Conflict(f"#{source.pk} is closed; only an incident still being handled can be merged.")
    if target.merged_into_id is not None:
        raise Conflict(f"#{target.pk} was itself merged into #{target.merged_into_id}; merge into that one.")
    if target.status == IncidentStatus.CLOSED:
        raise Conflict(f"#{target.pk} is closed; merge into an incident still being handled.")
    now = timezone.now()
    # Both compare-and-sets in id order, so two opposite merges queue instead of deadlocking.
    for incident in sorted((source, target), key=lambda i: i.pk):
        if incident is source:
            _cas(
                source.pk,
                {"status": source.status, "merged_into__isnull": True},
                {
                    "status": IncidentStatus.CLOSED,
                    "closed_at": now,
                    "merged_into": target,
                    "merged_at": now,
                    "updated_at": now,
                },
            )
        else:
            _cas(target.pk, {"status": target.status, "merged_into__isnull": True}, {"updated_at": now})

    mention_ids = sorted(Mention.objects.filter(incident_id=source.pk).values_list("pk", flat=True))
    reply_ids = sorted(Reply.objects.filter(incident_id=source.pk).values_list("pk", flat=True))
    Mention.objects.filter(pk__in=mention_ids).update(incident_id=target.pk)
    Reply.objects.filter(pk__in=reply_ids).update(incident_id=target.pk)
    _recount([source.pk, target.pk])

    moved_clock_ids = _reply_clock_ids(source.pk, reply_ids)
    clocks.clocks_move(clock_ids=moved_clock_ids, to_incident_id=target.pk, now=now)
    source_starts = _incident_starts(source.pk)
    stopped = list(
        SlaClock.objects.filter(incident_id=source.pk, kind__in=STOPPED_KINDS, status__in=LIVE).values_list(
            "pk", "status"
        )
    )
    clocks.clocks_stop(incident_id=source.pk, kinds=STOPPED_KINDS, now=now)
    earlier = [
        change
        for kind, started_at in sorted(source_starts.items())
        if (
            change := clocks.clocks_start_earlier(
                incident_id=target.pk, kind=kind, started_at=started_at, now=now
            )
        )
    ]
    clocks.incident_sla_sync(incident_ids=[source.pk, target.pk])

    merge = IncidentMerge.objects.create(
        source=source,
        target=target,
        actor=actor,
        merged_at=now,
        mention_ids=mention_ids,
        reply_ids=reply_ids,
        source_previous_status=source.status,
        clock_changes={"stopped": stopped, "moved": moved_clock_ids, "earlier": earlier},
    )
    moved = {"merge_id": merge.pk, "mentions": len(mention_ids), "replies": len(reply_ids)}
    timeline_append(
        incident_id=source.pk,
        kind=EventKind.MERGED_INTO,
        actor=actor,
        before={"status": source.status},
        after={
            "status": IncidentStatus.CLOSED,
            "merged_into": target.pk,
            "other_incident": target.pk,
            **moved,
        },
        note=f"Merged into #{target.pk}",
    )
    timeline_append(
        incident_id=target.pk,
        kind=EventKind.MERGED_FROM,
        actor=actor,
        after={
            "merged_from": source.pk,
            "other_incident": source.pk,
            **moved,
            "deadlines": {
                c["kind"]: {"before": c["due_at_before"], "after": c["due_at_after"]} for c in earlier
            },
        },
        note=f"#{source.pk} merged in as a duplicate",
    )
    incident_updated_emit(
        incident_id=source.pk,
        before={"status": source.status, "merged_into_id": None},
        after={"status": IncidentStatus.CLOSED, "merged_into_id": target.pk},
    )
    return merge


def merge_is_undoable(*, merge: IncidentMerge, now: datetime) -> bool:
    return merge.undone_at is None and now - merge.merged_at <= UNDO_WINDOW


@transaction.atomic
def incident_merge_undo(*, actor: Any, merge_id: int) -> IncidentMerge:
    """Puts back exactly what the merge moved, reopens the duplicate in the status it had and restarts
    its clocks from their original start (the time merged counts); the survivor's clocks count from their
    own start again."""
    _require(actor)
    merge = IncidentMerge.objects.filter(pk=merge_id).first()
    if merge is None:
        raise NotFound("Merge not found.")
    now = timezone.now()
    if merge.undone_at is not None:
        raise Conflict("This merge was already undone.")
    if not merge_is_undoable(merge=merge, now=now):
        raise Conflict("Too late: a merge can be undone only within a day.")
    if (
        IncidentMerge.objects.filter(pk=merge.pk, undone_at__isnull=True).update(
            undone_at=now, undone_by=actor
        )
        != 1
    ):
        raise Conflict("This merge was already undone.")
    source_changes = {
        "status": merge.source_previous_status,
        "closed_at": None,
        "merged_into": None,
        "merged_at": None,
        "updated_at": now,
    }
    for incident_id in sorted((merge.source_id, merge.target_id)):
        if incident_id == merge.source_id:
            expected = {"status": IncidentStatus.CLOSED, "merged_into_id": merge.target_id}
            _cas(merge.source_id, expected, source_changes)
        else:
            # A survivor merged on into a third incident must be taken back from there first.
            _cas(merge.target_id, {"merged_into__isnull": True}, {"updated_at": now})

    mentions = Mention.objects.filter(pk__in=merge.mention_ids, incident_id=merge.target_id)
    replies = Reply.objects.filter(pk__in=merge.reply_ids, incident_id=merge.target_id)
    moved_back = {
        "mentions": mentions.update(incident_id=merge.source_id),
        "replies": replies.update(incident_id=merge.source_id),
    }
    _recount([merge.source_id, merge.target_id])

    changes = merge.clock_changes or {}
    for change in changes.get("earlier", []):
        clocks.clocks_restore_start(
            clock_id=change["clock_id"],
            started_at=datetime.fromisoformat(change["started_at"]),
            added_seconds=change["added_seconds"],
            now=now,
        )
    clocks.clocks_move(clock_ids=changes.get("moved", []), to_incident_id=merge.source_id, now=now)
    clocks.clocks_revive(
        clock_states=[(pk, status) for pk, status in changes.get("stopped", [])],
        stopped_at=merge.merged_at,
        now=now,
    )
    clocks.incident_sla_sync(incident_ids=[merge.source_id, merge.target_id])

    undone = {"merge_id": merge.pk, **moved_back}
    timeline_append(
        incident_id=merge.source_id,
        kind=EventKind.MERGE_UNDONE,
        actor=actor,
        before={"status": IncidentStatus.CLOSED},
        after={
            "status": merge.source_previous_status,
            "merged_into": None,
            "other_incident": merge.target_id,
            **undone,
        },
        note=f"No longer merged into #{merge.target_id}",
    )
    timeline_append(
        incident_id=merge.target_id,
        kind=EventKind.MERGE_UNDONE,
        actor=actor,
        after={"merged_from": merge.source_id, "other_incident": merge.source_id, **undone},
        note=f"#{merge.source_id} taken back out",
    )
    incident_updated_emit(
        incident_id=merge.source_id,
        before={"status": IncidentStatus.CLOSED, "merged_into_id": merge.target_id},
        after={"status": merge.source_previous_status, "merged_into_id": None},
    )
    merge.refresh_from_db()
    return merge
