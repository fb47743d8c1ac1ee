"""The "Identify the problem" checklist: questions only on high-priority and crisis categories, answers
checked by kind, who and when kept, every change on the timeline, the role check, the API and the page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents.checklist_selectors import incident_checklist
from incidents.models import ChecklistAnswer, EventKind, TimelineEvent
from incidents.presenters import timeline_entry
from incidents.services.checklists import incident_checklist_answer
from protocols.models import AnswerKind, ChecklistQuestion, Tier
from protocols.services import (
    checklist_question_create,
    checklist_question_delete,
    checklist_question_update,
    seed_identify_problem_questions,
)
from tests.factories import CategoryFactory, IncidentFactory

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def crisis(db: Any) -> Any:
    category: Any = CategoryFactory(name="PR crisis", slug="pr-crisis", tier=Tier.CRISIS)
    seed_identify_problem_questions(category=category)
    return category


@pytest.fixture
def incident(crisis: Any) -> Any:
    return IncidentFactory(title="Driver shouted at a customer", category=crisis)


def tiered(slug: str, tier: str) -> Any:
    return CategoryFactory(name=slug.capitalize(), slug=slug, tier=tier)


def question(category: Any, kind: str) -> Any:
    return ChecklistQuestion.objects.filter(category=category, answer_kind=kind).order_by("position").first()


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- questions ----------------------------------------------------------------------------------------


def test_the_seed_gives_the_six_questions_once(crisis: Any) -> None:
    questions = list(ChecklistQuestion.objects.filter(category=crisis))
    assert [q.text for q in questions] == [
        "Was a mistake made?",
        "Who was involved?",
        "What exactly went wrong?",
        "When did it happen?",
        "Is anyone at fault?",
        "How much damage was done?",
    ]
    assert questions[1].choices == ["Employee", "Contractor", "Someone else", "Nobody"]
    assert seed_identify_problem_questions(category=crisis) == []
    assert ChecklistQuestion.objects.filter(category=crisis).count() == 6


def test_only_high_priority_and_crisis_categories_ask_questions(admin_user: Any, category: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        checklist_question_create(
            actor=admin_user, category=category, text="Was a mistake made?", answer_kind=AnswerKind.YES_NO
        )
    assert "category" in refused.value.fields
    assert not ChecklistQuestion.objects.exists()
    routine = IncidentFactory(category=category)
    assert incident_checklist(incident_id=routine.pk, category=category) is None
    high = tiered("influencer", Tier.HIGH_PRIORITY)
    created = checklist_question_create(
        actor=admin_user, category=high, text="Which channel?", answer_kind="choice", choices=["X", "TikTok"]
    )
    assert created.position == 1 and created.is_required


def test_admins_manage_questions_and_a_choice_question_needs_choices(admin_user: Any, responder: Any) -> None:
    high = tiered("influencer", Tier.HIGH_PRIORITY)
    with pytest.raises(PermissionRefused):
        checklist_question_create(actor=responder, category=high, text="Who?", answer_kind="text")
    with pytest.raises(ValidationFailed) as refused:
        checklist_question_create(actor=admin_user, category=high, text="Who?", answer_kind="choice")
    assert "choices" in refused.value.fields
    q = checklist_question_create(actor=admin_user, category=high, text="Who?", answer_kind="text")
    checklist_question_update(actor=admin_user, question_id=q.pk, changes={"is_required": False})
    q.refresh_from_db()
    assert not q.is_required
    checklist_question_delete(actor=admin_user, question_id=q.pk)
    assert not ChecklistQuestion.objects.exists()


def test_an_answered_question_cannot_be_deleted_only_retired(
    admin_user: Any, responder: Any, incident: Any, crisis: Any
) -> None:
    q = question(crisis, AnswerKind.TEXT)
    incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value="Rude driver")
    with pytest.raises(Conflict):
        checklist_question_delete(actor=admin_user, question_id=q.pk)
    checklist_question_update(actor=admin_user, question_id=q.pk, changes={"is_active": False})
    checklist = incident_checklist(incident_id=incident.pk, category=crisis)
    assert checklist is not None and q.pk not in [item.question.pk for item in checklist.items]


# --- answering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        (AnswerKind.YES_NO, True, True),
        (AnswerKind.YES_NO, "no", False),
        (AnswerKind.CHOICE, "Contractor", "Contractor"),
        (AnswerKind.TEXT, "  The driver swore at her.  ", "The driver swore at her."),
        (AnswerKind.DATETIME, "2026-03-02T09:30:00+00:00", "2026-03-02T09:30:00+00:00"),
        (AnswerKind.NUMBER, "1250.50", 1250.5),
        (AnswerKind.NUMBER, 3, 3),
    ],
)
def test_each_kind_takes_a_fitting_answer(
    responder: Any, incident: Any, admin_user: Any, kind: str, given: Any, stored: Any
) -> None:
    q = question(incident.category, kind)
    if q is None:
        q = checklist_question_create(
            actor=admin_user, category=incident.category, text="How many?", answer_kind=kind
        )
    answer = incident_checklist_answer(
        actor=responder, incident_id=incident.pk, question_id=q.pk, value=given
    )
    answer.refresh_from_db()
    assert answer.value == stored


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (AnswerKind.YES_NO, "maybe"),
        (AnswerKind.YES_NO, 1.5),
        (AnswerKind.CHOICE, "The cat"),
        (AnswerKind.TEXT, "   "),
        (AnswerKind.TEXT, 42),
        (AnswerKind.DATETIME, "last Tuesday"),
        (AnswerKind.NUMBER, "a lot"),
        (AnswerKind.NUMBER, True),
        (AnswerKind.CHOICE, None),
    ],
)
def test_an_answer_that_does_not_fit_is_refused_and_nothing_stored(
    responder: Any, incident: Any, admin_user: Any, kind: str, given: Any
) -> None:
    q = question(incident.category, kind)
    if q is None:
        q = checklist_question_create(
            actor=admin_user, category=incident.category, text="How many?", answer_kind=kind
        )
    with pytest.raises(ValidationFailed) as refused:
        incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value=given)
    assert list(refused.value.fields) == ["value"]
    assert not ChecklistAnswer.objects.exists()
    assert not TimelineEvent.objects.filter(kind=EventKind.ANSWERED).exists()


def test_who_answered_and_when_is_kept(responder: Any, incident: Any, crisis: Any) -> None:
    with time_machine.travel(WHEN, tick=False):
        incident_checklist_answer(
            actor=responder, incident_id=incident.pk, question_id=question(crisis, "yes_no").pk, value=True
        )
    answer = ChecklistAnswer.objects.get()
    assert answer.answered_by == responder and answer.answered_at == WHEN


def test_changing_an_answer_records_before_and_after_on_the_timeline(
    responder: Any, manager: Any, incident: Any, crisis: Any
) -> None:
    q = question(crisis, AnswerKind.CHOICE)  # who was involved
    incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value="Employee")
    incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value="Employee")
    incident_checklist_answer(actor=manager, incident_id=incident.pk, question_id=q.pk, value="Contractor")
    answer = ChecklistAnswer.objects.get()
    assert answer.value == "Contractor" and answer.answered_by == manager
    events = list(TimelineEvent.objects.filter(incident=incident, kind=EventKind.ANSWERED))
    assert len(events) == 2  # the same answer again changes nothing
    assert events[0].before == {} and events[0].after["answer"] == "Employee"
    assert events[1].before["answer"] == "Employee" and events[1].after["answer"] == "Contractor"
    change = timeline_entry(events[1], {}).changes[0]
    assert (change.label, change.before, change.after) == ("Who was involved?", "Employee", "Contractor")


def test_a_change_loses_to_one_that_came_first(responder: Any, incident: Any, crisis: Any) -> None:
    q = question(crisis, AnswerKind.TEXT)
    incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value="First")
    real_filter = ChecklistAnswer.objects.filter

    def read_then_someone_else_writes(*args: Any, **kwargs: Any) -> Any:
        if "incident" not in kwargs:
            return real_filter(*args, **kwargs)
        read: Any = real_filter(*args, **kwargs).first()  # the service has read "First" ...
        real_filter(pk=read.pk).update(value="Changed meanwhile")  # ... when another change lands
        return mock.Mock(first=mock.Mock(return_value=read))

    patched = mock.patch.object(ChecklistAnswer.objects, "filter", side_effect=read_then_someone_else_writes)
    with patched, pytest.raises(Conflict):
        incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=q.pk, value="Mine")
    # Refused whole: the service's transaction (which here also held the other change) wrote nothing.
    assert ChecklistAnswer.objects.get().value == "First"
    assert TimelineEvent.objects.filter(kind=EventKind.ANSWERED).count() == 1


def test_roles_without_identify_are_refused_and_nothing_is_stored(
    spokesperson: Any, liaison: Any, pr_user: Any, legal: Any, incident: Any, crisis: Any
) -> None:
    q = question(crisis, AnswerKind.YES_NO)
    for user in (spokesperson, liaison):
        with pytest.raises(PermissionRefused):
            incident_checklist_answer(actor=user, incident_id=incident.pk, question_id=q.pk, value=True)
    assert not ChecklistAnswer.objects.exists()
    for user in (pr_user, legal):
        incident_checklist_answer(actor=user, incident_id=incident.pk, question_id=q.pk, value=True)


def test_a_question_of_another_category_is_a_conflict(responder: Any, incident: Any, admin_user: Any) -> None:
    other = tiered("influencer", Tier.HIGH_PRIORITY)
    foreign = checklist_question_create(actor=admin_user, category=other, text="Reach?", answer_kind="number")
    with pytest.raises(Conflict):
        incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=foreign.pk, value=5)
    assert not ChecklistAnswer.objects.exists()


def test_the_checklist_counts_required_answers_in_two_queries(
    responder: Any, incident: Any, crisis: Any
) -> None:
    for kind, value in (("yes_no", "yes"), ("text", "Swore"), ("datetime", "2026-03-02T09:30")):
        incident_checklist_answer(
            actor=responder, incident_id=incident.pk, question_id=question(crisis, kind).pk, value=value
        )
    with CaptureQueriesContext(connection) as queries:
        checklist = incident_checklist(incident_id=incident.pk, category=crisis)
        assert checklist is not None
        names = [str(item.answer.answered_by) for item in checklist.items if item.answer]
    assert len(queries) <= 2
    assert names == ["riley"] * 3
    assert (checklist.answered_count, checklist.required_count, checklist.is_complete) == (3, 6, False)


# --- API ----------------------------------------------------------------------------------------------


def test_api_reads_and_answers_the_checklist(
    api_for: Any, responder: Any, incident: Any, crisis: Any
) -> None:
    api: APIClient = api_for(responder)
    url = f"/api/v1/incidents/{incident.pk}/checklist/"
    body = api.get(url).json()
    assert body["applies"] is True and (body["answered_count"], body["required_count"]) == (0, 6)
    first = body["questions"][0]
    assert set(first) == {"id", "position", "text", "answer_kind", "choices", "is_required", "answer"}
    assert first["answer"] is None
    who = question(crisis, AnswerKind.CHOICE)
    answered = api.post(url, {"question": who.pk, "value": "Nobody"}, format="json")
    assert answered.status_code == 200
    row = next(q for q in answered.json()["questions"] if q["id"] == who.pk)
    assert row["answer"]["value"] == "Nobody" and row["answer"]["answered_by"]["username"] == "riley"
    assert answered.json()["answered_count"] == 1


def test_api_refusals(
    api_for: Any,
    responder: Any,
    spokesperson: Any,
    outsider: Any,
    incident: Any,
    crisis: Any,
    admin_user: Any,
) -> None:
    url = f"/api/v1/incidents/{incident.pk}/checklist/"
    when = question(crisis, AnswerKind.DATETIME)
    wrong = api_for(responder).post(url, {"question": when.pk, "value": 12}, format="json")
    assert wrong.status_code == 400 and "value" in wrong.json()["error"]["fields"]
    refused = api_for(spokesperson).post(
        url, {"question": when.pk, "value": "2026-03-02T09:30"}, format="json"
    )
    assert refused.status_code == 403
    assert api_for(outsider).get(url).status_code == 403
    other = tiered("influencer", Tier.HIGH_PRIORITY)
    foreign = checklist_question_create(actor=admin_user, category=other, text="Reach?", answer_kind="number")
    missing = api_for(responder).post(url, {"question": foreign.pk, "value": 5}, format="json")
    assert missing.status_code == 409
    assert not ChecklistAnswer.objects.exists()
    routine = IncidentFactory(category=tiered("routine", Tier.ROUTINE))
    assert api_for(responder).get(f"/api/v1/incidents/{routine.pk}/checklist/").json()["applies"] is False


# --- the incident page --------------------------------------------------------------------------------


def test_the_page_shows_the_card_with_answers_and_who_gave_them(
    responder: Any, incident: Any, crisis: Any
) -> None:
    for kind, value in (("yes_no", "yes"), ("text", "The driver swore at her")):
        incident_checklist_answer(
            actor=responder, incident_id=incident.pk, question_id=question(crisis, kind).pk, value=value
        )
    page = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Identify the problem" in page and "2 of 6 answered" in page
    assert "The driver swore at her" in page and f"by {responder.get_full_name()}" in page
    assert 'name="question"' in page  # a responder may answer


def test_the_page_has_no_card_for_a_routine_incident_and_no_form_without_the_role(
    responder: Any, spokesperson: Any, incident: Any, category: Any
) -> None:
    routine = IncidentFactory(category=category)
    assert (
        "Identify the problem" not in signed_in(responder).get(f"/incidents/{routine.pk}/").content.decode()
    )
    page = signed_in(spokesperson).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Identify the problem" in page and 'name="question"' not in page


def test_answering_from_the_page_and_a_bad_answer_shown_in_its_form(
    responder: Any, spokesperson: Any, incident: Any, crisis: Any
) -> None:
    client = signed_in(responder)
    url = f"/incidents/{incident.pk}/checklist/"
    hx = {"HX-Request": "true", "HX-Target": "checklist"}
    q = question(crisis, AnswerKind.NUMBER) or question(crisis, AnswerKind.DATETIME)
    bad = client.post(url, {"question": q.pk, "value": "yesterday-ish"}, headers=hx)
    assert bad.status_code == 200 and "Give a date and time" in bad.content.decode()
    assert 'value="yesterday-ish"' in bad.content.decode()
    assert not ChecklistAnswer.objects.exists()
    assert client.post(url, {"question": q.pk, "value": "yesterday-ish"}).status_code == 400
    good = client.post(url, {"question": q.pk, "value": "2026-03-02T09:30"}, headers=hx)
    assert good.status_code == 200 and "1 of 6 answered" in good.content.decode()
    assert 'id="timeline"' in good.content.decode()  # the timeline comes along with the new event
    assert ChecklistAnswer.objects.get().answered_by == responder
    refused = signed_in(spokesperson).post(url, {"question": q.pk, "value": "2026-03-02T10:30"}, headers=hx)
    assert refused.status_code == 403
    assert ChecklistAnswer.objects.get().value.startswith("2026-03-02T09:30")


def test_the_page_runs_the_same_number_of_queries_however_many_answers(
    responder: Any, admin_user: Any, incident: Any, crisis: Any
) -> None:
    client = signed_in(responder)
    url = f"/incidents/{incident.pk}/"

    def load() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    incident_checklist_answer(
        actor=responder, incident_id=incident.pk, question_id=question(crisis, "yes_no").pk, value=True
    )
    few = load()
    for n in range(4):
        extra = checklist_question_create(
            actor=admin_user, category=crisis, text=f"Extra {n}", answer_kind="text"
        )
        incident_checklist_answer(actor=responder, incident_id=incident.pk, question_id=extra.pk, value="Yes")
    assert load() == few
