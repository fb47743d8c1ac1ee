"""The reports dashboard in the browser's HTML: managers only, figures beside the previous period,
links to the incidents behind them, clear errors for a bad range, and a bounded number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.reporting.world import build

pytestmark = pytest.mark.django_db
OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}


def test_a_manager_sees_every_section_with_links_to_the_queue(client: Client, manager: Any) -> None:
    world = build(21)
    client.force_login(manager)
    page = client.get("/reports/", OCTOBER)
    assert page.status_code == 200
    html = page.content.decode()
    for heading in (
        "Incidents per day",
        "First response time",
        "Response targets met, by category",
        "Time in each approval step",
        "Top recurring themes",
        "Surges and crisis periods",
    ):
        assert heading in html
    assert 'id="headline-incidents"' in html and "created_after=2026-10-01T00%3A00%3A00%2B00%3A00" in html
    assert "Recall rumour" in html  # the crisis period in the range
    assert f'href="/incidents/{world.incidents[7].pk}/"' in html  # the surge incident
    assert 'data-breach-count="category:' in html
    assert "01 Oct 2026 to 31 Oct 2026" in html and "compared with 31 Aug to 30 Sep 2026" in html


def test_a_category_narrows_the_dashboard(client: Client, manager: Any) -> None:
    world = build(22)
    delivery = world.categories[0]
    client.force_login(manager)
    html = client.get("/reports/", {**OCTOBER, "category": str(delivery.pk)}).content.decode()
    assert f"category={delivery.pk}" in html
    assert "Product safety</th>" not in html  # the other category is gone from the volume table


@pytest.mark.parametrize("who", ["responder", "legal", "integration", "outsider"])
def test_other_roles_cannot_read_reports(client: Client, who: str, request: pytest.FixtureRequest) -> None:
    client.force_login(request.getfixturevalue(who))
    page = client.get("/reports/")
    assert page.status_code == 403
    assert "Reports" not in page.content.decode().split("<main", 1)[0]  # no nav link either
    assert client.get("/reports/reviews-due/").status_code == 403  # nor the dashboard's reviews card


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-10-31", "end": "2026-10-01"}, "The range ends before it starts."),
        ({"start": "2020-01-01", "end": "2026-10-01"}, "A report covers at most two years."),
        ({"start": "yesterday"}, "From: Enter a valid date."),
        ({"priority": "urgent"}, "Priority: Select a valid choice."),
    ],
)
def test_a_bad_range_or_filter_answers_400_saying_why(
    client: Client, manager: Any, params: dict[str, str], message: str
) -> None:
    client.force_login(manager)
    page = client.get("/reports/", params)
    assert page.status_code == 400
    assert message in page.content.decode()


def test_the_page_takes_the_same_queries_with_ten_times_the_data(
    client: Client, manager: Any, django_assert_max_num_queries: Any
) -> None:
    build(23)
    client.force_login(manager)
    client.get("/reports/", OCTOBER)  # warms the per-process caches (crisis banner, categories)
    with django_assert_max_num_queries(80) as few:
        client.get("/reports/", OCTOBER)
    for seed in range(24, 33):
        build(seed, prefix=f"s{seed}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/reports/", OCTOBER)


def test_the_reviews_of_the_plan_that_are_due_are_on_the_dashboard(client: Client, manager: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from protocols.models import Category, ReviewSchedule
    from protocols.services.cadence import review_schedules_sync

    Category.objects.create(name="Billing", slug="billing")
    review_schedules_sync(now=timezone.now())
    overdue = ReviewSchedule.objects.filter(
        kind="category", object_id=Category.objects.get(slug="billing").pk
    ).first()
    assert overdue is not None
    ReviewSchedule.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(days=3))
    client.force_login(manager)
    # The dashboard's card loads the list beside the figures.
    assert 'hx-get="/reports/reviews-due/" hx-trigger="load"' in client.get("/reports/").content.decode()
    html = client.get("/reports/reviews-due/", HTTP_HX_REQUEST="true").content.decode()
    section = html.split('id="reviews-due"', 1)[1].split("</table>", 1)[0]
    assert "Billing" in section and "Overdue" in section
    client.logout()
    assert client.get("/reports/reviews-due/").status_code == 302  # signed out: to the login page
