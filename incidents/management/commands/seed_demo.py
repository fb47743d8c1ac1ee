"""`manage.py seed_demo`: one user per role, the demo categories and triage rules, and a morning's
worth of mentions. Safe to run again: it creates only what is missing."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from incidents.services.ingestion import mentions_ingest
from protocols.models import (
    ApprovalChain,
    ApprovalRule,
    ApprovalStage,
    ApprovalStep,
    BusinessCalendar,
    Category,
    EscalationChain,
    EscalationStep,
    IntakeSource,
    OpeningHours,
    Platform,
    Priority,
    PublisherKind,
    Role,
    RoleAssignment,
    SlaPolicy,
    SocialAccount,
    Tier,
    TriageRule,
)
from protocols.services import seed_identify_problem_questions
from templates_app.demo import seed_demo_templates

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
DEMO_APPROVAL_CHAINS = [
    (
        "Legal and management sign-off",
        [
            (ApprovalStage.LEGAL_REVIEW, Role.LEGAL, 120),
            (ApprovalStage.MANAGEMENT_APPROVAL, Role.MANAGER, 60),
        ],
        [(Tier.HIGH_PRIORITY, ""), ("", Priority.HIGH)],
    ),
    (
        "Crisis statement sign-off",
        [(ApprovalStage.LEGAL_REVIEW, Role.LEGAL, 30), (ApprovalStage.MANAGEMENT_APPROVAL, Role.MANAGER, 15)],
        [(Tier.CRISIS, ""), ("", Priority.CRITICAL)],
    ),
]
DEMO_ACCOUNTS = [
    ("x", "@brand"),
    ("instagram", "brand"),
    ("facebook", "Brand"),
    ("mastodon", "@brand@social.example"),
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


DEMO_CHAINS: list[tuple[str, list[dict[str, Any]]]] = [
    ("Routine escalation", [dict(trigger="breach", delay_minutes=0, action="notify_management")]),
    (
        "High priority escalation",
        [
            dict(
                trigger="breach",
                delay_minutes=0,
                action="notify_management",
                repeat_every_minutes=15,
                repeat_times=3,
            ),
            dict(trigger="breach", delay_minutes=30, action="raise_priority"),
        ],
    ),
    (
        "Crisis escalation",
        [
            dict(trigger="warning", delay_minutes=0, action="notify_role", role=Role.PR),
            dict(
                trigger="breach",
                delay_minutes=0,
                action="notify_management",
                repeat_every_minutes=5,
                repeat_times=6,
            ),
            dict(trigger="breach", delay_minutes=10, action="open_crisis"),
        ],
    ),
]
# name, (category slug, priority), calendar, (first response, resolution) in minutes, chain
DEMO_POLICIES = [
    ("Routine", (None, ""), "office", (24 * 60, 72 * 60), "Routine escalation"),
    ("High priority", (None, "high"), "24/7", (60, 24 * 60), "High priority escalation"),
    ("Influencer / high reach", ("influencer", ""), "24/7", (60, 24 * 60), "High priority escalation"),
    ("Critical priority", (None, "critical"), "24/7", (15, 8 * 60), "Crisis escalation"),
    ("PR crisis", ("pr-crisis", ""), "24/7", (15, 8 * 60), "Crisis escalation"),
]


class Command(BaseCommand):
    help = "Load the demo users, categories, triage rules, SLA policies and mentions (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = self._users()
        categories = {slug: self._category(name, slug, tier, text) for name, slug, tier, text in CATEGORIES}
        seed_identify_problem_questions(category=categories["influencer"])
        seed_identify_problem_questions(category=categories["pr-crisis"])
        self._rules(categories)
        self._sla(categories)
        self._approvals()
        # Templates, FAQs and brand rules go through their services: PR owns them, the manager approves.
        seed_demo_templates(owner=users["pr"], approver=users["manager"])
        IntakeSource.objects.get_or_create(
            slug="demo-listening", defaults={"name": "Demo listening tool", "secret": "demo-webhook-secret"}
        )
        self._mentions(users["integration"])
        # Every part of the plan gets its review schedule now, not at the next daily sync.
        from protocols.services.cadence import review_schedules_sync

        review_schedules_sync()
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

    def _sla(self, categories: dict[str, Category]) -> None:
        """The demo response plan: routine 24 h / 72 h on office hours, high priority 1 h / 24 h and
        crisis 15 min / 8 h around the clock, each warning at 75% and escalating when missed."""
        office, created = BusinessCalendar.objects.get_or_create(
            name="Office hours Mon-Fri 09-17", defaults={"time_zone": "Europe/Stockholm"}
        )
        if created:
            OpeningHours.objects.bulk_create(
                OpeningHours(calendar=office, weekday=day, opens_at=time(9), closes_at=time(17))
                for day in range(5)
            )
        chains = {}
        for name, steps in DEMO_CHAINS:
            chain, created = EscalationChain.objects.get_or_create(name=name)
            if created:
                EscalationStep.objects.bulk_create(
                    EscalationStep(chain=chain, position=index, **step) for index, step in enumerate(steps, 1)
                )
            chains[name] = chain
        for name, match, calendar, minutes, chain_name in DEMO_POLICIES:
            category_slug, priority = match
            first, resolution = minutes
            SlaPolicy.objects.get_or_create(
                name=name,
                defaults={
                    "category": categories[category_slug] if category_slug else None,
                    "priority": priority,
                    "calendar": office if calendar == "office" else None,
                    "first_response_minutes": first,
                    "next_response_minutes": first,
                    "resolution_minutes": resolution,
                    "warn_at_percent": 75,
                    "escalation_chain": chains[chain_name],
                },
            )

    def _approvals(self) -> None:
        """Replies to high-priority incidents go through legal (2 h) and management (1 h); crisis ones
        too, with tighter clocks; everything else goes straight out. Every platform is posted to by hand
        until an admin connects a webhook bridge or a Mastodon account."""
        for name, targets, rule_matches in DEMO_APPROVAL_CHAINS:
            chain, created = ApprovalChain.objects.get_or_create(name=name)
            if created:
                ApprovalStep.objects.bulk_create(
                    ApprovalStep(chain=chain, stage=stage, role=role, target_minutes=minutes)
                    for stage, role, minutes in targets
                )
            for tier, priority in rule_matches:
                ApprovalRule.objects.get_or_create(tier=tier, priority=priority, defaults={"chain": chain})
        ApprovalRule.objects.get_or_create(tier="", priority="", defaults={"chain": None})
        for platform, handle in DEMO_ACCOUNTS:
            SocialAccount.objects.get_or_create(
                name=f"Brand on {Platform(platform).label}",
                defaults={"platform": platform, "handle": handle, "publisher": PublisherKind.MANUAL},
            )

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
