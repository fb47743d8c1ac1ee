"""The forms behind the reply pages: what the composer, the brand check, the FAQ search and each reply
action accept from the browser."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.services import replies as services


class ReplyTextField(forms.CharField):
    """A reply's text as the platform counts it: a browser sends each line break as CR LF, one character."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=services.BODY_MAX, required=False, strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class VersionField(forms.IntegerField):
    def __init__(self) -> None:
        super().__init__(required=False, min_value=1)


class BodyForm(forms.Form):
    body = ReplyTextField(label="Reply")
    version = VersionField()


class ComposerForm(forms.Form):
    body = ReplyTextField(label="Reply")
    mention = forms.IntegerField(required=False)
    template = forms.IntegerField(required=False)
    intent = forms.ChoiceField(
        choices=[("draft", "Save draft"), ("submit", "Submit"), ("publish", "Publish")], required=False
    )
    url = forms.CharField(label="Link to the post", max_length=2000, required=False)


class CheckForm(forms.Form):
    body = ReplyTextField()
    kind = forms.CharField(max_length=20, required=False)
    mention = forms.IntegerField(required=False)


class TemplateForm(forms.Form):
    template = forms.IntegerField(required=False)
    mention = forms.IntegerField(required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", max_length=2000, required=False)
    version = VersionField()


class PublishForm(forms.Form):
    url = forms.CharField(label="Link to the post", max_length=2000, required=False)
    confirm_stale = forms.BooleanField(required=False)
    version = VersionField()


class FaqForm(forms.Form):
    q = forms.CharField(max_length=200, required=False)
