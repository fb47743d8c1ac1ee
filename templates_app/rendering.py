"""Fills a template body's `{{ name }}` placeholders with plain text, by hand: nothing in a body is ever
evaluated, and anything else that looks like template syntax is left as it is and reported."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
VARIABLE_NAME = re.compile(rf"^{NAME_PATTERN}$")
MAX_NAME_LENGTH = 50
# A well-formed placeholder; whitespace inside the braces is allowed.
PLACEHOLDER = re.compile(rf"\{{\{{\s*({NAME_PATTERN})\s*\}}\}}")
# Anything that looks like a tag of a template language (Django, Jinja, Liquid, Handlebars...). Braces
# are excluded inside a tag so a long run of "{{" without a closing pair cannot make matching quadratic.
TAG = re.compile(r"\{\{[^{}]*\}\}|\{%[^{}]*%\}|\{#[^{}]*#\}")
# What is left of template syntax once the tags are gone: an opener without its closer, or a closer alone.
STRAY_SYNTAX = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")


@dataclass(frozen=True)
class VariableSpec:
    """A variable a template declares: its name in `{{ name }}`, how the composer labels it, and the
    text used when no value is given (empty = the value is required)."""

    name: str
    label: str = ""
    default: str = ""

    @classmethod
    def of(cls, raw: VariableSpec | Mapping[str, Any]) -> VariableSpec:
        if isinstance(raw, VariableSpec):
            return raw
        return cls(
            name=str(raw.get("name", "")),
            label=str(raw.get("label") or ""),
            default=str(raw.get("default") or ""),
        )

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label, "default": self.default}


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: list[str] = field(default_factory=list)  # declared, but no value and no default
    unknown: list[str] = field(default_factory=list)  # `{{ name }}` placeholders nobody declared
    invalid: list[str] = field(default_factory=list)  # other template syntax, left as literal text

    @property
    def is_complete(self) -> bool:
        return not (self.missing or self.unknown or self.invalid)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def placeholders_in(body: str) -> list[str]:
    """The names of the well-formed `{{ name }}` placeholders in a body, first appearance first."""
    return _unique(match.group(1) for match in PLACEHOLDER.finditer(body))


def invalid_syntax_in(body: str) -> list[str]:
    """Every piece of template syntax in a body that is not a plain `{{ name }}` placeholder."""
    found: list[str] = []
    position = 0
    for match in TAG.finditer(body):
        found.extend(m.group(0) for m in STRAY_SYNTAX.finditer(body, position, match.start()))
        if not PLACEHOLDER.fullmatch(match.group(0)):
            found.append(match.group(0))
        position = match.end()
    found.extend(m.group(0) for m in STRAY_SYNTAX.finditer(body, position))
    return _unique(found)


def render_body(
    *, body: str, variables: Sequence[VariableSpec | Mapping[str, Any]], values: Mapping[str, str]
) -> Rendered:
    """Substitutes declared variables with their value (or default) as literal text, in one pass, so a
    value that itself contains braces is never read as a placeholder. An unfilled placeholder stays
    visible as `{{ name }}` and its name is listed in `missing`."""
    declared = {spec.name: spec for spec in map(VariableSpec.of, variables)}
    missing: list[str] = []
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        spec = declared.get(name)
        if spec is None:
            unknown.append(name)
            return match.group(0)
        value = values.get(name)
        if value is not None and str(value).strip():
            return str(value)
        if spec.default:
            return spec.default
        missing.append(name)
        return f"{{{{ {name} }}}}"

    text = PLACEHOLDER.sub(substitute, body)
    return Rendered(
        text=text, missing=_unique(missing), unknown=_unique(unknown), invalid=invalid_syntax_in(body)
    )
