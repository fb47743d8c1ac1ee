"""Duplicates and merging: similar open incidents are suggested (trigram index), a merge moves mentions
and replies into the survivor with both timelines kept and the clocks honest, and it undoes within a day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.errors import Conflict, PermissionRefused, ValidationFailed
from incidents.models import Incident, IncidentMerge, Mention, Reply, SlaClock, TimelineEvent
from incidents.selectors import incident_similar
from incidents.services import merge as merge_services
from incidents.services.incidents import incident_create, incident_resolve, incident_respond
from incidents.services.merge import incident_merge, incident_merge_undo
from tests.sla import T0, at, make_policies

BLENDER = ["blender-x2"]


@pytest.fixture
def policies(db: Any) -> Any:
    return make_policies()


def opened(actor: Any, title: str, products: list[str] = BLENDER, **extra: Any) -> Incident:
    return incident_create(actor=actor, title=title, products=products, priority="high", **extra)


def mention_on(incident: Incident, n: int) -> Mention:
    return Mention.objects.create(
        platform="x",
        external_id=f"merge-{n}",
        author_handle=f"author{n}",
        text=f"My blender lid cracked ({n})",
        posted_at=timezone.now(),
        sentiment="negative",
        incident=incident,
        received_at=timezone.now(),
    )


def reply_on(incident: Incident, author: Any) -> Reply:
    now = timezone.now()
    return Reply.objects.create(
        incident=incident, author=author, body="Sorry!", edited_at=now, created_at=now, updated_at=now
    )


def clock(incident: Incident, kind: str) -> SlaClock:
    return SlaClock.objects.filter(incident=incident, kind=kind).order_by("-id").first()  # type: ignore[return-value]


def kinds(incident: Incident) -> list[str]:
    return list(TimelineEvent.objects.filter(incident=incident).order_by("id").values_list("kind", flat=True))


def snapshot(*incidents: Incident) -> list[Any]:
    rows = Incident.objects.filter(pk__in=[i.pk for i in incidents]).order_by("pk")
    return [
        list(rows.values_list("status", "merged_into_id", "mention_count", "sla_due_at")),
        sorted(Mention.objects.values_list("pk", "incident_id")),
        sorted(Reply.objects.values_list("pk", "incident_id")),
        sorted(SlaClock.objects.values_list("pk", "incident_id", "status", "due_at")),
        TimelineEvent.objects.count(),
        IncidentMerge.objects.count(),
    ]


# --- suggestions ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_product_and_similar_title_is_suggested_first(responder: Any) -> None:
    incident = opened(responder, "Blender X2 lid cracked on first use")
    close = opened(responder, "Blender X2 lid cracked")
    looser = opened(responder, "Blender X2 lid loose and cracked after a week")
    other_product = opened(responder, "Blender X2 lid cracked", products=["toaster"])
    unrelated = opened(responder, "Parcel never delivered")
    closed = opened(responder, "Blender X2 lid cracked on first use")
    Incident.objects.filter(pk=closed.pk).update(status="closed")

    similar = incident_similar(user=responder, incident_id=incident.pk)

    assert [i.pk for i in similar][:2] == [close.pk, looser.pk]
    assert {other_product.pk, unrelated.pk, closed.pk, incident.pk}.isdisjoint(i.pk for i in similar)
    assert 0 < similar[1].similarity < similar[0].similarity <= 1


@pytest.mark.django_db
def test_similar_over_the_api_and_on_the_page(client: Any, api_for: Any, responder: Any) -> None:
    incident = opened(responder, "Blender X2 lid cracked on first use")
    close = opened(responder, "Blender X2 lid cracked")

    body = api_for(responder).get(f"/api/v1/incidents/{incident.pk}/similar/").json()
    assert [row["id"] for row in body] == [close.pk]
    assert body[0]["title"] == "Blender X2 lid cracked" and 0.5 < body[0]["similarity"] <= 1

    client.force_login(responder)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Possible duplicates" in page and f"Merge into #{close.pk}" in page


@pytest.mark.django_db
def test_the_suggestion_query_uses_the_trigram_index(responder: Any) -> None:
    # A brand has a handful of products, so the title is what narrows thousands of open incidents down.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incidents_incident (title, description, priority, status, assigned_role,
                follow_up_required, tags, products, platform, thread_key, author_key, mention_count,
                created_at, updated_at, sla_state)
            SELECT 'Complaint ' || md5(g::text) || ' about ' || (ARRAY['delivery','refund'])[1 + g % 2],
                   '', 'normal', 'new', 'responder', false, '{}', ARRAY['blender-x2'], 'x', '', '', 0,
                   now(), now(), 'none'
            FROM generate_series(1, 20000) AS g
            """
        )
        # What autovacuum does on a live table: the GIN index's pending list is merged into the index.
        cursor.execute("SELECT gin_clean_pending_list('inc_title_trgm'::regclass)")
        cursor.execute("ANALYZE incidents_incident")
    incident = opened(responder, "Blender X2 lid cracked on first use")
    with CaptureQueriesContext(connection) as queries:
        incident_similar(user=responder, incident_id=incident.pk)
    sql = next(q["sql"] for q in reversed(queries.captured_queries) if "similarity" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "inc_title_trgm" in plan, plan
    assert "Seq Scan on incidents_incident" not in plan, plan


# --- merging --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_moves_mentions_and_replies_keeps_both_timelines_and_closes_the_source(
    responder: Any, policies: Any
) -> None:
    source, target = opened(responder, "Lid cracked"), opened(responder, "Blender lid cracked")
    mentions = [mention_on(source, 1), mention_on(source, 2)]
    mention_on(target, 3)
    reply = reply_on(source, responder)
    source_events = set(TimelineEvent.objects.filter(incident=source).values_list("pk", flat=True))

    merge = incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)

    source.refresh_from_db()
    target.refresh_from_db()
    assert sorted(merge.mention_ids) == sorted(m.pk for m in mentions) and merge.reply_ids == [reply.pk]
    assert set(Mention.objects.filter(incident=target).values_list("pk", flat=True)) >= {
        m.pk for m in mentions
    }
    assert Reply.objects.get(pk=reply.pk).incident_id == target.pk
    assert (target.mention_count, source.mention_count) == (3, 0)
    assert source.status == "closed" and source.merged_into_id == target.pk and source.merged_at is not None
    # The source's own history stays with it; each timeline names the other incident.
    assert source_events < set(TimelineEvent.objects.filter(incident=source).values_list("pk", flat=True))
    assert kinds(source)[-1] == "merged_into" and kinds(target)[-1] == "merged_from"
    assert (
        TimelineEvent.objects.filter(incident=target, kind="merged_from").get().after["merged_from"]
        == source.pk
    )
    assert not SlaClock.objects.filter(incident=source, status__in=["running", "paused"]).exists()
    assert source.sla_state == "none"


