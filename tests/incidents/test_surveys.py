"""Customer-satisfaction surveys: sending one for a resolved incident (a drafted reply in the customer's
language carrying the link), the customer's page (single use, expiry, tampering, garbage refused with
nothing stored), who may send, the timeline, the incident page's card, the API, bounded queries."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any, cast

import pytest
import time_machine
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import Conflict, PermissionRefused
from incidents.models import (
    EventKind,
    Incident,
    IncidentStatus,
    Mention,
    Reply,
    ReplyState,
    SatisfactionSurvey,
    TimelineEvent,
)
from incidents.presenters.timeline import timeline_entry
from incidents.services import replies as reply_services
from incidents.services import surveys as services
from incidents.survey_selectors import survey_language_for_incident
from incidents.survey_texts import SURVEY_TEXTS, language_from_accept
from protocols.models import SocialAccount
from tests.config.test_settings_env import run_python
from tests.factories import IncidentFactory, UserFactory
from tests.roles import ROLES

pytestmark = pytest.mark.django_db

SENDERS = {"responder", "liaison", "pr_user", "manager", "admin_user"}
EN, SV, HR = SURVEY_TEXTS["en"], SURVEY_TEXTS["sv"], SURVEY_TEXTS["hr"]


def add_mention(incident: Incident, n: int, *, language: str = "", minutes_ago: int = 60) -> Mention:
    now = timezone.now()
    return Mention.objects.create(
        platform="x",
        external_id=f"survey-{incident.pk}-{n}",
        url=f"https://x.com/ana/status/{n}",
        author_handle="ana_k",
        author_name="Ana Kovač",
        text=f"My blender broke again (message {n})",
        posted_at=now - timedelta(minutes=minutes_ago),
        received_at=now - timedelta(minutes=minutes_ago),
        language=language,
        sentiment="negative",
        incident=incident,
    )


def resolved_incident(*languages: str, status: str = IncidentStatus.RESOLVED) -> Incident:
    """An incident about Ana's blender, its mentions in the given languages (oldest first), resolved."""
    incident = cast(
        Incident,
        IncidentFactory(
            title="Blender X2 burnt out twice", status=status, resolved_at=timezone.now(), platform="x"
        ),
    )
    for n, language in enumerate(languages):
        add_mention(incident, n, language=language, minutes_ago=60 - n)
    return incident


def token_of(survey: SatisfactionSurvey) -> str:
    return services.survey_token(survey_id=survey.pk)


def page_url(token: str) -> str:
    return f"/survey/{token}/"


def answer(token: str, **data: Any) -> Any:
    return Client().post(page_url(token), data)


def stored(survey: SatisfactionSurvey) -> tuple[Any, Any, str]:
    row = SatisfactionSurvey.objects.get(pk=survey.pk)
    return row.answered_at, row.rating, row.comment


