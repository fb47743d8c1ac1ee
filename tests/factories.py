"""factory_boy factories for the suite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import Incident, IncidentStatus
from incidents.services.incidents import incident_refresh_search
from protocols.models import Category, Priority, RoleAssignment, Tier


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        self.save()
        for role in extracted or []:
            RoleAssignment.objects.get_or_create(user=self, role=role)


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    tier = Tier.ROUTINE


class IncidentFactory(factory.django.DjangoModelFactory[Incident]):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Incident {n}")
    description = "Something happened"
    priority = Priority.NORMAL
    status = IncidentStatus.NEW
    platform = "x"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def searchable(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            incident_refresh_search(self.pk)


def mention_payload(n: int | str, **overrides: Any) -> dict[str, Any]:
    """A valid mention as a client would send it."""
    body: dict[str, Any] = {
        "platform": "x",
        "external_id": f"ext-{n}",
        "url": f"https://x.com/someone/status/{n}",
        "author_handle": f"author{n}",
        "author_name": "Some One",
        "text": f"My order {n} arrived late",
        "posted_at": datetime(2026, 11, 22, 9, 0, tzinfo=UTC).isoformat(),
    }
    body.update(overrides)
    return body
