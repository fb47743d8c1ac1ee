"""Evidence captured from a mention: an immutable copy of what was posted (plus optional screenshots),
each item hashed and the whole capture hashed, so it can be shown later that nothing was altered.

A database trigger (migration "evidence") refuses UPDATE and DELETE of items, and any UPDATE of a
capture other than toggling its legal hold; it also refuses DELETE of a capture on hold.

How the hashes are made (a third party can recompute them from an export):

- Each item's ``sha256`` is the SHA-256 (hex, lowercase) of its bytes, exactly as exported. The mention
  item is ``mention.json``: the mention's platform, external_id, url, author_handle, author_name, text,
  posted_at, received_at (ISO 8601) and raw payload, as canonical JSON (see below).
- The capture's ``sha256`` is the SHA-256 of the canonical JSON of the object
  ``{"captured_at": <ISO 8601 UTC>, "captured_by": <username>, "items": <the item hashes, sorted>,
  "mention_id": <int>, "note": <text>}`` - the same values the export's ``manifest.json`` lists.
- Canonical JSON: keys sorted, separators ``,`` and ``:`` without spaces, non-ASCII characters kept
  as-is, encoded as UTF-8 (Python: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False).encode()``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.core import Incident, Mention


class EvidenceCapture(models.Model):
    mention = models.ForeignKey(Mention, on_delete=models.PROTECT, related_name="evidence")
    # Copied from the mention when captured; the evidence list of an incident reads it.
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    note = models.TextField(blank=True)
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    # The username as it read when captured: part of the hashed metadata, so it never changes.
    captured_by_label = models.CharField(max_length=150)
    captured_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)
    # The only columns the trigger lets change: the legal hold and who last toggled it when.
    is_held = models.BooleanField(default=False)
    hold_changed_at = models.DateTimeField(null=True, blank=True)
    hold_changed_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["captured_at", "id"]

    def __str__(self) -> str:
        return f"Evidence #{self.pk} of mention {self.mention_id}"


class EvidenceItemKind(models.TextChoices):
    MENTION = "mention", "Mention"
    SCREENSHOT = "screenshot", "Screenshot"


class EvidenceItem(models.Model):
    # DO_NOTHING: items go with their capture only through evidence_delete (the trigger checks).
    capture = models.ForeignKey(EvidenceCapture, on_delete=models.DO_NOTHING, related_name="items")
    kind = models.CharField(max_length=12, choices=EvidenceItemKind.choices)
    name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()

    class Meta:
        ordering = ["capture", "id"]
        constraints = [
            models.UniqueConstraint(fields=["capture", "name"], name="evidence_item_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
