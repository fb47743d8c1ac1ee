"""Mentions join the open incident of their thread or author; triage rules route new incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incidents.models import Incident, IncidentStatus
from incidents.services.ingestion import mentions_ingest
from protocols.models import Category, Role, TriageRule
from tests.factories import mention_payload

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def ingest(*items: dict[str, Any]) -> list[Any]:
    return mentions_ingest(items=list(items), actor=None, actor_label="test")


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def test_replies_join_the_open_incident_of_their_thread() -> None:
    (root,) = ingest(mention_payload("root", author_handle="ana", posted_at=at(0)))
    (reply,) = ingest(mention_payload("r1", author_handle="bob", thread_id="ext-root", posted_at=at(5)))
    (parent,) = ingest(mention_payload("r2", author_handle="cy", parent_id="ext-root", posted_at=at(6)))
    assert reply.incident_id == parent.incident_id == root.incident_id
    incident = Incident.objects.get(pk=root.incident_id)
    assert incident.mention_count == 3
    assert [e.kind for e in incident.timeline.all()] == ["created", "mention_added", "mention_added"]


def test_same_author_same_platform_joins_within_24_hours_only() -> None:
    (first,) = ingest(mention_payload(1, author_handle="Ana", posted_at=at(0)))
    (second,) = ingest(mention_payload(2, author_handle="ana", posted_at=at(60 * 23)))
    (later,) = ingest(mention_payload(3, author_handle="ana", posted_at=at(60 * 48)))
    (other_platform,) = ingest(
        mention_payload(4, author_handle="ana", platform="instagram", posted_at=at(60 * 48))
    )
    assert second.incident_id == first.incident_id
    assert later.incident_id != first.incident_id
    assert other_platform.incident_id not in {first.incident_id, later.incident_id}


def test_a_resolved_incident_is_not_reused() -> None:
    (first,) = ingest(mention_payload(1, author_handle="ana", posted_at=at(0)))
    Incident.objects.filter(pk=first.incident_id).update(status=IncidentStatus.RESOLVED)
    (second,) = ingest(mention_payload(2, author_handle="ana", thread_id="ext-1", posted_at=at(10)))
    assert second.incident_id != first.incident_id


def test_mentions_of_one_thread_in_one_batch_open_one_incident() -> None:
    results = ingest(
        mention_payload("b", author_handle="u2", thread_id="ext-a", posted_at=at(2)),
        mention_payload("a", author_handle="u1", posted_at=at(0)),
        mention_payload("c", author_handle="u3", thread_id="ext-a", posted_at=at(3)),
    )
    assert len({r.incident_id for r in results}) == 1
    incident = Incident.objects.get()
    assert incident.mention_count == 3
    assert incident.title.startswith("@u1 on X:")


@pytest.fixture
def crisis(db: Any) -> Category:
    return Category.objects.create(name="PR crisis", slug="pr-crisis", tier="crisis")


def test_keyword_rule_sets_category_priority_role_and_tags(crisis: Category) -> None:
    TriageRule.objects.create(
        name="Safety",
        keywords=["exploded", "lawsuit"],
        set_category=crisis,
        set_priority="critical",
        route_to_role=Role.PR,
        add_tags=["Safety"],
    )
    (hit,) = ingest(mention_payload(1, text="My blender EXPLODED this morning"))
    (miss,) = ingest(mention_payload(2, text="It explodedly good (not a word)"))
    incident = Incident.objects.get(pk=hit.incident_id)
    assert (incident.category_id, incident.priority, incident.assigned_role) == (crisis.pk, "critical", "pr")
    assert incident.tags == ["safety"]
    assert [e.kind for e in incident.timeline.all()] == ["created", "triage_rule"]
    plain = Incident.objects.get(pk=miss.incident_id)
    assert (plain.category_id, plain.priority, plain.assigned_role) == (None, "normal", "responder")


def test_vip_author_rule_and_rule_order(crisis: Category) -> None:
    influencer = Category.objects.create(name="Influencer", slug="influencer", tier="high_priority")
    TriageRule.objects.create(
        name="VIP", position=10, authors=["@MegaStar"], set_category=influencer, set_priority="high"
    )
    TriageRule.objects.create(
        name="Safety", position=20, keywords=["fire"], set_category=crisis, set_priority="low"
    )
    (vip,) = ingest(mention_payload(1, author_handle="megastar", text="nice shoes"))
    (both,) = ingest(
        mention_payload(2, author_handle="megastar", platform="tiktok", text="my charger caught fire")
    )
    assert Incident.objects.get(pk=vip.incident_id).category_id == influencer.pk
    both_incident = Incident.objects.get(pk=both.incident_id)
    # Later rule wins the category; priority never goes down.
    assert (both_incident.category_id, both_incident.priority) == (crisis.pk, "high")


def test_sentiment_and_platform_conditions() -> None:
    TriageRule.objects.create(
        name="Angry reviews", sentiment="negative", platform="trustpilot", set_priority="high"
    )
    (angry,) = ingest(mention_payload(1, platform="trustpilot", text="Terrible, awful service. I hate it."))
    (angry_x,) = ingest(mention_payload(2, platform="x", text="Terrible, awful service. I hate it."))
    (happy,) = ingest(mention_payload(3, platform="trustpilot", text="Wonderful, I love it!"))
    assert Incident.objects.get(pk=angry.incident_id).priority == "high"
    assert Incident.objects.get(pk=angry_x.incident_id).priority == "normal"
    assert Incident.objects.get(pk=happy.incident_id).priority == "normal"


def test_given_sentiment_is_kept_and_missing_one_is_computed() -> None:
    from incidents.models import Mention

    ingest(mention_payload(1, text="I love this, wonderful!", sentiment="negative"))
    ingest(mention_payload(2, text="This is the worst, broken and useless."))
    given, computed = Mention.objects.order_by("external_id")
    assert (given.sentiment, given.sentiment_is_computed) == ("negative", False)
    assert (computed.sentiment, computed.sentiment_is_computed) == ("negative", True)


def test_a_matching_reply_raises_priority_of_the_open_incident() -> None:
    TriageRule.objects.create(name="Lawyers", keywords=["lawyer"], set_priority="critical")
    (root,) = ingest(mention_payload("root", posted_at=at(0)))
    ingest(
        mention_payload(
            "r", author_handle="z", thread_id="ext-root", text="my lawyer will call", posted_at=at(1)
        )
    )
    incident = Incident.objects.get(pk=root.incident_id)
    assert incident.priority == "critical"
    change = incident.timeline.get(kind="priority_changed")
    assert (change.before, change.after) == ({"priority": "normal"}, {"priority": "critical"})


def test_tags_and_products_of_mentions_reach_the_incident() -> None:
    (first,) = ingest(mention_payload(1, tags=["Delivery"], products=["blender-x2"], posted_at=at(0)))
    ingest(
        mention_payload(
            2, thread_id="ext-1", tags=["refund"], products=["blender-x2", "kettle"], posted_at=at(1)
        )
    )
    incident = Incident.objects.get(pk=first.incident_id)
    assert sorted(incident.tags) == ["delivery", "refund"]
    assert sorted(incident.products) == ["blender-x2", "kettle"]


def test_rule_changes_apply_to_the_next_mention_however_they_are_made() -> None:
    """Rules are cached between requests; any change to the table is seen on the next intake."""
    rule = TriageRule.objects.create(name="Refunds", keywords=["refund"], set_priority="high")
    (first,) = ingest(mention_payload(1, text="refund please"))
    TriageRule.objects.filter(pk=rule.pk).update(set_priority="critical")  # bypasses save()
    (second,) = ingest(mention_payload(2, text="refund please"))
    TriageRule.objects.filter(pk=rule.pk).update(is_active=False)
    (third,) = ingest(mention_payload(3, text="refund please"))
    priorities = [Incident.objects.get(pk=r.incident_id).priority for r in (first, second, third)]
    assert priorities == ["high", "critical", "normal"]