def kinds(incident: Incident) -> list[str]:
    return list(TimelineEvent.objects.filter(incident=incident).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def survey(responder: Any) -> SatisfactionSurvey:
    return services.survey_send(actor=responder, incident_id=resolved_incident("en-GB").pk)


# --- sending ---------------------------------------------------------------------------------------------


def test_sending_drafts_a_reply_in_the_customers_language_with_the_link(responder: Any) -> None:
    incident = resolved_incident("en", "sv")
    latest = Mention.objects.filter(incident=incident).order_by("-posted_at").first()

    survey = services.survey_send(actor=responder, incident_id=incident.pk)

    row = SatisfactionSurvey.objects.get(pk=survey.pk)
    assert (row.incident_id, row.created_by, row.language) == (incident.pk, responder, "sv")
    assert row.expires_at - row.created_at == timedelta(days=14)
    assert (row.answered_at, row.rating, row.comment) == (None, None, "")
    reply = Reply.objects.get(pk=row.reply_id)
    link = services.survey_url(survey_id=survey.pk)
    assert link.startswith("http://localhost:8000/survey/")
    assert reply.body == SV.invitation.format(url=link)
    assert (reply.state, reply.author, reply.mention) == (ReplyState.DRAFT, responder, latest)
    assert kinds(incident)[-2:] == [EventKind.REPLY_DRAFTED, EventKind.SURVEY_CREATED]
    event = TimelineEvent.objects.get(incident=incident, kind=EventKind.SURVEY_CREATED)
    assert (event.actor, event.after["survey_id"], event.after["reply_id"]) == (responder, row.pk, reply.pk)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED


@override_settings(FIREBREAK_SURVEY_EXPIRY_DAYS=3, FIREBREAK_BASE_URL="https://care.example.com/")
def test_expiry_and_link_follow_the_settings(responder: Any) -> None:
    survey = services.survey_send(actor=responder, incident_id=resolved_incident().pk)
    assert survey.expires_at - survey.created_at == timedelta(days=3)
    assert services.survey_url(survey_id=survey.pk) == f"https://care.example.com/survey/{token_of(survey)}/"


def test_the_invitation_is_published_like_any_reply_while_the_incident_stays_resolved(
    responder: Any,
) -> None:
    incident = resolved_incident("hr")
    survey = services.survey_send(actor=responder, incident_id=incident.pk)
    assert survey.reply_id is not None

    reply_services.reply_publish(
        actor=responder, reply_id=survey.reply_id, url="https://x.com/blenderco/status/77"
    )

    reply = Reply.objects.get(pk=survey.reply_id)
    assert (reply.state, reply.published_url) == (ReplyState.PUBLISHED, "https://x.com/blenderco/status/77")
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED
    # Any other reply still needs the incident reopened first, to draft it and to publish it.
    with pytest.raises(Conflict, match="reopen it before replying"):
        reply_services.reply_create(actor=responder, incident_id=incident.pk, body="One more thing")
    incident.status = IncidentStatus.IN_PROGRESS
    incident.save(update_fields=["status"])
    other = reply_services.reply_create(actor=responder, incident_id=incident.pk, body="One more thing")
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)
    with pytest.raises(Conflict, match="reopen it before publishing"):
        reply_services.reply_publish(actor=responder, reply_id=other.pk, url="https://x.com/b/status/78")


def test_the_adapter_sends_the_invitation_of_a_resolved_incident(
    responder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.fakes.webhook import FakeBridge

    with FakeBridge(secret="s3cret") as bridge:
        SocialAccount.objects.create(
            name="Brand on X",
            platform="x",
            publisher="webhook",
            webhook_url=bridge.url,
            webhook_secret="s3cret",
        )
        incident = resolved_incident("sv")
        survey = services.survey_send(actor=responder, incident_id=incident.pk)
        assert survey.reply_id is not None
        with django_capture_on_commit_callbacks(execute=False):
            reply_services.reply_publish(actor=responder, reply_id=survey.reply_id)

        assert reply_services.reply_publish_attempt(reply_id=survey.reply_id) == "published"
        (posted,) = bridge.posts
        assert posted["text"] == SV.invitation.format(url=services.survey_url(survey_id=survey.pk))
        assert posted["in_reply_to"] == Mention.objects.get(incident=incident).external_id
    assert Reply.objects.get(pk=survey.reply_id).state == ReplyState.PUBLISHED
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["sv"], "sv"),
        (["hr"], "hr"),
        (["sv-SE"], "sv"),
        (["en-GB"], "en"),
        (["sv", "hr"], "hr"),  # the latest mention that names a language
        (["hr", ""], "hr"),
        (["de"], "en"),  # not offered: English
        ([], "en"),
    ],
)
def test_the_language_comes_from_the_latest_mention_that_names_one(
    languages: list[str], expected: str
) -> None:
    assert survey_language_for_incident(incident_id=resolved_incident(*languages).pk) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("sv-SE,sv;q=0.9,en;q=0.8", "sv"), ("de-DE, hr;q=0.5", "hr"), ("hr;q=0, en;q=0.3", "en"), ("", "en")],
)
def test_a_page_without_a_survey_speaks_the_browsers_language(header: str, expected: str) -> None:
    assert language_from_accept(header) == expected


def test_a_closed_incident_may_be_surveyed(manager: Any) -> None:
    incident = resolved_incident("sv", status=IncidentStatus.CLOSED)
    assert services.survey_send(actor=manager, incident_id=incident.pk).language == "sv"


@pytest.mark.parametrize("role", ROLES)
def test_who_may_send_a_survey(role: str, request: pytest.FixtureRequest, api_for: Any) -> None:
    user = request.getfixturevalue(role)
    incident = resolved_incident("en")

    response = api_for(user).post(f"/api/v1/incidents/{incident.pk}/surveys/")

    if role in SENDERS:
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["state"], body["language"], body["rating"], body["created_by"]) == (
            "waiting",
            "en",
            None,
            user.username,
        )
        assert body["url"] == services.survey_url(survey_id=body["id"])
        assert Reply.objects.get(pk=body["reply_id"]).incident_id == incident.pk
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert not SatisfactionSurvey.objects.exists()
        assert not Reply.objects.exists()
        with pytest.raises(PermissionRefused):
            services.survey_send(actor=user, incident_id=incident.pk)


