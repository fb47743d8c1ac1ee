"""Response-time targets in the browser pages: the queue's Target cell by state, its filters and the
"Breaching soon" view; the incident page's explanation of each clock, its respond and acknowledge
controls by role; the timeline's SLA events; and query counts that do not grow with the clocks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.models import EventKind, Incident, SlaClock, TimelineEvent
from incidents.services.incidents import (
    incident_acknowledge,
    incident_create,
    incident_respond,
    incident_set_priority,
    incident_set_status,
)
from incidents.services.sweeper import sla_sweep
from incidents.services.timeline import timeline_append
from protocols.models import SlaPolicy
from tests.factories import IncidentFactory
from tests.roles import ACKNOWLEDGERS, RESPONDERS, ROLES
from tests.sla import T0, at, make_policies, urgent_replies_chain


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def htmx(target: str) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


def row_html(html: str, incident: Incident) -> str:
    start = html.index(f'id="row-{incident.pk}"')
    return html[start : html.index("</tr>", start)]


def clock_html(html: str, incident: Incident, kind: str) -> str:
    pk = SlaClock.objects.filter(incident=incident, kind=kind).latest("id").pk
    start = html.rindex("<article", 0, html.index(f'id="clock-{pk}"'))
    return html[start : html.index("</article>", start)]


def text(html: str) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def policies(db: Any, manager: Any) -> dict[str, SlaPolicy]:
    return make_policies(
        chain=urgent_replies_chain(manager=manager),
        high_name="High priority",
        critical_name="Crisis",
        next_response=False,
    )


def high(actor: Any, title: str = "Blender exploded", **extra: Any) -> Incident:
    return incident_create(actor=actor, title=title, priority="high", **extra)


@pytest.fixture
def desk(responder: Any, policies: Any) -> dict[str, Incident]:
    """At T0 + 72 min: one incident in each state, the sweeper having run."""
    with at(T0):
        breached = high(responder, "Breached at 11:00")  # due T0 + 60
    with at(T0 + timedelta(minutes=20)):
        warned = high(responder, "Warned at 11:05")  # warns T0 + 65, due T0 + 80
    with at(T0 + timedelta(minutes=50)):
        on_track = high(responder, "On track")  # due T0 + 110
    with at(T0 + timedelta(minutes=55)):
        crisis = incident_create(actor=responder, title="Critical, due 11:10", priority="critical")
    with at(T0 + timedelta(minutes=30)):
        paused = high(responder, "Waiting on the customer")
        incident_respond(actor=responder, incident_id=paused.pk)
        incident_set_status(actor=responder, incident_id=paused.pk, status="waiting_on_customer")
    untimed: Any = IncidentFactory(title="No target at all", created_at=T0)
    with at(T0 + timedelta(minutes=72)):
        sla_sweep()
    return {
        "breached": breached,
        "warned": warned,
        "on_track": on_track,
        "crisis": crisis,
        "paused": paused,
        "none": untimed,
    }


# --- The queue ----------------------------------------------------------------------------------


def test_queue_target_cell_shows_each_state_in_its_colour(responder: Any, desk: dict[str, Incident]) -> None:
    with at(T0 + timedelta(minutes=72)):
        html = signed_in(responder).get("/").content.decode()
    assert ">Target</th>" in html
    expected = {
        "breached": ("sla-breached", "breached 12 min ago"),
        "crisis": ("sla-breached", "breached 2 min ago"),
        "warned": ("sla-warning", "8m 00s left"),
        "on_track": ("sla-ok", "38m 00s left"),
        "paused": ("sla-paused", "Paused"),
        "none": ("sla-none", "—"),
    }
    for name, (state, shown) in expected.items():
        row = row_html(html, desk[name])
        assert f'class="sla-cell {state}"' in row, name
        assert shown in text(row), (name, text(row))
    # The running deadlines carry the exact moment for the browser's countdown and time zone.
    warned = row_html(html, desk["warned"])
    deadline = (T0 + timedelta(minutes=80)).isoformat()
    assert f'data-countdown="left" data-at="{deadline}"' in warned
    assert f'<time class="sla-deadline" datetime="{deadline}" data-local="nearby"' in warned
    assert ">11:20 UTC</time>" in warned  # the server's fallback, in its own zone
    assert 'data-countdown="since"' in row_html(html, desk["breached"])


def test_live_refresh_turns_a_row_red_once_the_breach_is_recorded(responder: Any, policies: Any) -> None:
    with at(T0):
        incident = high(responder)
    client = signed_in(responder)
    with at(T0 + timedelta(minutes=61)):
        before = client.get("/", headers=htmx("queue-rows")).content.decode()
        sla_sweep()
        after = client.get("/", headers=htmx("queue-rows")).content.decode()
    # Due but not yet recorded is not red: red means the sweeper recorded the breach.
    assert 'class="sla-cell sla-ok"' in row_html(before, incident)
    assert "due now" in row_html(before, incident)
    assert 'class="sla-cell sla-breached"' in row_html(after, incident)
    assert "breached 1 min ago" in text(row_html(after, incident))


def test_queue_filters_by_sla_state_and_due_before(responder: Any, desk: dict[str, Incident]) -> None:
    client = signed_in(responder)

    def titles(query: str) -> set[str]:
        with at(T0 + timedelta(minutes=72)):
            response = client.get(f"/?{query}", headers=htmx("queue-results"))
        assert response.status_code == 200, response.content
        html = response.content.decode()
        return {i.title for i in desk.values() if f'id="row-{i.pk}"' in html}

    assert titles("sla_state=breached") == {"Breached at 11:00", "Critical, due 11:10"}
    assert titles("sla_state=warning,breached") == {
        "Breached at 11:00",
        "Critical, due 11:10",
        "Warned at 11:05",
    }
    assert titles("sla_state=paused") == {"Waiting on the customer"}
    assert titles("sla_state=none") == {"No target at all"}
    assert titles(f"due_before={quote((T0 + timedelta(minutes=85)).isoformat())}") == {
        "Breached at 11:00",
        "Critical, due 11:10",
        "Warned at 11:05",
    }
    # The filter bar offers both, showing what is applied.
    with at(T0 + timedelta(minutes=72)):
        page = client.get(f"/?sla_state=warning,breached&due_before={quote(T0.isoformat())}").content.decode()
    assert '<option value="warning,breached" selected>' in page
    assert 'type="datetime-local"' in page and 'value="2026-11-16T10:00"' in page
    assert f'data-moment="{T0.isoformat()}"' in page


def test_breaching_soon_view_lists_what_is_at_risk_by_deadline(
    responder: Any, desk: dict[str, Incident]
) -> None:
    client = signed_in(responder)
    with at(T0 + timedelta(minutes=72)):
        home = client.get("/").content.decode()
        link = re.search(r'<a href="(/\?[^"]*)">Breaching soon</a>', home)
        assert link is not None
        html = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert 'aria-current="page">Breaching soon</a>' in html
    shown = re.findall(r'id="row-(\d+)"', html)
    # Deadline order (11:00, 11:10, 11:20), not urgency order (the critical one would lead).
    assert shown == [str(desk[n].pk) for n in ("breached", "crisis", "warned")]
    assert "Sorted deadline first" in html


# --- The incident page ----------------------------------------------------------------------------


def test_incident_page_explains_each_clock(responder: Any, manager: Any, desk: dict[str, Incident]) -> None:
    incident = desk["breached"]
    with at(T0 + timedelta(minutes=72)):
        html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    first = clock_html(html, incident, "first_response")
    assert 'class="clock clock-breached"' in first
    assert '<span class="sla-badge sla-breached">Breached</span>' in first
    shown = text(first)
    for fact in (
        "breached 12 min ago",
        "due 16 Nov 2026, 11:00 UTC",
        "Policy High priority",
        "Target 1 h of business time",
        "Calendar 24/7 (counts every hour)",
        "Used so far 1 h of 1 h",
        "Paused none",
        "Escalation chain Urgent replies",
        "Notify PR at the warning Fired",
        "Notify management at the breach Fired",
        f"Notify {manager.get_full_name()} 30 min after the breach Next · 16 Nov 2026, 11:30 UTC",
    ):
        assert fact in shown, (fact, shown)
    resolution = clock_html(html, incident, "resolution")
    assert 'class="clock clock-ok"' in resolution
    assert "22h 48m left" in text(resolution)
    assert "Used so far 1 h 12 min of 24 h" in text(resolution)


def test_incident_page_explains_business_hours_and_paused_time(responder: Any, policies: Any) -> None:
    # Friday 16:45 in Stockholm: 15 minutes of Friday count, then Monday from 09:00.
    friday = datetime(2026, 11, 20, 15, 45, tzinfo=UTC)
    with at(friday):
        incident = incident_create(actor=responder, title="Late parcel")
        incident_set_status(actor=responder, incident_id=incident.pk, status="waiting_on_customer")
    with at(friday + timedelta(hours=2)):
        incident_set_status(actor=responder, incident_id=incident.pk, status="in_progress")
    with at(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)):  # Saturday: the office is closed
        html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    first = text(clock_html(html, incident, "first_response"))
    assert "Calendar Office (Mon-Fri 09:00-17:00, Europe/Stockholm)" in first
    assert "Target 24 h of business time" in first
    assert "Used so far 15 min of 24 h" in first
    assert "Outside business hours: the clock is not counting now." in first
    assert "23 h 45 min of business time left" in first
    assert "data-countdown" not in clock_html(html, incident, "first_response")  # it would not tick
    resolution = text(clock_html(html, incident, "resolution"))
    assert "Paused 2 h" in resolution
    assert "Escalation chain" not in resolution  # the routine policy has none


def test_incident_without_a_policy_says_so(responder: Any) -> None:
    incident = IncidentFactory()
    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert "No response-time target applies" in html


@pytest.mark.parametrize("role", ROLES)
def test_respond_and_acknowledge_by_role(request: pytest.FixtureRequest, role: str, policies: Any) -> None:
    user = request.getfixturevalue(role)
    author = request.getfixturevalue("responder")
    incident = high(author)
    client = signed_in(user)
    page = client.get(f"/incidents/{incident.pk}/")
    if role == "outsider":
        assert page.status_code == 403
    else:
        html = page.content.decode()
        assert (f'action="/incidents/{incident.pk}/respond/"' in html) == (role in RESPONDERS)
        assert (f'action="/incidents/{incident.pk}/acknowledge/"' in html) == (role in ACKNOWLEDGERS)

    responded = client.post(f"/incidents/{incident.pk}/respond/", {"note": "Replied on X"})
    acknowledged = client.post(f"/incidents/{incident.pk}/acknowledge/")
    stored = Incident.objects.get(pk=incident.pk)
    if role in RESPONDERS:
        assert responded.status_code == 302 and stored.first_responded_at is not None
    else:
        assert responded.status_code == 403 and stored.first_responded_at is None
    if role in ACKNOWLEDGERS:
        assert acknowledged.status_code == 302 and stored.acknowledged_at is not None
    else:
        assert acknowledged.status_code == 403 and stored.acknowledged_at is None
    kinds = set(TimelineEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert ("responded" in kinds) == (role in RESPONDERS)
    assert ("acknowledged" in kinds) == (role in ACKNOWLEDGERS)


def test_controls_are_gone_once_the_incident_is_resolved(responder: Any, policies: Any) -> None:
    with at(T0):  # frozen: under load, real seconds between create and resolve change "1 h to spare"
        incident = high(responder)
        signed_in(responder).post(f"/incidents/{incident.pk}/resolve/", {"note": ""})
        html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    assert "/respond/" not in html and "/acknowledge/" not in html
    assert 'class="clock clock-met"' in html
    assert "First response Met Done with 1 h to spare" in text(clock_html(html, incident, "first_response"))
    assert '<div id="sla-clocks" class="clocks">' in html  # nothing left to refresh


def test_log_response_over_htmx_updates_targets_and_timeline(
    responder: Any, desk: dict[str, Incident]
) -> None:
    incident = desk["breached"]
    with at(T0 + timedelta(minutes=75)):
        response = signed_in(responder).post(
            f"/incidents/{incident.pk}/respond/", {"note": "Apologised by DM"}, headers=htmx("incident-panel")
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<section id="incident-sla" class="card sla-card" aria-labelledby="sla-title" hx-swap-oob="true">'
        in html
    )
    first = text(clock_html(html, incident, "first_response"))
    assert first.startswith("First response Missed Late by 15 min")
    assert "Notify " in first and "Not needed" in first  # the step still to come will not fire
    assert "First response target: missed (answered late)" in text(html)
    assert "Apologised by DM" in html
    assert f"Response logged on #{incident.pk}." in html


def test_acknowledge_cancels_pending_steps_and_says_so(responder: Any, desk: dict[str, Incident]) -> None:
    incident = desk["breached"]
    with at(T0 + timedelta(minutes=75)):
        client = signed_in(responder)
        response = client.post(f"/incidents/{incident.pk}/acknowledge/", headers=htmx("incident-panel"))
        assert response.status_code == 200
        html = client.get(f"/incidents/{incident.pk}/").content.decode()
    first = text(clock_html(html, incident, "first_response"))
    assert "Cancelled (someone acted)" in first
    assert "stopped 16 Nov 2026, 11:15 UTC" in first
    assert "Pending escalations: stopped on 2 targets" in text(html)
    assert "Last acknowledged 16 Nov 2026, 11:15 UTC" in text(html)


def test_refused_respond_over_htmx_is_a_403_toast(legal: Any, policies: Any, responder: Any) -> None:
    incident = high(responder)
    response = signed_in(legal).post(f"/incidents/{incident.pk}/respond/", headers=htmx("incident-panel"))
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#flash"
    assert Incident.objects.get(pk=incident.pk).first_responded_at is None


def test_timeline_reads_every_sla_event(responder: Any, manager: Any, policies: Any) -> None:
    with at(T0):
        incident = high(responder)
    with at(T0 + timedelta(minutes=31)):
        sla_sweep()  # nothing yet
    with at(T0 + timedelta(minutes=61)):
        sla_sweep()  # warning + step, breach + step
    with at(T0 + timedelta(minutes=62)):
        incident_set_priority(actor=manager, incident_id=incident.pk, priority="critical")
        incident_acknowledge(actor=manager, incident_id=incident.pk)
        incident_respond(actor=responder, incident_id=incident.pk, note="Called the customer")
        timeline_append(
            incident_id=incident.pk,
            kind=EventKind.CRISIS_REQUESTED,
            actor=None,
            after={"clock": "first_response"},
            note="Crisis mode requested by escalation (Urgent replies); managers and PR were notified",
        )
    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()
    start = html.index('id="timeline"')
    timeline = text(html[start:])
    for line in (
        "Target about to be missed by SLA clock",
        "Target: First response Deadline: 16 Nov 2026, 11:00 UTC Policy: High priority",
        "Target missed by SLA clock",
        "Escalation step by SLA clock",
        "Step: Notify PR, at the warning",
        "Step: Notify management, at the breach",
        "Deadlines recomputed",
        # 62 of the crisis policy's 15 minutes are used: the missed deadline keeps the moment it had.
        "Resolution deadline: 17 Nov 2026, 10:00 UTC → 16 Nov 2026, 18:00 UTC",
        "Resolution policy: High priority → Crisis",
        "Acknowledged by",
        "Pending escalations: stopped on 2 targets",
        "Response sent by",
        "First response target: missed (answered late)",
        "Crisis mode requested",
    ):
        assert line in timeline, (line, timeline)
    assert 'class="tl-item tl-sla_breached"' in html and 'class="tl-item tl-escalated"' in html
    assert '<time datetime="2026-11-16T18:00:00+00:00" data-local="datetime">' in html


# --- Queries ---------------------------------------------------------------------------------------


def test_queue_query_count_is_fixed_whatever_the_clocks(manager: Any, responder: Any, policies: Any) -> None:
    client = signed_in(manager)

    def count_queries() -> int:
        client.get("/")  # warm the session and the user's roles out of the measurement
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        assert response.status_code == 200
        return len(queries)

    with at(T0):
        IncidentFactory(title="No clocks")
        few = count_queries()
        for n in range(12):
            incident = high(responder, f"Timed {n}")
            if n % 3 == 0:
                incident_respond(actor=responder, incident_id=incident.pk)
    with at(T0 + timedelta(minutes=90)):
        sla_sweep()  # warnings, breaches and escalation steps on most of them
        many = count_queries()
    assert SlaClock.objects.count() >= 24
    assert many == few


def test_the_targets_card_refreshes_alone_with_bounded_queries(
    responder: Any, desk: dict[str, Incident]
) -> None:
    client = signed_in(responder)

    def refresh(incident: Incident) -> tuple[int, str]:
        client.get(f"/incidents/{incident.pk}/", headers=htmx("sla-clocks"))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/incidents/{incident.pk}/", headers=htmx("sla-clocks"))
        assert response.status_code == 200
        return len(queries), response.content.decode()

    with at(T0 + timedelta(minutes=72)):
        quiet, _ = refresh(desk["on_track"])
        busy, html = refresh(desk["breached"])
    assert html.startswith('<div id="sla-clocks"') and "Mentions" not in html
    assert 'class="clock clock-breached"' in html
    assert busy == quiet
