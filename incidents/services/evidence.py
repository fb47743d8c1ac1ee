"""Capturing evidence from a mention, putting it on legal hold and releasing it, deleting what is not
held, and exporting a capture as a zip that a third party can verify with `sha256sum`."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from incidents import policies
from incidents.evidence_images import ALLOWED_CONTENT_TYPES, NotAnImage, image_inspect
from incidents.models import EventKind, EvidenceCapture, EvidenceItem, EvidenceItemKind, Mention
from incidents.services.timeline import actor_label_of, timeline_append

MANIFEST_NAME = "manifest.json"
CHECKSUMS_NAME = "SHA256SUMS"


def canonical_json(value: Any) -> bytes:
    """The byte form every evidence hash is taken over (recipe in incidents/models/evidence.py)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def capture_metadata(
    *, mention_id: int, captured_by: str, captured_at: datetime, note: str, item_hashes: Sequence[str]
) -> dict[str, Any]:
    return {
        "captured_at": captured_at.astimezone(UTC).isoformat(),
        "captured_by": captured_by,
        "items": sorted(item_hashes),
        "mention_id": mention_id,
        "note": note,
    }


def _require(actor: Any, action: str) -> None:
    if not policies.can(user=actor, action=action):
        raise PermissionRefused("Your role does not allow this action.")


def _mention_document(mention: Mention) -> dict[str, Any]:
    return {
        "platform": mention.platform,
        "external_id": mention.external_id,
        "url": mention.url,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "text": mention.text,
        "posted_at": mention.posted_at.astimezone(UTC).isoformat(),
        "received_at": mention.received_at.astimezone(UTC).isoformat(),
        "raw": mention.raw,
    }


def _screenshot_items(screenshots: Sequence[UploadedFile]) -> list[EvidenceItem]:
    """Every upload is checked before anything is stored; the first bad one refuses the capture."""
    limit = settings.FIREBREAK_EVIDENCE_MAX_BYTES
    items: list[EvidenceItem] = []
    for number, upload in enumerate(screenshots, start=1):
        label = f"Screenshot {number} ({upload.name or 'unnamed'})"
        problem = ""
        declared = (upload.content_type or "").split(";")[0].strip().lower()
        if declared not in ALLOWED_CONTENT_TYPES:
            problem = f"{label}: only PNG, JPEG and WebP images are accepted, not {declared or 'unknown'}."
        elif (upload.size or 0) > limit:
            problem = f"{label}: is larger than the limit of {limit} bytes."
        if not problem:
            data = upload.read()
            try:
                info = image_inspect(data)
            except NotAnImage as exc:
                problem = f"{label}: {exc}"
        if problem:
            raise ValidationFailed(f"screenshots: {problem}", fields={"screenshots": [problem]})
        items.append(
            EvidenceItem(
                kind=EvidenceItemKind.SCREENSHOT,
                name=f"screenshot-{number}.{info.extension}",
                content_type=info.content_type,
                size=len(data),
                width=info.width,
                height=info.height,
                sha256=sha256_hex(data),
                content=data,
            )
        )
    return items


@transaction.atomic
def evidence_capture(
    *, actor: Any, mention_id: int, note: str = "", screenshots: Sequence[UploadedFile] = ()
) -> EvidenceCapture:
    _require(actor, "evidence.capture")
    mention = Mention.objects.filter(pk=mention_id).first()
    if mention is None:
        raise NotFound("Mention not found.")
    screenshot_items = _screenshot_items(screenshots)
    document = canonical_json(_mention_document(mention))
    items = [
        EvidenceItem(
            kind=EvidenceItemKind.MENTION,
            name="mention.json",
            content_type="application/json",
            size=len(document),
            sha256=sha256_hex(document),
            content=document,
        ),
        *screenshot_items,
    ]
    captured_at = timezone.now()
    captured_by = actor.get_username()
    note = note.strip()
    metadata = capture_metadata(
        mention_id=mention.pk,
        captured_by=captured_by,
        captured_at=captured_at,
        note=note,
        item_hashes=[item.sha256 for item in items],
    )
    capture = EvidenceCapture.objects.create(
        mention=mention,
        incident_id=mention.incident_id,
        note=note,
        captured_by=actor,
        captured_by_label=captured_by,
        captured_at=captured_at,
        sha256=sha256_hex(canonical_json(metadata)),
    )
    for item in items:
        item.capture = capture
    EvidenceItem.objects.bulk_create(items)
    if mention.incident_id is not None:
        timeline_append(
            incident_id=mention.incident_id,
            kind=EventKind.EVIDENCE_CAPTURED,
            actor=actor,
            after={"capture_id": capture.pk, "mention_id": mention.pk, "sha256": capture.sha256},
            note=note,
        )
    return capture