@pytest.mark.parametrize(
    "status",
    [
        IncidentStatus.NEW,
        IncidentStatus.TRIAGED,
        IncidentStatus.IN_PROGRESS,
        IncidentStatus.WAITING_ON_CUSTOMER,
    ],
)
def test_an_unresolved_incident_gets_no_survey(status: str, responder: Any, api_for: Any) -> None:
    incident = resolved_incident("sv", status=status)
    before = kinds(incident)

    response = api_for(responder).post(f"/api/v1/incidents/{incident.pk}/surveys/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "once it is resolved" in response.json()["error"]["message"]
    assert not SatisfactionSurvey.objects.exists()
    assert not Reply.objects.exists()
    assert kinds(incident) == before


def test_a_merged_duplicate_gets_no_survey(responder: Any) -> None:
    survivor = resolved_incident()
    duplicate = resolved_incident(status=IncidentStatus.CLOSED)
    Incident.objects.filter(pk=duplicate.pk).update(merged_into=survivor, merged_at=timezone.now())

    with pytest.raises(Conflict, match=f"merged into #{survivor.pk}"):
        services.survey_send(actor=responder, incident_id=duplicate.pk)
    assert not SatisfactionSurvey.objects.exists()


def test_an_unknown_incident_is_not_found(responder: Any, api_for: Any) -> None:
    client = api_for(responder)
    assert client.post("/api/v1/incidents/999999/surveys/").status_code == 404
    assert client.get("/api/v1/incidents/999999/surveys/").json()["error"]["code"] == "not_found"


# --- the customer's page ---------------------------------------------------------------------------------


@override_settings(FIREBREAK_BRAND_NAME="Acme Home")
def test_the_page_is_a_phone_friendly_form_showing_nothing_of_the_team(
    survey: SatisfactionSurvey, responder: Any
) -> None:
    response = Client().get(page_url(token_of(survey)))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert EN.heading in html and "Acme Home" in html
    for value, label in enumerate(EN.rating_labels, start=1):
        assert (
            f'<input class="scale-input" type="radio" name="rating" id="rating-{value}" value="{value}"'
            in html
        )
        assert f'<label class="scale-option scale-{value}" for="rating-{value}">' in html
        assert label in html
    assert 'maxlength="2000"' in html
    # Nothing of the incident or the team, and no way into the app.
    incident = survey.incident
    for secret in (incident.title, "ana_k", "Ana Kovač", "blender", responder.username, f"#{incident.pk}"):
        assert secret.lower() not in html.lower(), secret
    assert "<a " not in html and "<script" not in html
    assert re.findall(r'href="([^"]+)"', html) == [
        "/static/firebreak/app.css",
        "/static/incidents/survey.css",
    ]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Language"] == "en"
    assert not response.cookies  # the customer's browser keeps nothing
    # Opening the link (or a chat app's link preview fetching it) answers nothing.
    assert Client().get(page_url(token_of(survey))).status_code == 200
    assert stored(survey) == (None, None, "")


@pytest.mark.parametrize(("language", "texts"), [("sv", SV), ("hr", HR), ("", EN)])
def test_the_page_and_its_answers_are_in_the_customers_language(
    language: str, texts: Any, responder: Any
) -> None:
    survey = services.survey_send(actor=responder, incident_id=resolved_incident(language).pk)
    token = token_of(survey)
    expected = language or "en"

    form = Client().get(page_url(token)).content.decode()
    refused = answer(token, rating="9").content.decode()
    thanks = answer(token, rating="5").content.decode()
    again = Client().get(page_url(token)).content.decode()

    assert f'<html lang="{expected}">' in form
    assert texts.heading in form and texts.submit in form and texts.rating_labels[4] in form
    assert texts.error_rating in refused
    assert texts.thanks_title in thanks
    assert texts.answered_body in again


def test_a_token_answers_once_and_the_first_answer_stays(survey: SatisfactionSurvey) -> None:
    token = token_of(survey)

    first = answer(token, rating="4", comment="  Quick and kind, thanks!  ")
    second = answer(token, rating="1", comment="Changed my mind")

    assert first.status_code == 200 and EN.thanks_title in first.content.decode()
    assert second.status_code == 409 and EN.answered_body in second.content.decode()
    answered_at, rating, comment = stored(survey)
    assert (rating, comment) == (4, "Quick and kind, thanks!")
    assert answered_at is not None
    later = Client().get(page_url(token))
    assert later.status_code == 200 and EN.answered_title in later.content.decode()
    assert "<form" not in later.content.decode()
    assert stored(survey) == (answered_at, 4, "Quick and kind, thanks!")
    assert kinds(survey.incident).count(EventKind.SURVEY_ANSWERED) == 1
    with pytest.raises(Conflict) as refused:
        services.survey_answer(survey_id=survey.pk, rating=2, comment="")
    assert refused.value.code == "survey_answered"
    assert stored(survey) == (answered_at, 4, "Quick and kind, thanks!")


@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_store_exactly_one(responder: Any) -> None:
    survey = services.survey_send(actor=responder, incident_id=resolved_incident().pk)
    barrier = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def rate(n: int) -> None:
        try:
            barrier.wait()
            services.survey_answer(survey_id=survey.pk, rating=1 + n % 5, comment=f"thread {n}")
            outcomes[n] = "stored"
        except Conflict as refused:
            outcomes[n] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, outcome in outcomes.items() if outcome == "stored"]
    assert len(winners) == 1, outcomes
    assert sorted(outcomes.values()).count("survey_answered") == 7
    _, rating, comment = stored(survey)
    assert (rating, comment) == (1 + winners[0] % 5, f"thread {winners[0]}")
    assert TimelineEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED).count() == 1


