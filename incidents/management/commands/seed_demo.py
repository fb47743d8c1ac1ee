"""`manage.py seed_demo`: one user per role, the demo categories and triage rules, and a morning's
worth of mentions. Safe to run again: it creates only what is missing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from incidents.services.ingestion import mentions_ingest
from protocols.models import Category, IntakeSource, Role, RoleAssignment, Tier, TriageRule

DEMO_PASSWORD = "firebreak-demo"  # noqa: S105 - printed on purpose: these are demo accounts
DEMO_USERS = [
    ("responder", "Riley", "Responder", [Role.RESPONDER]),
    ("liaison", "Sam", "Support", [Role.SUPPORT_LIAISON]),
    ("pr", "Parker", "Reyes", [Role.PR]),
    ("legal", "Lee", "Gallagher", [Role.LEGAL]),
    ("manager", "Morgan", "Chen", [Role.MANAGER]),
    ("spokesperson", "Sky", "Okafor", [Role.SPOKESPERSON]),
    ("admin", "Ada", "Admin", [Role.ADMIN]),
    ("integration", "Listening", "Bridge", [Role.INTEGRATION]),
]
CATEGORIES = [
    ("Routine complaint", "routine-complaint", Tier.ROUTINE, "Delivery, billing and product complaints."),
    ("Product inquiry", "product-inquiry", Tier.ROUTINE, "Questions about products, stock and orders."),
    ("Praise", "praise", Tier.ROUTINE, "Thanks and compliments worth a reply."),
    ("Influencer / high reach", "influencer", Tier.HIGH_PRIORITY, "Authors whose posts reach many people."),
    ("PR crisis", "pr-crisis", Tier.CRISIS, "Viral, reputational or safety issues."),
]
MENTIONS: list[dict[str, Any]] = [
    {
        "platform": "x",
        "author": "ana_bakes",
        "text": "My blender arrived broken and support hasn't answered in 3 days.",
        "products": ["blender-x2"],
        "minutes": 240,
    },
    {
        "platform": "instagram",
        "author": "tomfitness",
        "text": "Love the new protein shaker, best purchase this year!",
        "products": ["shaker"],
        "minutes": 200,
        "sentiment": "positive",
    },
    {
        "platform": "google_reviews",
        "author": "m.keller",
        "text": "Waited 40 minutes in store, staff were rude. 1 star.",
        "minutes": 180,
    },
    {
        "platform": "tiktok",
        "author": "megastar_jules",
        "text": "This brand's blender literally exploded on me. Never again.",
        "products": ["blender-x2"],
        "minutes": 90,
    },
    {
        "platform": "facebook",
        "author": "dave.p",
        "text": "Is the X2 blender dishwasher safe?",
        "products": ["blender-x2"],
        "minutes": 75,
    },
    {
        "platform": "trustpilot",
        "author": "karen_r",
        "text": "Charged twice for one order and no refund yet. Scam?",
        "minutes": 60,
    },
    {
        "platform": "x",
        "author": "ana_bakes",
        "text": "Still waiting. Order #4411. Anyone?",
        "products": ["blender-x2"],
        "minutes": 30,
        "thread_of": 0,
    },
    {
        "platform": "linkedin",
        "author": "j.morales",
        "text": "Your recall notice mentions injuries. Is this a lawsuit?",
        "minutes": 15,
    },
    {
        "platform": "mastodon",
        "author": "fediverse_fan",
        "text": "When will the kettle be back in stock?",
        "products": ["kettle"],
        "minutes": 5,
    },
]


class Command(BaseCommand):
    help = "Load the demo users, categories, triage rules and mentions (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = self._users()
        categories = {slug: self._category(name, slug, tier, text) for name, slug, tier, text in CATEGORIES}
        self._rules(categories)
        IntakeSource.objects.get_or_create(
            slug="demo-listening", defaults={"name": "Demo listening tool", "secret": "demo-webhook-secret"}
        )
        self._mentions(users["integration"])
        if not options["quiet_logins"]:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, _, _, roles in DEMO_USERS:
                self.stdout.write(f"  {username:<13} {', '.join(str(r.label) for r in roles)}")

    def _users(self) -> dict[str, Any]:
        User = get_user_model()
        users = {}
        for username, first, last, roles in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                if Role.ADMIN in roles:
                    user.is_staff = True
                    user.is_superuser = True
                user.save()
            for role in roles:
                RoleAssignment.objects.get_or_create(user=user, role=role)
            users[username] = user
        return users

    def _category(self, name: str, slug: str, tier: str, description: str) -> Category:
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "tier": tier, "description": description}
        )
        return category

    def _rules(self, categories: dict[str, Category]) -> None:
        rules = [
            dict(
                name="Influencers and VIPs",
                position=10,
                authors=["megastar_jules", "tomfitness"],
                set_category=categories["influencer"],
                set_priority="high",
                route_to_role=Role.PR,
                add_tags=["vip"],
            ),
            dict(
                name="Safety and legal words",
                position=20,
                keywords=["exploded", "injury", "injuries", "lawsuit", "recall", "fire"],
                set_category=categories["pr-crisis"],
                set_priority="critical",
                route_to_role=Role.PR,
                add_tags=["safety"],
            ),
            dict(
                name="Refunds go to support",
                position=30,
                keywords=["refund", "charged twice", "broken"],
                set_category=categories["routine-complaint"],
                route_to_role=Role.SUPPORT_LIAISON,
                add_tags=["refund"],
            ),
            dict(
                name="Questions",
                position=40,
                keywords=["in stock", "dishwasher", "when will"],
                set_category=categories["product-inquiry"],
                set_priority="low",
            ),
        ]
        for spec in rules:
            TriageRule.objects.get_or_create(name=spec["name"], defaults=spec)

    def _mentions(self, integration_user: Any) -> None:
        now = timezone.now()
        items = []
        for index, spec in enumerate(MENTIONS):
            item: dict[str, Any] = {
                "platform": spec["platform"],
                "external_id": f"demo-{index}",
                "url": f"https://example.com/{spec['platform']}/demo-{index}",
                "author_handle": spec["author"],
                "text": spec["text"],
                "posted_at": (now - timedelta(minutes=spec["minutes"])).isoformat(),
                "products": spec.get("products", []),
            }
            if "sentiment" in spec:
                item["sentiment"] = spec["sentiment"]
            if "thread_of" in spec:
                item["thread_id"] = f"demo-{spec['thread_of']}"
            items.append(item)
        results = mentions_ingest(items=items, actor=integration_user, actor_label="demo data")
        created = sum(1 for r in results if r.status == "created")
        self.stdout.write(f"Demo mentions: {created} new, {len(results) - created} already loaded.")
