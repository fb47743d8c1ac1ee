"""Filling in template bodies: declared variables are substituted as plain text, defaults fill gaps,
missing values are named, and any other template syntax is left as text and reported, never run."""

from __future__ import annotations

import time

import pytest

from templates_app.rendering import VariableSpec, placeholders_in, render_body

VARIABLES = [
    {"name": "customer_name", "label": "Customer", "default": "there"},
    {"name": "order_number", "label": "Order", "default": ""},
    {"name": "agent_first_name", "label": "You", "default": ""},
]
BODY = "Hi {{ customer_name }}, sorry about order {{order_number}}. {{   agent_first_name }}"


def test_declared_variables_are_filled_whatever_the_spacing_inside_the_braces() -> None:
    result = render_body(
        body=BODY,
        variables=VARIABLES,
        values={"customer_name": "Ana", "order_number": "A-1001", "agent_first_name": "Riley"},
    )
    assert result.text == "Hi Ana, sorry about order A-1001. Riley"
    assert result.missing == [] and result.unknown == [] and result.invalid == []
    assert result.is_complete


def test_a_default_fills_a_variable_given_no_value_or_a_blank_one() -> None:
    for values in ({}, {"customer_name": "   "}):
        result = render_body(
            body=BODY, variables=VARIABLES, values={**values, "order_number": "7", "agent_first_name": "Sam"}
        )
        assert result.text == "Hi there, sorry about order 7. Sam"
        assert result.missing == []


def test_a_variable_without_value_or_default_is_reported_and_stays_visible() -> None:
    result = render_body(body=BODY, variables=VARIABLES, values={"customer_name": "Ana"})
    assert result.missing == ["order_number", "agent_first_name"]
    assert result.text == "Hi Ana, sorry about order {{ order_number }}. {{ agent_first_name }}"
    assert not result.is_complete


def test_variables_may_be_given_as_specs() -> None:
    result = render_body(
        body="Hello {{ name }}", variables=[VariableSpec(name="name", default="friend")], values={}
    )
    assert result.text == "Hello friend"


@pytest.mark.parametrize(
    "syntax",
    [
        "{{ user.password }}",
        "{{ x|upper }}",
        "{% debug %}",
        "{{ settings.SECRET_KEY }}",
        "{% load static %}",
        "{# a comment #}",
        "{{ customer_name|safe }}",
        "{{ ''.__class__ }}",
        "{% include 'base.html' %}",
    ],
)
def test_other_template_syntax_is_left_as_text_and_reported(syntax: str) -> None:
    body = f"Hi {{{{ customer_name }}}}, {syntax} bye"
    result = render_body(body=body, variables=VARIABLES, values={"customer_name": "Ana"})
    assert result.text == f"Hi Ana, {syntax} bye"
    assert result.invalid == [syntax]
    assert not result.is_complete


def test_nothing_is_evaluated_and_no_secret_leaks() -> None:
    body = "{{ settings.SECRET_KEY }} {{ user.password }} {% debug %} {{ x|upper }}"
    result = render_body(
        body=body, variables=[{"name": "x"}], values={"x": "lower", "user": "u", "settings": "s"}
    )
    assert result.text == body
    assert "LOWER" not in result.text and "dev-only" not in result.text
    assert result.invalid == [
        "{{ settings.SECRET_KEY }}",
        "{{ user.password }}",
        "{% debug %}",
        "{{ x|upper }}",
    ]


def test_unclosed_or_stray_syntax_is_reported_too() -> None:
    result = render_body(body="Hi {{ customer_name, see {% if", variables=VARIABLES, values={})
    assert result.text == "Hi {{ customer_name, see {% if"
    assert result.invalid == ["{{", "{%"]


def test_an_undeclared_placeholder_is_reported_as_unknown_and_left_alone() -> None:
    result = render_body(body="Hi {{ nickname }}", variables=VARIABLES, values={"nickname": "Ana"})
    assert result.text == "Hi {{ nickname }}"
    assert result.unknown == ["nickname"]


def test_a_value_is_inserted_literally_and_never_read_as_a_placeholder() -> None:
    result = render_body(
        body="Hi {{ customer_name }}, order {{ order_number }}",
        variables=VARIABLES,
        values={"customer_name": "{{ order_number }} {% debug %}", "order_number": "42"},
    )
    assert result.text == "Hi {{ order_number }} {% debug %}, order 42"
    assert result.invalid == [] and result.missing == []


def test_placeholders_in_lists_each_name_once_in_order() -> None:
    assert placeholders_in(BODY + " {{ customer_name }} {{ x|upper }}") == [
        "customer_name",
        "order_number",
        "agent_first_name",
    ]


def test_a_hostile_body_renders_quickly() -> None:
    body = "{{" * 20_000 + "{%" * 20_000
    started = time.monotonic()
    result = render_body(body=body, variables=VARIABLES, values={})
    assert time.monotonic() - started < 1
    assert result.invalid == ["{{", "{%"]