def test_an_expired_link_is_refused_politely(survey: SatisfactionSurvey) -> None:
    token = token_of(survey)
    with time_machine.travel(survey.expires_at - timedelta(seconds=1)):
        assert Client().get(page_url(token)).status_code == 200
    with time_machine.travel(survey.expires_at + timedelta(seconds=1)):
        shown = Client().get(page_url(token))
        posted = answer(token, rating="5", comment="late")
        with pytest.raises(Conflict) as refused:
            services.survey_answer(survey_id=survey.pk, rating=5, comment="")

    assert shown.status_code == 410 and posted.status_code == 410
    assert EN.expired_title in shown.content.decode() and EN.expired_body in posted.content.decode()
    assert "<form" not in posted.content.decode()
    assert refused.value.code == "survey_expired"
    assert stored(survey) == (None, None, "")
    assert EventKind.SURVEY_ANSWERED not in kinds(survey.incident)


def test_an_answer_just_before_expiry_counts(survey: SatisfactionSurvey) -> None:
    with time_machine.travel(survey.expires_at - timedelta(seconds=5)):
        assert answer(token_of(survey), rating="3").status_code == 200
    assert stored(survey)[1] == 3


def _tampered(token: str) -> list[str]:
    value, signature = token.rsplit(":", 1)
    flipped = "A" if signature[-1] != "A" else "B"
    return [
        f"{value}:{signature[:-1]}{flipped}",  # one character of the signature changed
        f"{'Mg' if value != 'Mg' else 'Mw'}:{signature}",  # another survey's id under this signature
        value,  # the signature cut off
        f"{value}:",
        signing.Signer(salt="another.salt").sign_object(int(signing.b64_decode(value.encode()))),
        signing.dumps(int(signing.b64_decode(value.encode()))),  # signed by the app, but not as a survey
        signing.Signer(salt=services.TOKEN_SALT).sign_object("1"),  # a survey token, but not an id
        "not-a-token",
        "x" * 500,
    ]


