"""The reply pages, role by role: the Replies card and composer on the incident page, each action shown
only to who may take it and refused server-side to anyone else (nothing changed), form errors and
conflicts shown where they happened, the approval inbox, presence, and bounded queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident, Reply, ReplyState
from incidents.services import replies as svc
from incidents.services.ingestion import mentions_ingest
from protocols.models import ApprovalChain, ApprovalRule, ApprovalStep, Priority, Role, SocialAccount
from templates_app.models import PlatformLimit, TemplateVersion
from templates_app.services import brand as brand_services
from templates_app.services import faqs as faq_services
from templates_app.services import templates as template_services
from tests.factories import UserFactory, mention_payload
from tests.roles import ROLES

pytestmark = pytest.mark.django_db

TEAM = set(ROLES) - {"outsider", "integration"}
DRAFTERS = {"responder", "liaison", "pr_user", "manager", "spokesperson", "admin_user"}
BODY = "Hi Ana, we are so sorry about the blender. Please DM us your order number."


def htmx(target: str = "", current: str = "") -> dict[str, str]:
    headers = {"HX-Request": "true"}
    if target:
        headers["HX-Target"] = target
    if current:
        headers["HX-Current-URL"] = f"http://testserver{current}"
    return headers


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def sign_off(db: Any) -> ApprovalChain:
    """High-priority replies go to legal (2 h), then management (1 h); others go straight out."""
    chain = ApprovalChain.objects.create(name="Sign-off")
    ApprovalStep.objects.create(chain=chain, stage="legal_review", role=Role.LEGAL, target_minutes=120)
    ApprovalStep.objects.create(
        chain=chain, stage="management_approval", role=Role.MANAGER, target_minutes=60
    )
    ApprovalRule.objects.create(priority=Priority.HIGH, chain=chain)
    PlatformLimit.objects.get_or_create(platform="x", defaults={"max_characters": 280})
    SocialAccount.objects.create(name="Brand on X", platform="x", handle="brand", publisher="manual")
    return chain


def ingest(integration: Any, n: int | str, **overrides: Any) -> Incident:
    (result,) = mentions_ingest(
        items=[mention_payload(n, **overrides)], actor=integration, actor_label="test"
    )
    assert result.incident_id is not None
    return Incident.objects.get(pk=result.incident_id)


@pytest.fixture
def incident(integration: Any) -> Incident:
    """A high-priority incident opened by Ana's mention on X."""
    incident = ingest(
        integration, "ana", author_handle="ana_bakes", author_name="Ana Baker", text="My blender exploded!"
    )
    Incident.objects.filter(pk=incident.pk).update(priority=Priority.HIGH, title="Blender exploded")
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def routine(integration: Any) -> Incident:
    return ingest(integration, "tom", author_handle="tom", text="Where is my parcel?")


def draft(author: Any, incident: Incident, body: str = BODY) -> Reply:
    """A draft answering the incident's first mention."""
    mention = incident.mentions.order_by("posted_at").first()
    return svc.reply_create(
        actor=author, incident_id=incident.pk, body=body, mention_id=mention.pk if mention else None
    )


def in_legal_review(author: Any, incident: Incident, body: str = BODY) -> Reply:
    reply = draft(author, incident, body)
    return svc.reply_submit(actor=author, reply_id=reply.pk)


def approved(author: Any, legal: Any, manager: Any, incident: Incident) -> Reply:
    reply = in_legal_review(author, incident)
    svc.reply_approve(actor=legal, reply_id=reply.pk)
    return svc.reply_approve(actor=manager, reply_id=reply.pk)


def card(user: Any, incident: Incident) -> tuple[int, str]:
    response = signed_in(user).get(f"/incidents/{incident.pk}/replies/", headers=htmx("replies-area"))
    return response.status_code, response.content.decode()


def state_of(reply: Reply) -> tuple[str, int]:
    reply.refresh_from_db()
    return reply.state, reply.version