def _set_hold(*, actor: Any, capture_id: int, is_held: bool) -> EvidenceCapture:
    _require(actor, "evidence.hold")
    capture = EvidenceCapture.objects.filter(pk=capture_id).first()
    if capture is None:
        raise NotFound("Evidence not found.")
    changes = {
        "is_held": is_held,
        "hold_changed_at": timezone.now(),
        "hold_changed_by_label": actor_label_of(actor),
    }
    if EvidenceCapture.objects.filter(pk=capture_id, is_held=not is_held).update(**changes) != 1:
        state = "already on legal hold" if is_held else "not on legal hold"
        raise Conflict(f"The evidence is {state}; nothing changed.")
    for name, value in changes.items():
        setattr(capture, name, value)
    if capture.incident_id is not None:
        timeline_append(
            incident_id=capture.incident_id,
            kind=EventKind.EVIDENCE_HELD if is_held else EventKind.EVIDENCE_RELEASED,
            actor=actor,
            before={"capture_id": capture.pk, "is_held": not is_held},
            after={"capture_id": capture.pk, "is_held": is_held},
        )
    return capture


@transaction.atomic
def evidence_hold(*, actor: Any, capture_id: int) -> EvidenceCapture:
    return _set_hold(actor=actor, capture_id=capture_id, is_held=True)


@transaction.atomic
def evidence_release(*, actor: Any, capture_id: int) -> EvidenceCapture:
    return _set_hold(actor=actor, capture_id=capture_id, is_held=False)


@transaction.atomic
def evidence_delete(*, actor: Any, capture_id: int) -> None:
    """The capture row goes first (the trigger refuses it while held); the items' trigger then lets
    them go, since their capture no longer exists (the foreign key is checked at commit)."""
    _require(actor, "evidence.delete")
    capture = EvidenceCapture.objects.select_for_update().filter(pk=capture_id).first()
    if capture is None:
        raise NotFound("Evidence not found.")
    if capture.is_held:
        raise Conflict("The evidence is on legal hold and cannot be deleted.")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM incidents_evidencecapture WHERE id = %s AND NOT is_held", [capture.pk])
        cursor.execute("DELETE FROM incidents_evidenceitem WHERE capture_id = %s", [capture.pk])
    if capture.incident_id is not None:
        timeline_append(
            incident_id=capture.incident_id,
            kind=EventKind.EVIDENCE_DELETED,
            actor=actor,
            before={"capture_id": capture.pk, "mention_id": capture.mention_id, "sha256": capture.sha256},
        )


def evidence_delete_unheld(*, mention_ids: Sequence[int]) -> int:
    """Deletes every capture of these mentions that is not on legal hold, with its items, for a
    customer's erasure (the caller checks who may): a moderation action keeps its record, without
    the capture. Returns how many captures went."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM incidents_evidencecapture WHERE mention_id = ANY(%s) AND NOT is_held FOR UPDATE",
            [list(mention_ids)],
        )
        capture_ids = [pk for (pk,) in cursor.fetchall()]
        if not capture_ids:
            return 0
        cursor.execute(
            "UPDATE incidents_moderationaction SET evidence_id = NULL WHERE evidence_id = ANY(%s)",
            [capture_ids],
        )
        cursor.execute(
            "DELETE FROM incidents_evidencecapture WHERE id = ANY(%s) AND NOT is_held", [capture_ids]
        )
        cursor.execute("DELETE FROM incidents_evidenceitem WHERE capture_id = ANY(%s)", [capture_ids])
    return len(capture_ids)


def evidence_export(*, actor: Any, capture_id: int) -> bytes:
    """A zip of the items as files, `manifest.json` (each file's name and SHA-256, the capture's
    metadata and hash) and `SHA256SUMS` for `sha256sum -c`."""
    _require(actor, "evidence.view")
    capture = EvidenceCapture.objects.filter(pk=capture_id).first()
    if capture is None:
        raise NotFound("Evidence not found.")
    items = list(capture.items.all())
    metadata = capture_metadata(
        mention_id=capture.mention_id,
        captured_by=capture.captured_by_label,
        captured_at=capture.captured_at,
        note=capture.note,
        item_hashes=[item.sha256 for item in items],
    )
    manifest = {
        "capture": {"id": capture.pk, "sha256": capture.sha256, "metadata": metadata},
        "files": [
            {"name": i.name, "sha256": i.sha256, "size": i.size, "content_type": i.content_type}
            for i in items
        ],
        "recipe": (
            "Each file's sha256 is SHA-256 of its bytes. The capture's sha256 is SHA-256 of "
            "capture.metadata as canonical JSON: keys sorted, separators ',' and ':' without spaces, "
            "non-ASCII kept, UTF-8."
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            archive.writestr(item.name, bytes(item.content))
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr(CHECKSUMS_NAME, "".join(f"{i.sha256}  {i.name}\n" for i in items))
    return buffer.getvalue()