def test_a_tampered_token_finds_nothing_and_stores_nothing(survey: SatisfactionSurvey) -> None:
    tokens = _tampered(token_of(survey))
    # A genuine signature of a survey that does not exist (deleted, or never made) finds nothing too.
    missing = signing.Signer(salt=services.TOKEN_SALT).sign_object(survey.pk + 1000)
    assert [services.survey_id_from_token(token=t) for t in tokens] == [None] * len(tokens)
    for token in [*tokens, missing]:
        shown = Client().get(page_url(token), HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9")
        posted = answer(token, rating="5", comment="forged")
        assert shown.status_code == 404, token
        assert posted.status_code == 404, token
        assert SV.missing_title in shown.content.decode()
        assert '<html lang="sv">' in shown.content.decode()
    assert stored(survey) == (None, None, "")
    assert not SatisfactionSurvey.objects.filter(answered_at__isnull=False).exists()
    assert services.survey_id_from_token(token=token_of(survey)) == survey.pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, EN.error_rating),
        ({"comment": "Lovely"}, EN.error_rating),
        ({"rating": "0"}, EN.error_rating),
        ({"rating": "6"}, EN.error_rating),
        ({"rating": "abc"}, EN.error_rating),
        ({"rating": "4.5"}, EN.error_rating),
        ({"rating": "-1"}, EN.error_rating),
        ({"rating": ""}, EN.error_rating),
        ({"rating": "3", "comment": "x" * 2001}, EN.error_comment),
        ({"rating": "3", "comment": "nul \x00 byte"}, EN.error_comment),
    ],
)
def test_garbage_is_refused_with_a_message_and_nothing_stored(
    data: dict[str, str], message: str, survey: SatisfactionSurvey
) -> None:
    token = token_of(survey)

    response = answer(token, **data)

    assert response.status_code == 400
    html = response.content.decode()
    assert EN.error_title in html and message in html
    assert '<form class="survey-form"' in html  # the form again, to correct
    assert stored(survey) == (None, None, "")
    assert EventKind.SURVEY_ANSWERED not in kinds(survey.incident)
    assert answer(token, rating="2").status_code == 200  # the link still works


@pytest.mark.parametrize(
    ("meanwhile", "status", "text"),
    [
        ("answered", 409, EN.answered_body),
        ("expired", 410, EN.expired_body),
        ("deleted", 404, EN.missing_body),
    ],
)
def test_a_change_between_reading_and_answering_is_refused_politely(
    meanwhile: str, status: int, text: str, survey: SatisfactionSurvey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.views import survey_page

    as_read = SatisfactionSurvey.objects.get(pk=survey.pk)  # what the page read: still waiting
    monkeypatch.setattr(survey_page, "survey_for_customer", lambda survey_id: as_read)
    rows = SatisfactionSurvey.objects.filter(pk=survey.pk)
    if meanwhile == "answered":
        services.survey_answer(survey_id=survey.pk, rating=1, comment="first")
    elif meanwhile == "expired":
        rows.update(created_at=timezone.now() - timedelta(days=15), expires_at=timezone.now())
    else:
        rows.delete()

    response = answer(token_of(survey), rating="5", comment="second")

    assert response.status_code == status and text in response.content.decode()
    assert not SatisfactionSurvey.objects.filter(rating=5).exists()


def test_a_refused_answer_keeps_what_was_typed(survey: SatisfactionSurvey) -> None:
    html = answer(token_of(survey), rating="4", comment="y" * 2001).content.decode()
    assert 'id="rating-4" value="4" required checked' in html
    assert "y" * 2001 in html


def test_a_comment_of_2000_characters_with_line_breaks_fits(survey: SatisfactionSurvey) -> None:
    comment = ("a" * 99 + "\r\n") * 20  # what a browser sends for 2,000 characters in the box
    assert answer(token_of(survey), rating="5", comment=comment).status_code == 200
    assert stored(survey)[2] == (("a" * 99 + "\n") * 20).strip()


def test_answering_is_on_the_incidents_timeline_as_the_customer(survey: SatisfactionSurvey) -> None:
    answer(token_of(survey), rating="2", comment="Took a week to hear back.")

    event = TimelineEvent.objects.get(incident_id=survey.incident_id, kind=EventKind.SURVEY_ANSWERED)
    assert (event.actor, event.actor_label) == (None, "customer")
    assert event.after == {"survey_id": survey.pk, "rating": 2}
    assert event.note == "Took a week to hear back."
    lines = {c.label: c.after for c in timeline_entry(event, {}).changes}
    assert lines == {"Survey": f"#{survey.pk}", "Rating": "2 of 5"}
    sent = timeline_entry(TimelineEvent.objects.get(kind=EventKind.SURVEY_CREATED), {})
    assert [c.label for c in sent.changes] == ["Survey", "Language", "Link works until"]
    assert sent.reply_id == survey.reply_id


def test_the_page_reads_one_row(survey: SatisfactionSurvey, django_assert_max_num_queries: Any) -> None:
    token = token_of(survey)
    client = Client()
    with django_assert_max_num_queries(1):
        assert client.get(page_url(token)).status_code == 200
    with django_assert_max_num_queries(1):
        assert client.post(page_url(token), {"rating": "abc"}).status_code == 400
    # read, then the compare-and-set, the row again and the timeline event (in a savepoint)
    with django_assert_max_num_queries(6):
        assert client.post(page_url(token), {"rating": "5", "comment": "Great"}).status_code == 200
    with django_assert_max_num_queries(1):
        assert client.post(page_url(token), {"rating": "1"}).status_code == 409
    with django_assert_max_num_queries(0):
        assert client.get(page_url("tampered:token")).status_code == 404


def test_the_page_only_answers_get_and_post(survey: SatisfactionSurvey) -> None:
    assert Client().put(page_url(token_of(survey))).status_code == 405
    assert Client().delete(page_url(token_of(survey))).status_code == 405


# --- the team's side: the incident page and the API --------------------------------------------------------


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_incident_page_offers_a_survey_once_resolved(responder: Any, legal: Any) -> None:
    incident = resolved_incident("sv")
    page = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Customer satisfaction" in page
    assert 'id="survey-send"' in page and "Drafts a reply in Swedish" in page
    assert "No survey sent yet." in page
    # Legal reads ratings but does not send surveys.
    theirs = signed_in(legal).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Customer satisfaction" in theirs and 'id="survey-send"' not in theirs
    # An open incident has no card yet (only where it will appear).
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.IN_PROGRESS)
    open_page = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Customer satisfaction" not in open_page and '<div id="surveys" hidden' in open_page


