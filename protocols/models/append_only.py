"""Rows that are written once and never changed or deleted (audit trails): the model and its queryset
refuse both in Python, and each table's database trigger refuses them for code that goes around."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError(self.model.append_only_message)

    def delete(self) -> NoReturn:
        raise PermissionError(self.model.append_only_message)


class AppendOnlyModel(models.Model):
    append_only_message: ClassVar[str] = "These rows are append-only; they cannot be changed or deleted."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError(self.append_only_message)