@pytest.mark.django_db
def test_the_survivor_counts_from_the_earliest_start(responder: Any, policies: Any) -> None:
    with at(T0):
        source = opened(responder, "Lid cracked")
    with at(T0 + timedelta(minutes=30)):
        target = opened(responder, "Blender lid cracked")
    assert clock(target, "first_response").due_at == T0 + timedelta(minutes=90)

    with at(T0 + timedelta(minutes=40)):
        incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)

    assert clock(target, "first_response").due_at == T0 + timedelta(hours=1)
    assert clock(target, "resolution").due_at == T0 + timedelta(hours=24)
    target.refresh_from_db()
    assert target.sla_due_at == T0 + timedelta(hours=1)
    event = TimelineEvent.objects.get(incident=target, kind="merged_from")
    assert event.after["deadlines"]["first_response"]["after"] == (T0 + timedelta(hours=1)).isoformat()


@pytest.mark.django_db
def test_a_met_first_response_on_the_survivor_stays_met(responder: Any, policies: Any) -> None:
    with at(T0):
        source = opened(responder, "Lid cracked")
    with at(T0 + timedelta(minutes=30)):
        target = opened(responder, "Blender lid cracked")
        incident_respond(actor=responder, incident_id=target.pk)
    with at(T0 + timedelta(minutes=40)):
        incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)

    first = SlaClock.objects.filter(incident=target, kind="first_response").get()
    assert first.status == "stopped" and first.breached_at is None
    assert clock(target, "resolution").due_at == T0 + timedelta(hours=24)


@pytest.mark.django_db
def test_undo_within_a_day_puts_everything_back(responder: Any, manager: Any, policies: Any) -> None:
    with at(T0):
        source = opened(responder, "Lid cracked")
        mention = mention_on(source, 1)
    with at(T0 + timedelta(minutes=30)):
        target = opened(responder, "Blender lid cracked")
        kept = mention_on(target, 2)
    with at(T0 + timedelta(minutes=40)):
        incident_set_triaged = Incident.objects.filter(pk=source.pk).update(status="in_progress")
        assert incident_set_triaged == 1
        merge = incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)

    with at(T0 + timedelta(hours=20)):
        undone = incident_merge_undo(actor=manager, merge_id=merge.pk)

    source.refresh_from_db()
    assert undone.undone_at == T0 + timedelta(hours=20) and undone.undone_by == manager
    assert source.status == "in_progress" and source.merged_into_id is None and source.closed_at is None
    assert Mention.objects.get(pk=mention.pk).incident_id == source.pk
    assert Mention.objects.get(pk=kept.pk).incident_id == target.pk
    # The survivor counts from its own start again; the duplicate's clocks run from their original start.
    assert clock(target, "first_response").due_at == T0 + timedelta(minutes=90)
    first = clock(source, "first_response")
    assert first.status == "running" and first.started_at == T0 and first.due_at == T0 + timedelta(hours=1)
    assert kinds(source)[-1] == "merge_undone" and kinds(target)[-1] == "merge_undone"
    with pytest.raises(Conflict, match="already undone"):
        incident_merge_undo(actor=manager, merge_id=merge.pk)