def test_sending_from_the_incident_page_shows_the_draft_and_the_survey(responder: Any) -> None:
    incident = resolved_incident("hr")
    client = signed_in(responder)

    response = client.post(
        f"/incidents/{incident.pk}/surveys/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="incident-panel"
    )

    assert response.status_code == 200
    survey = SatisfactionSurvey.objects.get(incident=incident)
    html = response.content.decode()
    assert f"Survey #{survey.pk} drafted as reply #{survey.reply_id}" in html
    assert '<section id="surveys"' in html and 'hx-swap-oob="true"' in html
    assert f'id="reply-{survey.reply_id}"' in html and "autofocus" in html
    assert services.survey_url(survey_id=survey.pk) in html
    assert "Waiting for the customer" in html and "in Croatian" in html
    # Without htmx: back to the page, at the draft.
    plain = client.post(f"/incidents/{incident.pk}/surveys/")
    newest = SatisfactionSurvey.objects.filter(incident=incident).order_by("-id").first()
    assert newest is not None and newest.pk != survey.pk
    assert plain.status_code == 302
    assert plain["Location"] == f"/incidents/{incident.pk}/#reply-{newest.reply_id}"


def test_sending_from_the_page_is_refused_where_it_must_be(responder: Any, legal: Any) -> None:
    incident = resolved_incident(status=IncidentStatus.IN_PROGRESS)
    refused = signed_in(responder).post(f"/incidents/{incident.pk}/surveys/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 409 and "once it is resolved" in refused.content.decode()
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)
    assert signed_in(legal).post(f"/incidents/{incident.pk}/surveys/").status_code == 403
    assert Client().post(f"/incidents/{incident.pk}/surveys/").status_code == 302  # to sign in
    assert not SatisfactionSurvey.objects.exists()


def test_ratings_show_on_the_incident_page(responder: Any) -> None:
    incident = resolved_incident()
    waiting = services.survey_send(actor=responder, incident_id=incident.pk)
    answered = services.survey_send(actor=responder, incident_id=incident.pk)
    expired = services.survey_send(actor=responder, incident_id=incident.pk)
    SatisfactionSurvey.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=20), expires_at=timezone.now() - timedelta(days=6)
    )
    answer(token_of(answered), rating="4", comment="Sorted <b>fast</b>")

    page = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    card = page[page.index('<section id="surveys"') : page.index('<section id="timeline"')]
    assert card.count('class="survey-item"') == 3
    assert "4 of 5" in card and "Satisfied" in card
    assert "Sorted &lt;b&gt;fast&lt;/b&gt;" in card
    for survey, state in ((waiting, "Waiting for the customer"), (expired, "Expired unanswered")):
        item = card[card.index(f'id="survey-{survey.pk}"') :]
        assert state in item[: item.index("</li>")]
    assert "Satisfaction survey answered" in page  # the timeline


