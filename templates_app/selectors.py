"""Reads of templates, FAQs and brand guidelines: the lists the API pages through, what the reply composer
offers for an incident (approved wording only, best fit first) and previews of a filled-in template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from config.errors import NotFound
from incidents import policies
from templates_app.brand import BrandIssue, check_draft
from templates_app.models import (
    BannedPhrase,
    FaqEntry,
    PlatformLimit,
    RequiredElement,
    ResponseTemplate,
    TemplateEvent,
    TemplateStatus,
    TemplateVersion,
    ToneNote,
    VersionStatus,
)
from templates_app.rendering import Rendered, VariableSpec, render_body

MAX_SUGGESTIONS = 50
TemplateCategory = ResponseTemplate.categories.through
FaqCategory = FaqEntry.categories.through


@dataclass(frozen=True)
class TemplateChoice:
    """An approved wording the composer may offer: the template and its current version."""

    template_id: int
    version_id: int
    name: str
    kind: str
    body: str
    variables: tuple[VariableSpec, ...]
    version_number: int = 1
    language: str = ""


@dataclass(frozen=True)
class TemplatePreview:
    template_id: int
    version_id: int
    version_number: int
    is_approved: bool
    rendered: Rendered
    issues: list[BrandIssue]

    @property
    def can_send(self) -> bool:
        """Approved wording, every variable filled, nothing against the brand guidelines."""
        return self.is_approved and self.rendered.is_complete and not self.issues


# --- Templates ----------------------------------------------------------------------------------------


def template_list(*, user: Any) -> QuerySet[ResponseTemplate]:
    """Every template the user may read, with what a list shows, in a fixed number of queries."""
    if not policies.can(user=user, action="template.view"):
        return ResponseTemplate.objects.none()
    versions = TemplateVersion.objects.filter(template_id=OuterRef("pk"))
    return (
        ResponseTemplate.objects.select_related("owner", "current_version")
        .prefetch_related("categories")
        .annotate(
            version_count=Subquery(
                versions.order_by().values("template_id").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            draft_version_id=Subquery(versions.filter(status=VersionStatus.DRAFT).values("pk")[:1]),
        )
    )


def template_get(*, user: Any, template_id: int) -> ResponseTemplate:
    """One template with its whole version history and events."""
    found = (
        template_list(user=user)
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=TemplateVersion.objects.select_related("created_by", "approved_by").order_by(
                    "-number"
                ),
            ),
            Prefetch("events", queryset=TemplateEvent.objects.select_related("actor", "version")),
        )
        .filter(pk=template_id)
        .first()
    )
    if found is None:
        raise NotFound("Template not found.")
    return found


def _fits(condition: Q) -> Case:
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def templates_for_incident(
    *, user: Any, category_id: int | None, platform: str, language: str = ""
) -> list[TemplateChoice]:
    """Approved current versions the user may use for an incident: templates made for its category
    (and for its platform) first, then general ones; templates tied only to other categories, other
    platforms or another language are left out. Empty when the user may not read templates."""
    if not policies.can(user=user, action="template.view"):
        return []
    qs = ResponseTemplate.objects.filter(
        status=TemplateStatus.APPROVED, current_version__status=VersionStatus.APPROVED
    ).annotate(is_general=~Exists(TemplateCategory.objects.filter(responsetemplate_id=OuterRef("pk"))))
    # Best fit first: made for the category, then for the platform, then in the language, then general.
    order: list[Any] = []
    if category_id is not None:
        in_category = TemplateCategory.objects.filter(
            responsetemplate_id=OuterRef("pk"), category_id=category_id
        )
        qs = qs.annotate(fits_category=Exists(in_category)).filter(Q(fits_category=True) | Q(is_general=True))
        order.append(F("fits_category").desc())
    if platform:
        qs = qs.filter(Q(platforms=[]) | Q(platforms__contains=[platform]))
        order.append(_fits(Q(platforms__contains=[platform])).desc())
    if language:
        qs = qs.filter(Q(language="") | Q(language__iexact=language))
        order.append(_fits(Q(language__iexact=language)).desc())
    rows = qs.order_by(*order, F("is_general").desc(), "name").values_list(
        "pk",
        "current_version_id",
        "name",
        "kind",
        "current_version__body",
        "current_version__variables",
        "current_version__number",
        "language",
    )
    return [
        TemplateChoice(
            template_id=pk,
            version_id=version_id,
            name=name,
            kind=kind,
            body=body,
            variables=tuple(VariableSpec.of(raw) for raw in variables or []),
            version_number=number,
            language=lang,
        )
        for pk, version_id, name, kind, body, variables, number, lang in rows
    ]


def approved_version(*, version_id: int) -> TemplateVersion | None:
    """The version if a reply may use its words now: approved, of a template that is not retired."""
    return (
        TemplateVersion.objects.select_related("template")
        .filter(pk=version_id, status=VersionStatus.APPROVED)
        .exclude(template__status=TemplateStatus.RETIRED)
        .first()
    )


def template_render(
    *,
    user: Any,
    template_id: int,
    values: Mapping[str, str],
    platform: str = "",
    version_id: int | None = None,
) -> TemplatePreview:
    """Fills in a template and checks the result against the brand guidelines. Without `version_id` the
    current approved version is used (the latest draft of a template never approved yet)."""
    template = template_list(user=user).filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.")
    versions = TemplateVersion.objects.filter(template_id=template.pk)
    if version_id is not None:
        version = versions.filter(pk=version_id).first()
    else:
        version = template.current_version or versions.order_by("-number").first()
    if version is None:
        raise NotFound("Template version not found.")
    rendered = render_body(body=version.body, variables=version.variables, values=values)
    return TemplatePreview(
        template_id=template.pk,
        version_id=version.pk,
        version_number=version.number,
        is_approved=version.status == VersionStatus.APPROVED and template.status != TemplateStatus.RETIRED,
        rendered=rendered,
        issues=check_draft(text=rendered.text, platform=platform, kind=template.kind),
    )


# --- FAQs and talking points ----------------------------------------------------------------------------


def faq_list(*, user: Any) -> QuerySet[FaqEntry]:
    if not policies.can(user=user, action="faq.view"):
        return FaqEntry.objects.none()
    return FaqEntry.objects.defer("search_vector").prefetch_related("categories")


def faq_search(qs: QuerySet[FaqEntry], *, query: str) -> QuerySet[FaqEntry]:
    """Full-text match (web search syntax: words, "a phrase", -not, or), using the GIN index."""
    return qs.filter(search_vector=SearchQuery(query, search_type="websearch", config="english"))


def faqs_for(*, user: Any, category_id: int | None, query: str = "", limit: int = 10) -> list[FaqEntry]:
    """Active FAQs and talking points for the composer: those linked to the category first, then the
    general ones (no category), best text match first within each. Without a query, entries that belong
    only to other categories are left out; with one, they come last."""
    qs = faq_list(user=user).filter(is_active=True)
    limit = max(1, min(limit, MAX_SUGGESTIONS))
    order: list[Any] = []
    if category_id is not None:
        qs = qs.annotate(
            fits_category=Exists(
                FaqCategory.objects.filter(faqentry_id=OuterRef("pk"), category_id=category_id)
            ),
            is_general=~Exists(FaqCategory.objects.filter(faqentry_id=OuterRef("pk"))),
        )
        if not query.strip():
            qs = qs.filter(Q(fits_category=True) | Q(is_general=True))
        order += [F("fits_category").desc(), F("is_general").desc()]
    if query.strip():
        search = SearchQuery(query, search_type="websearch", config="english")
        qs = qs.filter(search_vector=search).annotate(rank=SearchRank(F("search_vector"), search))
        order.append(F("rank").desc())
    return list(qs.order_by(*order, "title", "id")[:limit])


# --- Brand guidelines -----------------------------------------------------------------------------------


def banned_phrase_list(*, user: Any) -> QuerySet[BannedPhrase]:
    if not policies.can(user=user, action="brand.view"):
        return BannedPhrase.objects.none()
    return BannedPhrase.objects.all()


def required_element_list(*, user: Any) -> QuerySet[RequiredElement]:
    if not policies.can(user=user, action="brand.view"):
        return RequiredElement.objects.none()
    return RequiredElement.objects.all()


def platform_limit_list(*, user: Any) -> QuerySet[PlatformLimit]:
    if not policies.can(user=user, action="brand.view"):
        return PlatformLimit.objects.none()
    return PlatformLimit.objects.all()


def tone_note_list(*, user: Any) -> QuerySet[ToneNote]:
    if not policies.can(user=user, action="brand.view"):
        return ToneNote.objects.none()
    return ToneNote.objects.all()