# --- the card and the composer, role by role ------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(TEAM))
def test_every_teammate_sees_the_replies_card_and_only_drafters_get_the_composer(
    role: str, request: pytest.FixtureRequest, incident: Incident, pr_user: Any
) -> None:
    user = request.getfixturevalue(role)
    in_legal_review(pr_user, incident)
    # The incident page shows them as it opens, with nothing left to load.
    response = signed_in(user).get(f"/incidents/{incident.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Loading replies" not in html
    assert 'id="replies"' in html and "In legal review" in html
    assert "Legal review" in html and "Management approval" in html  # the chain, step by step
    assert ('id="composer"' in html) == (role in DRAFTERS)


def test_the_card_also_comes_alone_to_htmx_and_outsiders_are_refused(
    incident: Incident, outsider: Any, pr_user: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    lia = UserFactory(username="lia", roles=[Role.LEGAL])
    status, html = card(lia, incident)
    assert status == 200 and 'id="replies-area"' in html
    assert f"/replies/{reply.pk}/approve/" in html
    assert card(outsider, incident)[0] == 403
    assert signed_in(outsider).get(f"/incidents/{incident.pk}/").status_code == 403
    # Without htmx the card's address leads back to the incident page.
    response = signed_in(lia).get(f"/incidents/{incident.pk}/replies/")
    assert response.status_code == 302 and response["Location"].endswith(f"/incidents/{incident.pk}/#replies")


def test_actions_are_shown_only_to_who_may_take_them(
    incident: Incident, pr_user: Any, legal: Any, manager: Any, responder: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    approve = f"/replies/{reply.pk}/approve/"
    publish = f"/replies/{reply.pk}/publish/"
    legal_html = card(legal, incident)[1]
    assert approve in legal_html and "Request changes" in legal_html and publish not in legal_html
    author_html = card(pr_user, incident)[1]
    assert approve not in author_html and f"/replies/{reply.pk}/edit/" in author_html
    assert f"/replies/{reply.pk}/withdraw/" in author_html
    # The manager decides the next step, not this one; a responder never decides.
    assert approve not in card(manager, incident)[1]
    assert approve not in card(responder, incident)[1]
    assert f"/replies/{reply.pk}/withdraw/" not in card(responder, incident)[1]


def test_an_author_who_holds_the_deciding_role_is_told_why_they_cannot_decide(
    incident: Incident, manager: Any, legal: Any
) -> None:
    reply = in_legal_review(manager, incident)
    svc.reply_approve(actor=legal, reply_id=reply.pk)
    html = card(manager, incident)[1]
    assert f"/replies/{reply.pk}/approve/" not in html
    assert "You wrote this reply: someone else must review it." in html


def test_a_draft_on_an_incident_without_sign_off_offers_publish_instead_of_submit(
    routine: Incident, responder: Any
) -> None:
    html = card(responder, routine)[1]
    assert 'id="composer-publish"' in html and 'id="composer-submit"' not in html
    assert 'name="url"' in html  # the account is posted to by hand
    reply = draft(responder, routine)
    html = card(responder, routine)[1]
    assert f"/replies/{reply.pk}/publish/" in html and f"/replies/{reply.pk}/submit/" not in html


def test_a_reply_without_sign_off_is_published_from_the_composer(routine: Incident, responder: Any) -> None:
    client = signed_in(responder)
    response = client.post(
        f"/incidents/{routine.pk}/replies/new/",
        {"body": "Thanks Tom, it ships today.", "intent": "publish", "url": ""},
        headers=htmx("incident-panel"),
    )
    # Posted by hand without its link: the draft is kept and says what is missing.
    assert response.status_code == 200
    reply = Reply.objects.get(incident=routine)
    assert reply.state == ReplyState.DRAFT
    assert "Draft saved, but:" in response.content.decode()

    url = "https://x.com/brand/status/7"
    response = client.post(
        f"/replies/{reply.pk}/publish/", {"url": url, "version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 200
    reply.refresh_from_db()
    assert (reply.state, reply.published_url) == (ReplyState.PUBLISHED, url)
    routine.refresh_from_db()
    assert routine.first_responded_at is not None
    html = response.content.decode()
    assert f"Reply #{reply.pk} published." in html and "Reply published" in html  # flash and timeline


# --- refused server-side, nothing changed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("legal", "publish"),  # legal reviews, never publishes
        ("responder", "approve"),  # not a deciding role
        ("responder", "request-changes"),
        ("outsider", "edit"),
        ("legal", "withdraw"),
    ],
)
def test_a_hidden_action_posted_by_a_wrong_role_is_refused_and_changes_nothing(
    who: str, action: str, request: pytest.FixtureRequest, incident: Incident, pr_user: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    client = signed_in(request.getfixturevalue(who))
    data = {"note": "x", "body": "Changed", "url": "https://x.com/brand/status/1", "version": 1}
    response = client.post(f"/replies/{reply.pk}/{action}/", data, headers=htmx("incident-panel"))
    assert response.status_code == 403
    assert "does not allow" in response.content.decode()
    assert state_of(reply) == (ReplyState.LEGAL_REVIEW, 1)
    page = client.post(f"/replies/{reply.pk}/{action}/", data)  # a plain form gets a page
    assert page.status_code == 403 and "Your role does not allow this." in page.content.decode()


def test_the_wrong_decider_is_refused_by_the_service_with_a_clear_message(
    incident: Incident, pr_user: Any, manager: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    response = signed_in(manager).post(
        f"/replies/{reply.pk}/approve/", {"version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#replies"
    html = response.content.decode()
    assert "Not allowed." in html and "Only Legal decides the legal review step." in html
    assert state_of(reply) == (ReplyState.LEGAL_REVIEW, 1)


def test_request_changes_without_a_note_is_a_form_error_next_to_the_form(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    response = signed_in(legal).post(
        f"/replies/{reply.pk}/request-changes/", {"note": "  ", "version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#replies"
    html = response.content.decode()
    assert "Say what should change." in html
    assert f'id="decide-note-{reply.pk}"' in html  # the form is still there to fix it
    assert state_of(reply) == (ReplyState.LEGAL_REVIEW, 1)


def test_deciding_on_a_version_one_never_saw_is_a_conflict(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    svc.reply_edit(actor=pr_user, reply_id=reply.pk, body=BODY + " Thanks!")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    response = signed_in(legal).post(
        f"/replies/{reply.pk}/approve/", {"version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 409
    assert "Someone else changed it first." in response.content.decode()
    assert state_of(reply) == (ReplyState.LEGAL_REVIEW, 2)


# --- the flow on the incident page ----------------------------------------------------------------------


def test_the_composer_saves_and_submits_and_the_page_follows(incident: Incident, pr_user: Any) -> None:
    mention = incident.mentions.get()
    response = signed_in(pr_user).post(
        f"/incidents/{incident.pk}/replies/new/",
        {"body": BODY, "mention": mention.pk, "intent": "submit"},
        headers=htmx("incident-panel"),
    )
    assert response.status_code == 200
    reply = Reply.objects.get(incident=incident)
    assert (reply.state, reply.mention_id) == (ReplyState.LEGAL_REVIEW, mention.pk)
    html = response.content.decode()
    assert "submitted: waiting on Legal for legal review" in html
    assert 'id="replies" class="card replies-card" aria-labelledby="replies-title" hx-swap-oob="true"' in html
    assert 'id="composer"' in html  # a fresh composer
    # The timeline tells the step in words, with the reply and who it waits on.
    assert "Reply submitted for approval" in html and "Waiting on:" in html and "Legal" in html


def test_an_empty_reply_is_a_form_error_in_the_composer(incident: Incident, pr_user: Any) -> None:
    response = signed_in(pr_user).post(
        f"/incidents/{incident.pk}/replies/new/",
        {"body": "   ", "intent": "draft"},
        headers=htmx("incident-panel"),
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#composer"
    assert "Write the reply first." in response.content.decode()
    assert not Reply.objects.exists()


def test_a_reviewer_sees_what_changed_since_the_version_they_reviewed(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident, "We are sorry. It was not our fault.")
    svc.reply_request_changes(actor=legal, reply_id=reply.pk, note="Do not deny fault.")
    author_html = card(pr_user, incident)[1]
    assert "Changes requested:" in author_html and "Do not deny fault." in author_html
    svc.reply_edit(actor=pr_user, reply_id=reply.pk, body="We are sorry. We are looking into it.")
    svc.reply_submit(actor=pr_user, reply_id=reply.pk)
    html = card(legal, incident)[1]
    assert "Changes since version 1" in html
    assert '<del><span class="sr-only">removed: </span>It was not our fault.</del>' in html
    assert '<ins><span class="sr-only">added: </span>We are looking into it.</ins>' in html
    assert "Every decision (1)" in html


def test_a_stale_reply_asks_before_it_is_published(
    incident: Incident, pr_user: Any, legal: Any, manager: Any, integration: Any
) -> None:
    reply = approved(pr_user, legal, manager, incident)
    ingest(integration, "ana-2", author_handle="ana_bakes", text="Hello?? Anyone there?", thread_id="")
    assert Incident.objects.get(pk=incident.pk).mention_count == 2
    client = signed_in(pr_user)
    url = "https://x.com/brand/status/99"
    response = client.post(
        f"/replies/{reply.pk}/publish/", {"url": url, "version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "1 new mention arrived since this was written" in html and "Publish anyway" in html
    assert 'name="confirm_stale" value="1"' in html and "Anyone there?" in html
    assert state_of(reply)[0] == ReplyState.APPROVED

    response = client.post(
        f"/replies/{reply.pk}/publish/",
        {"url": url, "version": 1, "confirm_stale": "1"},
        headers=htmx("incident-panel"),
    )
    assert response.status_code == 200
    reply.refresh_from_db()
    assert (reply.state, reply.published_url) == (ReplyState.PUBLISHED, url)
    assert "View the post" in card(pr_user, incident)[1]


def test_publishing_by_hand_needs_the_link_to_the_post(
    incident: Incident, pr_user: Any, legal: Any, manager: Any
) -> None:
    reply = approved(pr_user, legal, manager, incident)
    response = signed_in(pr_user).post(
        f"/replies/{reply.pk}/publish/", {"url": "", "version": 1}, headers=htmx("incident-panel")
    )
    assert response.status_code == 400
    assert f'id="publish-url-{reply.pk}"' in response.content.decode()
    assert state_of(reply)[0] == ReplyState.APPROVED


def test_a_plain_form_post_redirects_back_to_the_reply(incident: Incident, pr_user: Any, legal: Any) -> None:
    reply = in_legal_review(pr_user, incident)
    response = signed_in(legal).post(f"/replies/{reply.pk}/approve/", {"version": 1, "note": "Fine"})
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.pk}/#reply-{reply.pk}"
    assert state_of(reply)[0] == ReplyState.MANAGEMENT_APPROVAL


# --- the composer's helpers -------------------------------------------------------------------------------


@pytest.fixture
def apology(pr_user: Any, manager: Any) -> Any:
    template = template_services.template_create(
        actor=pr_user,
        name="Product safety apology",
        kind="apology",
        body="Hi {{ customer_name }}, we are so sorry about your {{ product }}. {{ agent_first_name }}",
        variables=[
            {"name": "customer_name", "label": "Customer", "default": "there"},
            {"name": "product", "label": "Product", "default": ""},
            {"name": "agent_first_name", "label": "Your first name", "default": ""},
        ],
        platforms=["x"],
    )
    version = TemplateVersion.objects.get(template=template, status="draft")
    template_services.template_version_approve(actor=manager, version_id=version.pk)
    return template


def test_a_template_is_prefilled_and_rendered_into_the_composer(
    incident: Incident, responder: Any, apology: Any
) -> None:
    client = signed_in(responder)
    assert "Product safety apology" in card(responder, incident)[1]
    fields = client.get(
        f"/incidents/{incident.pk}/replies/template/",
        {"template": apology.pk},
        headers=htmx("composer-variables"),
    ).content.decode()
    assert 'name="var_customer_name" value="Ana Baker"' in fields  # from the mention
    assert f'name="var_agent_first_name" value="{responder.first_name}"' in fields  # from the user
    assert 'name="var_product" value=""' in fields

    filled = client.post(
        f"/incidents/{incident.pk}/replies/fill/",
        {
            "template": apology.pk,
            "var_customer_name": "Ana",
            "var_product": "",
            "var_agent_first_name": "Riley",
        },
        headers=htmx("reply-body"),
    ).content.decode()
    assert "Hi Ana, we are so sorry about your {{ product }}. Riley</textarea>" in filled
    assert "Still to fill in: Product" in filled
    assert 'id="composer-kind" value="apology"' in filled
    assert "Fill in {{ product }} before sending" in filled  # the brand check runs on the new text


def test_brand_checks_count_against_the_platform_limit_and_update_the_preview(
    incident: Incident, responder: Any, admin_user: Any
) -> None:
    brand_services.banned_phrase_save(actor=admin_user, phrase="calm down", suggestion="we understand")
    response = signed_in(responder).post(
        f"/incidents/{incident.pk}/replies/check/",
        {"body": "Please calm down.\nWe will help.", "preview": "1"},
        headers=htmx("composer-checks"),
    )
    html = response.content.decode()
    assert "31 / 280 characters" in html
    assert "Banned phrase &quot;calm down&quot;; try we understand" in html
    assert 'id="reply-preview" class="preview" hx-swap-oob="true"' in html
    assert "Please calm down.<br>We will help." in html and "@brand" in html


def test_faq_search_answers_from_the_panel(incident: Incident, responder: Any, admin_user: Any) -> None:
    faq_services.faq_create(actor=admin_user, title="Refund policy", body="Refunds within 30 days.")
    faq_services.faq_create(actor=admin_user, title="Shipping times", body="Two to five days.")
    client = signed_in(responder)
    html = client.get(f"/incidents/{incident.pk}/replies/faqs/", {"q": "refund"}, headers=htmx("faq-results"))
    assert "Refund policy" in html.content.decode() and "Shipping times" not in html.content.decode()


def test_presence_shows_another_writer_and_not_oneself(
    incident: Incident, pr_user: Any, responder: Any
) -> None:
    assert signed_in(pr_user).post(f"/incidents/{incident.pk}/replies/writing/").status_code == 204
    live = f"/incidents/{incident.pk}/replies/live/"
    other = signed_in(responder).get(live, headers=htmx("reply-writers")).content.decode()
    assert f"{pr_user.get_full_name()} is writing a reply" in other
    mine = signed_in(pr_user).get(live, headers=htmx("reply-writers")).content.decode()
    assert "is writing" not in mine
    # The legal reviewer may look but not write: no heartbeat.
    assert (
        signed_in(UserFactory(username="lia", roles=[Role.LEGAL]))
        .post(f"/incidents/{incident.pk}/replies/writing/")
        .status_code
        == 403
    )


def test_the_live_refresh_sends_the_replies_only_when_they_changed(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    client = signed_in(pr_user)
    html = card(pr_user, incident)[1]
    seen = html.split('id="reply-stamp" name="seen" value="')[1].split('"')[0]
    live = f"/incidents/{incident.pk}/replies/live/"
    assert (
        'id="reply-list"'
        not in client.get(live, {"seen": seen}, headers=htmx("reply-writers")).content.decode()
    )
    svc.reply_approve(actor=legal, reply_id=reply.pk)
    changed = client.get(live, {"seen": seen}, headers=htmx("reply-writers")).content.decode()
    assert 'id="reply-list" class="reply-list" hx-swap-oob="true"' in changed
    assert "Awaiting management approval" in changed


# --- the approval inbox -----------------------------------------------------------------------------------


def test_the_inbox_lists_what_waits_on_me_oldest_first(
    integration: Any, pr_user: Any, legal: Any, manager: Any
) -> None:
    start = timezone.now()
    incidents = []
    for n, minutes in enumerate([30, 10, 20]):
        incident = ingest(integration, f"i{n}", author_handle=f"c{n}", text=f"Complaint {n}")
        Incident.objects.filter(pk=incident.pk).update(priority=Priority.HIGH, title=f"Incident {n}")
        with time_machine.travel(start - timedelta(minutes=minutes), tick=False):
            in_legal_review(pr_user, incident, f"Reply {n}")
        incidents.append(incident)
    html = signed_in(legal).get("/approvals/").content.decode()
    order = [html.index(f"Incident {n}") for n in (0, 2, 1)]
    assert order == sorted(order)  # submitted 30, 20, 10 minutes ago
    assert "Complaint 0" in html  # the mention being answered
    assert "In legal review" in html and "Legal review" in html
    assert 'class="badge prio-high"' in html
    assert "30 min" in html  # how long the oldest has waited
    assert "Incident" not in signed_in(manager).get("/approvals/").content.decode().split("lede")[1]


@pytest.mark.parametrize("who", ["responder", "pr_user", "outsider"])
def test_the_inbox_is_for_reviewers_only(who: str, request: pytest.FixtureRequest) -> None:
    response = signed_in(request.getfixturevalue(who)).get("/approvals/")
    assert response.status_code == 403


def test_approving_from_the_inbox_replaces_the_row_with_the_outcome(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    client = signed_in(legal)
    nav = client.get("/approvals/nav/", headers=htmx("approvals-nav")).content.decode()
    assert "Approvals, 1 waiting" in nav and "nav-count" in nav
    response = client.post(
        f"/replies/{reply.pk}/approve/", {"version": 1}, headers=htmx(f"approval-{reply.pk}", "/approvals/")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="approval-{reply.pk}" class="card approval is-decided"' in html
    assert "Legal review approved: reply" in html and "now waits on Manager" in html
    assert 'id="approvals-nav" hx-swap-oob="innerHTML"' in html and "nav-count" not in html
    assert state_of(reply)[0] == ReplyState.MANAGEMENT_APPROVAL


def test_request_changes_from_the_inbox_needs_a_note_shown_in_the_row(
    incident: Incident, pr_user: Any, legal: Any
) -> None:
    reply = in_legal_review(pr_user, incident)
    response = signed_in(legal).post(
        f"/replies/{reply.pk}/request-changes/", {"version": 1}, headers=htmx(f"approval-{reply.pk}")
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#approval-{reply.pk}"
    assert "Say what should change." in response.content.decode()
    assert state_of(reply)[0] == ReplyState.LEGAL_REVIEW


def test_the_nav_shows_approvals_only_to_reviewers(responder: Any, legal: Any) -> None:
    assert "/approvals/nav/" in signed_in(legal).get("/").content.decode()
    assert "/approvals/nav/" not in signed_in(responder).get("/").content.decode()


# --- bounded queries --------------------------------------------------------------------------------------


def test_the_incident_page_the_replies_card_and_the_inbox_run_a_bounded_number_of_queries(
    integration: Any,
    pr_user: Any,
    legal: Any,
    manager: Any,
    incident: Incident,
    apology: Any,
) -> None:
    def load(user: Any, url: str, target: str = "") -> int:
        client = signed_in(user)
        headers = htmx(target) if target else {}
        client.get(url, headers=headers)  # the session and the roles, out of the measurement
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, headers=headers).status_code == 200
        return len(queries)

    def add_replies(count: int) -> None:
        for n in range(count):
            reply = in_legal_review(pr_user, incident, f"Reply number {n}")
            if n % 2:
                svc.reply_request_changes(actor=legal, reply_id=reply.pk, note="Softer, please")
                svc.reply_edit(actor=pr_user, reply_id=reply.pk, body=f"Reply number {n}, softer")
                svc.reply_submit(actor=pr_user, reply_id=reply.pk)

    def measure() -> tuple[int, int, int]:
        return (
            load(pr_user, f"/incidents/{incident.pk}/"),
            load(pr_user, f"/incidents/{incident.pk}/replies/", "replies-area"),
            load(legal, "/approvals/", "approval-rows"),
        )

    add_replies(2)
    few = measure()
    add_replies(5)
    many = measure()
    assert many == few
    # The incident page with its Replies card and composer: session, user, roles, incident, mentions,
    # timeline, clocks, clock firings, categories, then approval rule and steps, replies, versions,
    # decisions, step clocks, fingerprint, account, templates, FAQs
    assert few[0] <= 19
    # The card alone: session, user, roles, incident, mentions, then the same ten as above
    assert few[1] <= 16
    # session, user, roles, inbox, versions, decisions, step clocks
    assert few[2] <= 8
