"""Demo content for the templates app: approved templates of every kind in the brand's warm voice, FAQs
and talking points, banned phrases, the apology's required element and a few tone notes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents import policies
from protocols.models import Category
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    FaqKind,
    RequiredElement,
    ResponseTemplate,
    TemplateKind,
    ToneNote,
)
from templates_app.services import brand as brand_services
from templates_app.services import faqs as faq_services
from templates_app.services import templates as template_services

CUSTOMER = {"name": "customer_name", "label": "Customer's first name", "default": "there"}
AGENT = {"name": "agent_first_name", "label": "Your first name"}
TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "Late order apology",
        "kind": TemplateKind.APOLOGY,
        "categories": ["routine-complaint"],
        "body": (
            "Hi {{ customer_name }}, I'm so sorry your order {{ order_number }} hasn't reached you yet. "
            "That's not the experience we want for you. I've asked our delivery team to look into it "
            "right now and I'll come back to you today with an update. {{ agent_first_name }}"
        ),
        "variables": [CUSTOMER, {"name": "order_number", "label": "Order number"}, AGENT],
    },
    {
        "name": "Complaint: we hear you",
        "kind": TemplateKind.COMPLAINT,
        "categories": ["routine-complaint"],
        "body": (
            "Thank you for telling us, {{ customer_name }}. We hear you, and we want to put this right. "
            "Could you send us a DM with your order number so we can look into it straight away? "
            "{{ agent_first_name }}"
        ),
        "variables": [CUSTOMER, AGENT],
    },
    {
        "name": "Product question answered",
        "kind": TemplateKind.INQUIRY,
        "categories": ["product-inquiry"],
        "body": (
            "Great question, {{ customer_name }}! {{ answer }} If there's anything else you'd like to know, "
            "we're right here. {{ agent_first_name }}"
        ),
        "variables": [CUSTOMER, {"name": "answer", "label": "The answer"}, AGENT],
    },
    {
        "name": "Thank you for the kind words",
        "kind": TemplateKind.PRAISE,
        "categories": ["praise"],
        "body": (
            "This made our day, {{ customer_name }}. Thank you! We'll pass your kind words on to the team "
            "who made it happen."
        ),
        "variables": [CUSTOMER],
    },
    {
        "name": "Holding statement",
        "kind": TemplateKind.HOLDING_STATEMENT,
        "categories": ["pr-crisis"],
        "body": (
            "We're aware of reports about {{ topic }} and we're looking into them as our top priority. "
            "We'll share an update here by {{ next_update }}. Thank you for your patience while we do."
        ),
        "variables": [
            {"name": "topic", "label": "What the reports are about"},
            {"name": "next_update", "label": "When the next update comes", "default": "the end of the day"},
        ],
    },
    {
        "name": "Let's take this to DM",
        "kind": TemplateKind.TAKE_OFFLINE,
        "categories": [],
        "body": (
            "Hi {{ customer_name }}, we'd love to help with this properly. We've sent you a direct "
            "message: could you reply there with your order number and the best way to reach you? "
            "{{ agent_first_name }}"
        ),
        "variables": [CUSTOMER, AGENT],
    },
]
FAQS: list[dict[str, Any]] = [
    {
        "kind": FaqKind.FAQ,
        "title": "Is the X2 blender dishwasher safe?",
        "body": (
            "Yes: the jug, lid and blade assembly go in the top rack. Wipe the motor base with a damp cloth."
        ),
        "products": ["blender-x2"],
        "categories": ["product-inquiry"],
    },
    {
        "kind": FaqKind.FAQ,
        "title": "How long does delivery take?",
        "body": (
            "Standard delivery takes 2-4 working days; express arrives the next working day when ordered "
            "before 2 pm. The tracking link is in the order confirmation email."
        ),
        "products": [],
        "categories": ["routine-complaint", "product-inquiry"],
    },
    {
        "kind": FaqKind.FAQ,
        "title": "How do refunds and exchanges work?",
        "body": (
            "Returns are free within 30 days. The refund reaches the original payment method within 5 "
            "working days of the return arriving; an exchange ships the day the return is scanned."
        ),
        "products": [],
        "categories": ["routine-complaint"],
    },
    {
        "kind": FaqKind.TALKING_POINT,
        "title": "X2 blender safety reports",
        "body": (
            "We take every safety report seriously. Ask the customer to stop using the blender and to DM "
            "us. Never guess at the cause in public: legal reviews any statement about a fault."
        ),
        "products": ["blender-x2"],
        "categories": ["pr-crisis"],
    },
]
BANNED = [
    ("calm down", '"I understand how frustrating this is"'),
    ("as per our policy", "the reason, in plain words"),
    ("unfortunately there is nothing we can do", "what we can do"),
]
TONE_NOTES = [
    ("Warm, not stiff", "Write as a helpful person would talk: first names, contractions, no jargon.", 10),
    ("Own it", "When we got it wrong, say sorry once and plainly, then say what happens next.", 20),
    ("Move it private", "Never ask for order numbers, addresses or phone numbers in public.", 30),
]


def _categories(slugs: list[str]) -> list[Category]:
    return list(Category.objects.filter(slug__in=slugs))


@transaction.atomic
def seed_demo_templates(*, owner: Any, approver: Any) -> None:
    """Creates what is missing (by name or title), so running it again changes nothing. `owner` writes
    the templates and FAQs (template.edit, faq.edit); `approver`, another user, approves them
    (template.approve). Brand rules are written by whichever of the two may edit them."""
    for spec in TEMPLATES:
        if ResponseTemplate.objects.filter(name__iexact=spec["name"]).exists():
            continue
        template = template_services.template_create(
            actor=owner,
            name=spec["name"],
            kind=spec["kind"],
            body=spec["body"],
            variables=spec["variables"],
            categories=_categories(spec["categories"]),
        )
        draft = template.versions.get()
        template_services.template_version_approve(
            actor=approver, version_id=draft.pk, template_id=template.pk
        )
    for faq in FAQS:
        if not FaqEntry.objects.filter(title=faq["title"]).exists():
            faq_services.faq_create(actor=owner, **{**faq, "categories": _categories(faq["categories"])})
    brand_editor = owner if policies.can(user=owner, action="brand.edit") else approver
    for phrase, suggestion in BANNED:
        if not BannedPhrase.objects.filter(phrase__iexact=phrase).exists():
            brand_services.banned_phrase_save(actor=brand_editor, phrase=phrase, suggestion=suggestion)
    if not RequiredElement.objects.filter(kind=TemplateKind.APOLOGY).exists():
        brand_services.required_element_save(
            actor=brand_editor,
            kind=TemplateKind.APOLOGY,
            label="an apology",
            alternatives=["sorry", "apolog"],
        )
    for title, body, position in TONE_NOTES:
        if not ToneNote.objects.filter(title=title).exists():
            brand_services.tone_note_save(actor=brand_editor, title=title, body=body, position=position)
