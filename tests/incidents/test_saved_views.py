"""Saved queue views: each user saves the queue's filters under a name of their own, sees them in the
sidebar, and deletes only their own; what a view stores is limited to the queue's filters and sort."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from config.errors import ValidationFailed
from incidents.models import SavedView
from incidents.services.saved_views import saved_view_create


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_saving_a_view_stores_its_filters_and_offers_it(responder: Any) -> None:
    client = signed_in(responder)
    response = client.post("/views/", {"name": "  Instagram ", "query": "platform=instagram&cursor=abc&tag="})
    assert response.status_code == 302 and response["Location"] == "/?platform=instagram"
    view = SavedView.objects.get(user=responder)
    assert (view.name, view.query) == ("Instagram", "platform=instagram")
    page = client.get("/?platform=instagram").content.decode()
    assert 'aria-current="page">Instagram</a>' in page


def test_a_duplicate_name_is_refused_with_the_reason(responder: Any, manager: Any) -> None:
    client = signed_in(responder)
    client.post("/views/", {"name": "Instagram", "query": "platform=instagram"})
    again = client.post("/views/", {"name": " Instagram", "query": "platform=tiktok"})
    assert again.status_code == 400
    assert "Name: You already have a view called “Instagram”." in again.content.decode()
    assert SavedView.objects.get(user=responder).query == "platform=instagram"
    # Names are unique per user: a colleague may use the same one.
    assert signed_in(manager).post("/views/", {"name": "Instagram", "query": ""}).status_code == 302
    assert SavedView.objects.count() == 2


def test_unknown_query_params_are_dropped(responder: Any) -> None:
    query = "?platform=instagram&utm_source=mail&next=/admin/&sort=oldest&priority=high&cursor=xyz"
    response = signed_in(responder).post("/views/", {"name": "Old Instagram", "query": query})
    assert response["Location"] == "/?platform=instagram&priority=high&sort=oldest"
    assert SavedView.objects.get().query == "platform=instagram&priority=high&sort=oldest"


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("   ", "", "name"),
        ("x" * 61, "", "name"),
        ("Long search", "q=" + "x" * 1000, "query"),
    ],
)
def test_bad_names_and_long_queries_are_refused(responder: Any, name: str, query: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        saved_view_create(user=responder, name=name, query=query)
    assert list(refused.value.fields) == [field]
    assert not SavedView.objects.exists()


def test_saved_views_need_a_team_role(outsider: Any) -> None:
    assert signed_in(outsider).post("/views/", {"name": "Mine", "query": ""}).status_code == 403
    assert not SavedView.objects.exists()


def test_deleting_another_users_view_is_404_and_keeps_it(responder: Any, manager: Any) -> None:
    view = SavedView.objects.create(user=responder, name="Instagram", query="platform=instagram")
    assert signed_in(manager).post(f"/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    client = signed_in(responder)
    assert client.post(f"/views/{view.pk + 1}/delete/").status_code == 404
    response = client.post(f"/views/{view.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not SavedView.objects.exists()
