"""Writes to response templates: create, edit (a new draft version once the latest is approved), approve
a version (never by one of its authors) and retire. Each change is a compare-and-set plus an event row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, ValidationFailed
from protocols.models import Category, Platform
from templates_app.checks import body_problems, variables_problems
from templates_app.models import (
    ResponseTemplate,
    TemplateEvent,
    TemplateEventKind,
    TemplateKind,
    TemplateStatus,
    TemplateVersion,
    VersionStatus,
)
from templates_app.policies import require, require_can_approve
from templates_app.rendering import VariableSpec
from templates_app.services.validation import clean_tags, clean_text, refuse

DEFAULT_REVIEW_AFTER = timedelta(days=365)
MAX_NAME_LENGTH = 120
MAX_LANGUAGE_LENGTH = 16
VariableInput = VariableSpec | Mapping[str, Any]


def _record(*, template_id: int, version_id: int | None, kind: str, actor: Any) -> None:
    TemplateEvent.objects.create(
        template_id=template_id, version_id=version_id, kind=kind, actor=actor, at=timezone.now()
    )


def _details_problems(
    *,
    template_id: int | None,
    name: str | None,
    kind: str | None,
    platforms: list[str] | None,
    language: str | None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if name is not None:
        if not name:
            problems["name"] = ["Give the template a name."]
        elif len(name) > MAX_NAME_LENGTH:
            problems["name"] = [f"At most {MAX_NAME_LENGTH} characters."]
        elif ResponseTemplate.objects.filter(name__iexact=name).exclude(id=template_id or 0).exists():
            problems["name"] = [f"A template named {name!r} already exists."]
    if kind is not None and kind not in TemplateKind.values:
        problems["kind"] = [f"{kind!r} is not a kind of template."]
    if platforms is not None:
        unknown = [p for p in platforms if p not in Platform.values]
        if unknown:
            problems["platforms"] = [f"{unknown[0]!r} is not a platform."]
    if language is not None and len(language) > MAX_LANGUAGE_LENGTH:
        problems["language"] = [f"At most {MAX_LANGUAGE_LENGTH} characters."]
    return problems


def _wording_problems(body: str, specs: list[VariableSpec]) -> dict[str, list[str]]:
    return {"variables": variables_problems(specs), "body": body_problems(body, specs)}


@transaction.atomic
def template_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    body: str,
    variables: Sequence[VariableInput] = (),
    categories: Sequence[Category] = (),
    platforms: Sequence[str] = (),
    language: str = "",
    owner: Any | None = None,
    review_due_on: date | None = None,
) -> ResponseTemplate:
    """A new template with its first version as a draft; nothing is offered until it is approved."""
    require(user=actor, action="template.edit")
    name, language = clean_text(name), clean_text(language)
    platform_list = clean_tags(platforms)
    specs = [VariableSpec.of(raw) for raw in variables]
    refuse(
        {
            **_details_problems(
                template_id=None, name=name, kind=kind, platforms=platform_list, language=language
            ),
            **_wording_problems(body, specs),
        }
    )
    try:
        with transaction.atomic():
            template = ResponseTemplate.objects.create(
                name=name,
                kind=kind,
                platforms=platform_list,
                language=language,
                owner=owner or actor,
                review_due_on=review_due_on or timezone.localdate() + DEFAULT_REVIEW_AFTER,
            )
    except IntegrityError:
        raise ValidationFailed(
            f"name: A template named {name!r} already exists.",
            fields={"name": [f"A template named {name!r} already exists."]},
        ) from None
    template.categories.set(categories)
    version = TemplateVersion.objects.create(
        template=template,
        number=1,
        body=body,
        variables=[spec.as_dict() for spec in specs],
        created_by=actor,
    )
    version.authors.add(actor)
    _record(template_id=template.pk, version_id=version.pk, kind=TemplateEventKind.CREATED, actor=actor)
    return template


def _locked_template(template_id: int) -> ResponseTemplate:
    # Every write locks the template row first, then touches versions: one order, so no deadlocks.
    template = ResponseTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.")
    return template


@transaction.atomic
def template_update(
    *,
    actor: Any,
    template_id: int,
    name: str | None = None,
    kind: str | None = None,
    categories: Sequence[Category] | None = None,
    platforms: Sequence[str] | None = None,
    language: str | None = None,
    owner: Any | None = None,
    review_due_on: date | None = None,
    body: str | None = None,
    variables: Sequence[VariableInput] | None = None,
) -> ResponseTemplate:
    """Changes what is given (None = keep). Name, kind, categories, platforms, language, owner and review
    date apply at once. New wording (body or variables) edits the draft in place, or starts the next
    draft version when the latest is approved; the approved version stays current until that draft is
    approved."""
    require(user=actor, action="template.edit")
    template = _locked_template(template_id)
    if template.status == TemplateStatus.RETIRED:
        raise Conflict("This template is retired and can no longer be edited; create a new one instead.")
    latest = template.versions.order_by("-number").first()
    if latest is None:  # every template is created with its first version
        raise NotFound("Template has no version.")
    name = clean_text(name) if name is not None else None
    language = clean_text(language) if language is not None else None
    platform_list = clean_tags(platforms) if platforms is not None else None
    new_body = body if body is not None else latest.body
    specs = [VariableSpec.of(raw) for raw in (variables if variables is not None else latest.variables)]
    refuse(
        {
            **_details_problems(
                template_id=template.pk, name=name, kind=kind, platforms=platform_list, language=language
            ),
            **(_wording_problems(new_body, specs) if body is not None or variables is not None else {}),
        }
    )
    _update_details(
        template=template,
        actor=actor,
        changes={
            "name": name,
            "kind": kind,
            "platforms": platform_list,
            "language": language,
            "owner": owner,
            "review_due_on": review_due_on,
        },
        categories=categories,
    )
    new_variables = [spec.as_dict() for spec in specs]
    if new_body != latest.body or new_variables != latest.variables:
        _update_wording(template=template, latest=latest, actor=actor, body=new_body, variables=new_variables)
    return template


def _update_details(
    *, template: ResponseTemplate, actor: Any, changes: dict[str, Any], categories: Sequence[Category] | None
) -> None:
    changed = [
        field for field, value in changes.items() if value is not None and getattr(template, field) != value
    ]
    for field in changed:
        setattr(template, field, changes[field])
    if changed:
        try:
            with transaction.atomic():
                template.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise Conflict("Another template with that name was saved at the same time.") from None
    if categories is not None and {c.pk for c in categories} != set(
        template.categories.values_list("pk", flat=True)
    ):
        template.categories.set(categories)
        changed.append("categories")
    if changed:
        _record(template_id=template.pk, version_id=None, kind=TemplateEventKind.DETAILS_CHANGED, actor=actor)


def _update_wording(
    *,
    template: ResponseTemplate,
    latest: TemplateVersion,
    actor: Any,
    body: str,
    variables: list[dict[str, str]],
) -> None:
    if latest.status == VersionStatus.DRAFT:
        edited = TemplateVersion.objects.filter(
            pk=latest.pk, status=VersionStatus.DRAFT, revision=latest.revision
        ).update(body=body, variables=variables, revision=F("revision") + 1, updated_at=timezone.now())
        if not edited:
            raise Conflict("The draft was approved or edited by someone else first; reload it and try again.")
        latest.authors.add(actor)
        _record(template_id=template.pk, version_id=latest.pk, kind=TemplateEventKind.EDITED, actor=actor)
        return
    version = TemplateVersion.objects.create(
        template=template, number=latest.number + 1, body=body, variables=variables, created_by=actor
    )
    version.authors.add(actor)
    _record(template_id=template.pk, version_id=version.pk, kind=TemplateEventKind.NEW_VERSION, actor=actor)


@transaction.atomic
def template_version_approve(
    *, actor: Any, version_id: int, template_id: int | None = None, revision: int | None = None
) -> TemplateVersion:
    """Approves a draft version and makes it the template's current one; earlier approved versions stay
    approved (nothing is retired). `revision`, when given, must be the draft's revision the approver
    read: an edit since then makes this a conflict. Nobody approves a version they wrote words of."""
    require(user=actor, action="template.approve")
    owner_id = TemplateVersion.objects.filter(pk=version_id).values_list("template_id", flat=True).first()
    if owner_id is None or (template_id is not None and owner_id != template_id):
        raise NotFound("Template version not found.")
    template = _locked_template(owner_id)
    version = TemplateVersion.objects.get(pk=version_id)
    require_can_approve(user=actor, version=version)
    if template.status == TemplateStatus.RETIRED:
        raise Conflict("This template is retired; its versions can no longer be approved.")
    draft = TemplateVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT)
    if revision is not None:
        draft = draft.filter(revision=revision)
    now = timezone.now()
    if not draft.update(status=VersionStatus.APPROVED, approved_by=actor, approved_at=now, updated_at=now):
        if version.status != VersionStatus.DRAFT:
            raise Conflict(f"Version {version.number} is already {version.get_status_display().lower()}.")
        raise Conflict(
            f"Version {version.number} was edited since you read it (now revision {version.revision}); "
            "read it again before approving."
        )
    template.status = TemplateStatus.APPROVED
    template.current_version = version
    template.save(update_fields=["status", "current_version", "updated_at"])
    _record(template_id=template.pk, version_id=version.pk, kind=TemplateEventKind.APPROVED, actor=actor)
    version.refresh_from_db()
    return version


@transaction.atomic
def template_retire(*, actor: Any, template_id: int) -> ResponseTemplate:
    """Stops offering the template; its versions are kept, retired, for the record."""
    require(user=actor, action="template.approve")
    now = timezone.now()
    retired = ResponseTemplate.objects.filter(
        pk=template_id, status__in=[TemplateStatus.DRAFT, TemplateStatus.APPROVED]
    ).update(status=TemplateStatus.RETIRED, updated_at=now)
    if not retired:
        if ResponseTemplate.objects.filter(pk=template_id).exists():
            raise Conflict("This template is already retired.")
        raise NotFound("Template not found.")
    TemplateVersion.objects.filter(
        template_id=template_id, status__in=[VersionStatus.DRAFT, VersionStatus.APPROVED]
    ).update(status=VersionStatus.RETIRED, retired_at=now, updated_at=now)
    _record(template_id=template_id, version_id=None, kind=TemplateEventKind.RETIRED, actor=actor)
    return ResponseTemplate.objects.get(pk=template_id)