def test_the_incident_page_reads_surveys_in_one_query(responder: Any) -> None:
    incident = resolved_incident("sv")
    client = signed_in(responder)

    def count() -> int:
        client.get(f"/incidents/{incident.pk}/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/incidents/{incident.pk}/").status_code == 200
        return len(queries)

    services.survey_send(actor=responder, incident_id=incident.pk)
    one = count()
    for _ in range(4):
        survey = services.survey_send(actor=responder, incident_id=incident.pk)
        answer(token_of(survey), rating="5", comment="ok")
    assert count() == one
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/incidents/{incident.pk}/")
    survey_queries = [q for q in queries.captured_queries if "incidents_satisfactionsurvey" in q["sql"]]
    assert len(survey_queries) == 1


def test_the_api_lists_surveys_with_their_answers(responder: Any, integration: Any, api_for: Any) -> None:
    incident = resolved_incident("sv")
    first = services.survey_send(actor=responder, incident_id=incident.pk)
    second = services.survey_send(actor=responder, incident_id=incident.pk)
    answer(token_of(first), rating="5", comment="Tack!")

    response = api_for(integration).get(f"/api/v1/incidents/{incident.pk}/surveys/")

    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [second.pk, first.pk]
    assert {k: rows[1][k] for k in ("state", "rating", "comment", "language", "incident_id")} == {
        "state": "answered",
        "rating": 5,
        "comment": "Tack!",
        "language": "sv",
        "incident_id": incident.pk,
    }
    assert rows[0]["state"] == "waiting" and rows[0]["answered_at"] is None
    assert rows[1]["answered_at"] is not None and rows[1]["reply_id"] == first.reply_id
    with time_machine.travel(second.expires_at + timedelta(minutes=1)):
        later = api_for(integration).get(f"/api/v1/incidents/{incident.pk}/surveys/").json()
    assert [r["state"] for r in later] == ["expired", "answered"]


def test_the_api_refuses_readers_without_a_role(outsider: Any, api_for: Any) -> None:
    incident = resolved_incident()
    assert api_for(outsider).get(f"/api/v1/incidents/{incident.pk}/surveys/").status_code == 403
    assert APIClient().get(f"/api/v1/incidents/{incident.pk}/surveys/").status_code == 401


def test_the_schema_documents_the_survey_endpoints(responder: Any) -> None:
    client = APIClient()
    client.force_login(responder)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    operations = paths["/api/v1/incidents/{id}/surveys/"]
    assert set(operations["get"]["responses"]) == {"200", "401", "403", "404"}
    assert set(operations["post"]["responses"]) == {"201", "401", "403", "404", "409"}


# --- the database and the settings hold the rules too -------------------------------------------------------


def test_the_database_refuses_a_rating_outside_1_to_5(survey: SatisfactionSurvey) -> None:
    for bad in ({"rating": 6, "answered_at": timezone.now()}, {"rating": 3}, {"answered_at": timezone.now()}):
        with pytest.raises(IntegrityError), transaction.atomic():
            SatisfactionSurvey.objects.filter(pk=survey.pk).update(**bad)
    assert stored(survey) == (None, None, "")


READ_EXPIRY = "from django.conf import settings; print(settings.FIREBREAK_SURVEY_EXPIRY_DAYS)"


def test_the_expiry_setting_is_read_from_the_environment() -> None:
    result = run_python(
        READ_EXPIRY, DJANGO_SETTINGS_MODULE="config.settings.base", FIREBREAK_SURVEY_EXPIRY_DAYS="30"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30"
    default = run_python(READ_EXPIRY, DJANGO_SETTINGS_MODULE="config.settings.base")
    assert default.stdout.strip() == "14"


@pytest.mark.parametrize("raw", ["0", "-2", "two weeks"])
def test_a_bad_expiry_setting_stops_the_start(raw: str) -> None:
    result = run_python(
        READ_EXPIRY, DJANGO_SETTINGS_MODULE="config.settings.base", FIREBREAK_SURVEY_EXPIRY_DAYS=raw
    )
    assert result.returncode != 0
    assert "FIREBREAK_SURVEY_EXPIRY_DAYS" in result.stderr


def test_a_signed_in_teammate_sees_only_the_customers_page(survey: SatisfactionSurvey) -> None:
    teammate = signed_in(UserFactory(username="nosy", roles=["manager"]))
    page = teammate.get(page_url(token_of(survey))).content.decode()
    assert EN.heading in page
    assert "Log out" not in page and "nosy" not in page and "Queue" not in page
