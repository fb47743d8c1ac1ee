"""Evidence capture: hashes anyone can recompute, immutability enforced by the database, legal hold,
a zip export that verifies, refused uploads that store nothing, and who may do what."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from datetime import UTC
from typing import Any

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents.admin import EvidenceCaptureAdmin
from incidents.models import EventKind, EvidenceCapture, EvidenceItem, Mention
from incidents.services import evidence as services
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def png(width: int = 640, height: int = 480) -> bytes:
    ihdr = struct.pack(">II", width, height) + b"\x08\x06\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\x00\x00\x00\x00" + b"\x00" * 40


def jpeg(width: int = 800, height: int = 600) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def webp(width: int = 320, height: int = 200) -> bytes:
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def upload(data: bytes, name: str = "shot.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def mention() -> Mention:
    incident = IncidentFactory()
    return Mention.objects.create(
        platform="x",
        external_id="ext-1",
        url="https://x.com/someone/status/1",
        author_handle="angry_ann",
        author_name="Ann Grey",
        text="Your product burnt my kitchen, I'll sue 🔥",
        posted_at=timezone.now(),
        received_at=timezone.now(),
        sentiment="negative",
        raw={"id": "1", "lang": "en", "nested": {"b": 2, "a": 1}},
        incident=incident,
    )


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_capture_hashes_match_a_recomputation(mention: Mention, responder: Any) -> None:
    capture = services.evidence_capture(
        actor=responder, mention_id=mention.pk, note="before it is deleted", screenshots=[upload(png())]
    )

    items = list(EvidenceItem.objects.filter(capture=capture).order_by("id"))
    assert [i.name for i in items] == ["mention.json", "screenshot-1.png"]
    for item in items:
        assert item.sha256 == hashlib.sha256(bytes(item.content)).hexdigest()
        assert item.size == len(bytes(item.content))
    document = json.loads(bytes(items[0].content))
    assert document["text"] == mention.text
    assert document["author_handle"] == "angry_ann"
    assert document["url"] == mention.url
    assert document["raw"] == mention.raw
    assert (items[1].width, items[1].height, items[1].content_type) == (640, 480, "image/png")
    stored = EvidenceCapture.objects.get(pk=capture.pk)
    metadata = {
        "captured_at": stored.captured_at.astimezone(UTC).isoformat(),
        "captured_by": "riley",
        "items": sorted(i.sha256 for i in items),
        "mention_id": mention.pk,
        "note": "before it is deleted",
    }
    assert stored.sha256 == hashlib.sha256(canonical(metadata)).hexdigest()
    assert stored.captured_by == responder
    assert mention.incident is not None
    assert mention.incident.timeline.filter(kind=EventKind.EVIDENCE_CAPTURED).count() == 1


def test_jpeg_and_webp_screenshots_are_accepted_with_their_size(mention: Mention, pr_user: Any) -> None:
    capture = services.evidence_capture(
        actor=pr_user,
        mention_id=mention.pk,
        screenshots=[upload(jpeg(), "a.jpg", "image/jpeg"), upload(webp(), "b.webp", "image/webp")],
    )
    shots = {i.name: (i.width, i.height) for i in capture.items.all()}
    assert shots == {
        "mention.json": (None, None),
        "screenshot-1.jpg": (800, 600),
        "screenshot-2.webp": (320, 200),
    }


def test_the_zip_export_verifies(mention: Mention, responder: Any, legal: Any) -> None:
    capture = services.evidence_capture(actor=responder, mention_id=mention.pk, screenshots=[upload(png())])

    archive = zipfile.ZipFile(io.BytesIO(services.evidence_export(actor=legal, capture_id=capture.pk)))
    manifest = json.loads(archive.read("manifest.json"))
    assert {f["name"] for f in manifest["files"]} == {"mention.json", "screenshot-1.png"}
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
    metadata = manifest["capture"]["metadata"]
    assert metadata["items"] == sorted(f["sha256"] for f in manifest["files"])
    assert hashlib.sha256(canonical(metadata)).hexdigest() == manifest["capture"]["sha256"] == capture.sha256
    sums = archive.read("SHA256SUMS").decode().splitlines()
    assert sorted(sums) == sorted(f"{f['sha256']}  {f['name']}" for f in manifest["files"])


def test_held_evidence_cannot_be_deleted(
    mention: Mention, responder: Any, legal: Any, admin_user: Any
) -> None:
    capture = services.evidence_capture(actor=responder, mention_id=mention.pk)
    services.evidence_hold(actor=legal, capture_id=capture.pk)

    with pytest.raises(Conflict):
        services.evidence_delete(actor=admin_user, capture_id=capture.pk)
    with (
        pytest.raises(DatabaseError, match="legal hold"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM incidents_evidencecapture WHERE id = %s", [capture.pk])
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    model_admin = EvidenceCaptureAdmin(EvidenceCapture, admin.site)
    assert model_admin.has_delete_permission(request, EvidenceCapture.objects.get(pk=capture.pk)) is False
    assert EvidenceCapture.objects.filter(pk=capture.pk).exists()
    assert capture.items.count() == 1

    services.evidence_release(actor=legal, capture_id=capture.pk)
    assert model_admin.has_delete_permission(request, EvidenceCapture.objects.get(pk=capture.pk)) is True
    services.evidence_delete(actor=admin_user, capture_id=capture.pk)
    assert not EvidenceCapture.objects.filter(pk=capture.pk).exists()
    assert not EvidenceItem.objects.filter(capture_id=capture.pk).exists()
    kinds = list(mention.incident.timeline.values_list("kind", flat=True))  # type: ignore[union-attr]
    assert kinds[-3:] == [EventKind.EVIDENCE_HELD, EventKind.EVIDENCE_RELEASED, EventKind.EVIDENCE_DELETED]


def test_the_database_refuses_changes_to_evidence(mention: Mention, responder: Any) -> None:
    capture = services.evidence_capture(actor=responder, mention_id=mention.pk)
    item = capture.items.get()
    statements: list[tuple[str, list[Any]]] = [
        ("UPDATE incidents_evidenceitem SET content = %s WHERE id = %s", [b"forged", item.pk]),
        ("UPDATE incidents_evidenceitem SET sha256 = 'x' WHERE id = %s", [item.pk]),
        ("DELETE FROM incidents_evidenceitem WHERE id = %s", [item.pk]),
        ("UPDATE incidents_evidencecapture SET note = 'changed' WHERE id = %s", [capture.pk]),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)
    item.refresh_from_db()
    assert bytes(item.content) == bytes(EvidenceItem.objects.get(pk=item.pk).content)
    assert item.sha256 == hashlib.sha256(bytes(item.content)).hexdigest()


@pytest.mark.parametrize(
    ("data", "name", "content_type", "problem"),
    [
        (b"%PDF-1.4 not an image", "doc.pdf", "application/pdf", "only PNG, JPEG and WebP"),
        (b"just some text pretending\n" * 4, "fake.png", "image/png", "is not a PNG, JPEG or WebP"),
        (png()[:20], "cut.png", "image/png", "truncated PNG"),
        (jpeg()[:12], "cut.jpg", "image/jpeg", "truncated JPEG"),
        (webp()[:22], "cut.webp", "image/webp", "truncated or unsupported WebP"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    mention: Mention, responder: Any, data: bytes, name: str, content_type: str, problem: str
) -> None:
    with pytest.raises(ValidationFailed, match=problem) as refused:
        services.evidence_capture(
            actor=responder,
            mention_id=mention.pk,
            screenshots=[upload(png()), upload(data, name, content_type)],
        )
    assert "screenshots" in refused.value.fields
    assert not EvidenceCapture.objects.exists()
    assert not EvidenceItem.objects.exists()


@override_settings(FIREBREAK_EVIDENCE_MAX_BYTES=100)
def test_a_too_big_upload_is_refused_over_the_api(mention: Mention, responder: Any, api_for: Any) -> None:
    response = api_for(responder).post(
        f"/api/v1/mentions/{mention.pk}/evidence/",
        {"note": "x", "screenshots": [upload(png() + b"\x00" * 200)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "screenshots" in response.json()["error"]["fields"]
    assert "larger than the limit" in response.json()["error"]["message"]
    assert not EvidenceCapture.objects.exists()


def test_api_capture_read_hold_export_delete(
    mention: Mention, responder: Any, legal: Any, admin_user: Any, api_for: Any
) -> None:
    created = api_for(responder).post(
        f"/api/v1/mentions/{mention.pk}/evidence/",
        {"note": "screenshot of the post", "screenshots": [upload(png())]},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert len(body["sha256"]) == 64
    assert [i["name"] for i in body["items"]] == ["mention.json", "screenshot-1.png"]
    capture_id = body["id"]

    lee, ada = api_for(legal), api_for(admin_user)
    assert lee.get(f"/api/v1/evidence/{capture_id}/").json()["sha256"] == body["sha256"]
    assert lee.post(f"/api/v1/evidence/{capture_id}/hold/").json()["is_held"] is True
    assert lee.post(f"/api/v1/evidence/{capture_id}/hold/").status_code == 409
    exported = lee.get(f"/api/v1/evidence/{capture_id}/export/")
    assert exported.status_code == 200
    assert exported["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(exported.content)).testzip() is None

    refused = ada.delete(f"/api/v1/evidence/{capture_id}/")
    assert refused.status_code == 409
    assert EvidenceCapture.objects.filter(pk=capture_id).exists()
    assert lee.post(f"/api/v1/evidence/{capture_id}/release/").json()["is_held"] is False
    assert ada.delete(f"/api/v1/evidence/{capture_id}/").status_code == 204
    assert not EvidenceCapture.objects.filter(pk=capture_id).exists()


def test_permissions_refuse_and_change_nothing(
    mention: Mention, responder: Any, legal: Any, outsider: Any, spokesperson: Any, api_for: Any
) -> None:
    capture = services.evidence_capture(actor=responder, mention_id=mention.pk)
    url = f"/api/v1/evidence/{capture.pk}/"

    assert api_for(spokesperson).post(f"/api/v1/mentions/{mention.pk}/evidence/", {}).status_code == 403
    assert api_for(outsider).get(url).status_code == 403
    assert api_for(responder).get(url).status_code == 403  # capture, yes; read, no
    assert api_for(responder).post(f"{url}hold/").status_code == 403
    assert api_for(responder).get(f"{url}export/").status_code == 403
    assert api_for(legal).delete(url).status_code == 403
    with pytest.raises(PermissionRefused):
        services.evidence_hold(actor=responder, capture_id=capture.pk)
    with pytest.raises(PermissionRefused):
        services.evidence_delete(actor=legal, capture_id=capture.pk)

    assert EvidenceCapture.objects.count() == 1
    assert EvidenceCapture.objects.get().is_held is False
    assert mention.incident is not None
    assert mention.incident.timeline.filter(kind__startswith="evidence_").count() == 1


def test_the_incident_page_lists_evidence_and_captures_from_a_mention(
    mention: Mention, legal: Any, client: Any
) -> None:
    assert mention.incident is not None
    client.force_login(legal)
    response = client.post(
        f"/mentions/{mention.pk}/evidence/",
        {"note": "from the page", "screenshots": upload(png())},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content
    capture = EvidenceCapture.objects.get()
    page = client.get(f"/incidents/{mention.incident.pk}/").content.decode()
    assert "Capture evidence" in page
    assert capture.sha256 in page
    assert "Put on legal hold" in page
    assert client.get(f"/evidence/{capture.pk}/export/").status_code == 200
