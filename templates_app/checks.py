"""What makes a template's wording acceptable, as plain functions returning problems in words; the
services refuse with them and the admin forms show them."""

from __future__ import annotations

from collections.abc import Sequence

from templates_app.rendering import (
    MAX_NAME_LENGTH,
    VARIABLE_NAME,
    VariableSpec,
    invalid_syntax_in,
    placeholders_in,
)

MAX_BODY_LENGTH = 10_000
MAX_VARIABLES = 30
MAX_LABEL_LENGTH = 100
MAX_DEFAULT_LENGTH = 500


def variables_problems(variables: Sequence[VariableSpec]) -> list[str]:
    problems: list[str] = []
    if len(variables) > MAX_VARIABLES:
        problems.append(f"At most {MAX_VARIABLES} variables.")
    seen: set[str] = set()
    for spec in variables:
        if not VARIABLE_NAME.match(spec.name) or len(spec.name) > MAX_NAME_LENGTH:
            problems.append(
                f'"{spec.name}" is not a variable name: use letters, digits and underscores, '
                f"starting with a letter (at most {MAX_NAME_LENGTH})."
            )
        elif spec.name in seen:
            problems.append(f'"{spec.name}" is declared twice.')
        seen.add(spec.name)
        if len(spec.label) > MAX_LABEL_LENGTH:
            problems.append(f'The label of "{spec.name}" is longer than {MAX_LABEL_LENGTH} characters.')
        if len(spec.default) > MAX_DEFAULT_LENGTH:
            problems.append(f'The default of "{spec.name}" is longer than {MAX_DEFAULT_LENGTH} characters.')
    return problems


def body_problems(body: str, variables: Sequence[VariableSpec]) -> list[str]:
    """A body may use only the plain `{{ name }}` placeholders of variables it declares."""
    if not body.strip():
        return ["Write the text of the template."]
    problems: list[str] = []
    if len(body) > MAX_BODY_LENGTH:
        problems.append(f"At most {MAX_BODY_LENGTH} characters.")
    for syntax in invalid_syntax_in(body):
        problems.append(f"{syntax} is not allowed: only {{{{ variable_name }}}} placeholders are filled in.")
    declared = {spec.name for spec in variables}
    for name in placeholders_in(body):
        if name not in declared:
            problems.append(f"{{{{ {name} }}}} is not a declared variable; declare it or remove it.")
    return problems