@pytest.mark.django_db
def test_undo_after_a_day_is_too_late(api_for: Any, responder: Any) -> None:
    with at(T0):
        source, target = opened(responder, "Lid cracked"), opened(responder, "Blender lid cracked")
        merge = incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)
    before = snapshot(source, target)
    with at(T0 + timedelta(hours=24, minutes=1)):
        response = api_for(responder).post(f"/api/v1/merges/{merge.pk}/undo/")
    assert response.status_code == 409
    assert "Too late" in response.json()["error"]["message"]
    assert snapshot(source, target) == before


@pytest.mark.django_db
def test_refusals_change_nothing(responder: Any, pr_user: Any, liaison: Any) -> None:
    source = opened(responder, "Lid cracked")
    target = opened(responder, "Blender lid cracked")
    closed = opened(responder, "Blender lid broken")
    resolved = opened(responder, "Blender lid split")
    incident_resolve(actor=responder, incident_id=resolved.pk)
    Incident.objects.filter(pk=closed.pk).update(status="closed")
    mention_on(source, 1)
    before = snapshot(source, target, closed, resolved)

    with pytest.raises(ValidationFailed, match="itself"):
        incident_merge(actor=responder, source_id=source.pk, target_id=source.pk)
    with pytest.raises(Conflict, match="closed"):
        incident_merge(actor=responder, source_id=source.pk, target_id=closed.pk)
    for outsider in (pr_user, liaison):
        with pytest.raises(PermissionRefused):
            incident_merge(actor=outsider, source_id=source.pk, target_id=target.pk)
    assert snapshot(source, target, closed, resolved) == before

    # A chain: an incident already merged away is not a place to merge into.
    incident_merge(actor=responder, source_id=target.pk, target_id=resolved.pk)
    before = snapshot(source, target, closed, resolved)
    with pytest.raises(Conflict, match="merged into"):
        incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)
    assert snapshot(source, target, closed, resolved) == before


@pytest.mark.django_db
def test_a_concurrent_status_change_is_a_conflict(responder: Any, monkeypatch: Any) -> None:
    source, target = opened(responder, "Lid cracked"), opened(responder, "Blender lid cracked")
    mention_on(source, 1)
    stale = {source.pk: Incident.objects.get(pk=source.pk), target.pk: Incident.objects.get(pk=target.pk)}
    # Someone triages the target between our read and our write.
    Incident.objects.filter(pk=target.pk).update(status="in_progress")
    monkeypatch.setattr(merge_services, "_get", lambda incident_id: stale[incident_id])
    before = snapshot(source, target)
    with pytest.raises(Conflict):
        incident_merge(actor=responder, source_id=source.pk, target_id=target.pk)
    assert snapshot(source, target) == before


@pytest.mark.django_db
def test_api_merge_and_undo_shapes(api_for: Any, responder: Any, pr_user: Any) -> None:
    source, target = opened(responder, "Lid cracked"), opened(responder, "Blender lid cracked")
    mention = mention_on(source, 1)
    api = api_for(responder)

    assert (
        api_for(pr_user)
        .post(f"/api/v1/incidents/{source.pk}/merge/", {"into": target.pk}, format="json")
        .status_code
        == 403
    )
    assert (
        api.post(f"/api/v1/incidents/{source.pk}/merge/", {"into": source.pk}, format="json").status_code
        == 400
    )
    response = api.post(f"/api/v1/incidents/{source.pk}/merge/", {"into": target.pk}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["source"] == source.pk and body["target"] == target.pk and body["actor"] == "riley"
    assert body["mention_ids"] == [mention.pk] and body["reply_ids"] == []
    assert body["source_previous_status"] == "new" and body["undone_at"] is None
    assert body["undoable_until"] is not None
    detail = api.get(f"/api/v1/incidents/{source.pk}/").json()
    assert detail["status"] == "closed" and detail["timeline"][-1]["kind"] == "merged_into"

    undone = api.post(f"/api/v1/merges/{body['id']}/undo/")
    assert undone.status_code == 200
    assert undone.json()["undone_at"] is not None and undone.json()["undone_by"] == "riley"
    assert api.post(f"/api/v1/merges/{body['id']}/undo/").status_code == 409
    assert api.post("/api/v1/merges/999999/undo/").status_code == 404


@pytest.mark.django_db
def test_browser_merge_and_undo_from_the_timeline(client: Any, responder: Any) -> None:
    source, target = opened(responder, "Blender X2 lid cracked"), opened(responder, "Blender X2 lid cracked!")
    client.force_login(responder)

    response = client.post(f"/incidents/{source.pk}/merge/", {"into": target.pk})
    assert response.status_code == 302 and response["Location"] == f"/incidents/{target.pk}/"
    merge = IncidentMerge.objects.get()
    page = client.get(f"/incidents/{target.pk}/").content.decode()
    assert f"Timeline of #{source.pk}" in page and f'id="undo-merge-{merge.pk}"' in page
    assert "Merged into" in client.get(f"/incidents/{source.pk}/").content.decode()

    response = client.post(f"/merges/{merge.pk}/undo/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == f"/incidents/{source.pk}/"
    assert Incident.objects.get(pk=source.pk).status == "new"
    assert "undo-merge-" not in client.get(f"/incidents/{target.pk}/").content.decode()
