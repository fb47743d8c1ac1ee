"""A customer's personal data on request: the export holds everything about their handle and nothing
of anyone else's; erasure replaces what identifies them with a pseudonym everywhere it appears, keeps
the figures, deletes their evidence, keeps what is on legal hold and says so; only legal and admins
may do either, and the record of a request does not name the customer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.utils import DatabaseError
from django.test import Client
from django.utils import timezone

from config.errors import NotFound, PermissionRefused
from incidents.models import (
    EvidenceCapture,
    Incident,
    Mention,
    PersonalDataRequest,
    SatisfactionSurvey,
    TimelineEvent,
)
from incidents.services.evidence import evidence_capture, evidence_hold
from incidents.services.ingestion import mentions_ingest
from incidents.services.privacy import ERASED_TEXT, customer_data_erase, customer_data_export
from tests.factories import mention_payload

pytestmark = pytest.mark.django_db


def ingest(*payloads: dict[str, Any]) -> list[Mention]:
    results = mentions_ingest(items=list(payloads), actor=None, actor_label="test")
    return [Mention.objects.get(pk=r.mention_id) for r in results]


@pytest.fixture
def customer() -> list[Mention]:
    """Ana wrote twice (one thread), Bo once; a survey Ana answered with a comment."""
    mentions = ingest(
        mention_payload(1, author_handle="ana_k", author_name="Ana K", text="Blender broke, @brand help"),
        mention_payload(2, author_handle="Ana_K", text="Still waiting, day 3", raw={"user": {"id": 77}}),
        mention_payload(3, author_handle="bo", text="Mine works fine"),
    )
    ana = [m for m in mentions if m.author_handle.lower() == "ana_k"]
    SatisfactionSurvey.objects.create(
        incident_id=ana[0].incident_id,
        created_at=timezone.now(),
        expires_at=timezone.now(),
        answered_at=timezone.now(),
        rating=2,
        comment="Ana here, still annoyed",
    )
    return ana


def test_the_export_holds_all_of_theirs_and_none_of_anyone_elses(customer: list[Mention], legal: Any) -> None:
    document = customer_data_export(actor=legal, platform="x", handle="@ANA_K")
    assert {m["text"] for m in document["mentions"]} == {"Blender broke, @brand help", "Still waiting, day 3"}
    assert document["mentions"][1]["raw"] == {"user": {"id": 77}}
    assert "Mine works fine" not in str(document)
    assert document["incidents"][0]["id"] == customer[0].incident_id
    assert document["survey_answers"][0]["comment"] == "Ana here, still annoyed"
    request = PersonalDataRequest.objects.get()
    assert request.kind == "export" and "ana" not in str(vars(request)).lower()  # by hash, not by name


def test_erasure_replaces_them_everywhere_and_keeps_the_figures(
    customer: list[Mention], admin_user: Any
) -> None:
    from reporting.metrics import ReportQuery, report_compute

    incident = Incident.objects.get(pk=customer[0].incident_id)
    assert incident.title.startswith("@ana_k on X:")
    capture = evidence_capture(actor=admin_user, mention_id=customer[1].pk)
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    query = ReportQuery(start=day - timedelta(days=400), end=day + timedelta(days=1))
    before = report_compute(query=query, user=admin_user, now=now)

    erasure = customer_data_erase(actor=admin_user, platform="x", handle="ana_k", reason="Email of 3 Dec")

    pseudonym = erasure.request.pseudonym
    assert pseudonym.startswith("erased-") and erasure.kept_reason == ""
    for mention in Mention.objects.filter(pk__in=[m.pk for m in customer]):
        assert (mention.author_handle, mention.author_name, mention.text, mention.url, mention.raw) == (
            pseudonym,
            "",
            ERASED_TEXT,
            "",
            {},
        )
        assert mention.sentiment and mention.posted_at  # what the statistics need stays
    incident.refresh_from_db()
    assert incident.title == f"@{pseudonym} on X: {ERASED_TEXT}"
    notes = " ".join(TimelineEvent.objects.filter(incident=incident).values_list("note", flat=True))
    assert "ana_k" not in notes.lower() and f"@{pseudonym}" in notes
    assert SatisfactionSurvey.objects.get(incident=incident).comment == ""
    assert not EvidenceCapture.objects.filter(pk=capture.pk).exists()
    assert Mention.objects.get(author_handle="bo").text == "Mine works fine"  # someone else's stays
    # Nothing left to find by their handle; the figures are the same.
    assert Incident.objects.filter(search_vector="ana_k").count() == 0
    with pytest.raises(NotFound):
        customer_data_erase(actor=admin_user, platform="x", handle="ana_k", reason="again")
    after = report_compute(query=query, user=admin_user, now=now)
    assert after.incidents == before.incidents and after.mentions == before.mentions
    assert after.mentions_by == before.mentions_by
    assert TimelineEvent.objects.filter(incident=incident, kind="personal_data_erased").count() == 1


def test_what_is_on_legal_hold_is_kept_and_the_answer_says_so(
    customer: list[Mention], admin_user: Any
) -> None:
    held = evidence_capture(actor=admin_user, mention_id=customer[0].pk)
    evidence_hold(actor=admin_user, capture_id=held.pk)
    erasure = customer_data_erase(actor=admin_user, platform="x", handle="ana_k", reason="Email of 3 Dec")
    assert erasure.request.mentions_kept_on_hold == 1 and "legal hold" in erasure.kept_reason
    kept = Mention.objects.get(pk=customer[0].pk)
    assert kept.text == "Blender broke, @brand help" and EvidenceCapture.objects.filter(pk=held.pk).exists()
    # The incident of the held mention reads as it did: the evidence must still read true.
    assert Incident.objects.get(pk=kept.incident_id).title.startswith("@ana_k on X:")


def test_the_timeline_stays_append_only_outside_an_erasure(customer: list[Mention]) -> None:
    event = TimelineEvent.objects.filter(incident_id=customer[0].incident_id).first()
    assert event is not None
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_timelineevent SET note = 'x' WHERE id = %s", [event.pk])


@pytest.mark.parametrize("who", ["responder", "manager", "pr_user", "integration"])
def test_only_legal_and_admins_handle_personal_data(
    customer: list[Mention], who: str, request: pytest.FixtureRequest, api_for: Any
) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionRefused):
        customer_data_export(actor=user, platform="x", handle="ana_k")
    api = api_for(user)
    body = {"platform": "x", "handle": "ana_k", "reason": "x"}
    assert api.post("/api/v1/personal-data/export/", body, format="json").status_code == 403
    assert api.post("/api/v1/personal-data/erase/", body, format="json").status_code == 403
    page = Client()
    page.force_login(user)
    assert page.get("/privacy/").status_code == 403
    assert Mention.objects.get(pk=customer[0].pk).text == "Blender broke, @brand help"


def test_the_api_exports_and_erases_with_clear_errors(
    customer: list[Mention], legal: Any, api_for: Any
) -> None:
    api = api_for(legal)
    exported = api.post("/api/v1/personal-data/export/", {"platform": "x", "handle": "ana_k"}, format="json")
    assert exported.status_code == 200 and len(exported.json()["mentions"]) == 2
    missing = api.post("/api/v1/personal-data/erase/", {"platform": "x", "handle": "ana_k"}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    unknown = api.post(
        "/api/v1/personal-data/erase/", {"platform": "x", "handle": "nobody", "reason": "r"}, format="json"
    )
    assert unknown.status_code == 404
    erased = api.post(
        "/api/v1/personal-data/erase/", {"platform": "x", "handle": "ana_k", "reason": "r"}, format="json"
    )
    assert erased.status_code == 200 and erased.json()["mentions_erased"] == 2


def test_the_page_downloads_the_export_and_erases_after_confirmation(
    customer: list[Mention], legal: Any
) -> None:
    page = Client()
    page.force_login(legal)
    assert "Customers' personal data" in page.get("/privacy/").content.decode()
    download = page.post("/privacy/export/", {"export-platform": "x", "export-handle": "ana_k"})
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    unconfirmed = page.post(
        "/privacy/erase/", {"erase-platform": "x", "erase-handle": "ana_k", "erase-reason": "Email of 3 Dec"}
    )
    assert unconfirmed.status_code == 400
    assert Mention.objects.get(pk=customer[0].pk).text != ERASED_TEXT
    done = page.post(
        "/privacy/erase/",
        {
            "erase-platform": "x",
            "erase-handle": "ana_k",
            "erase-reason": "Email of 3 Dec",
            "erase-confirm": "on",
        },
    )
    assert done.status_code == 200 and 'id="erasure-result"' in done.content.decode()
    assert Mention.objects.get(pk=customer[0].pk).text == ERASED_TEXT
