"""The "Identify the problem" checklist: the questions a high-priority or crisis category asks of every
incident in it, each with the kind of answer it takes (the answers themselves live with the incidents)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from protocols.models.plan import Category, Tier

# Only categories in these tiers carry a checklist; a routine complaint is answered, not investigated.
CHECKLIST_TIERS = (Tier.HIGH_PRIORITY, Tier.CRISIS)


class AnswerKind(models.TextChoices):
    YES_NO = "yes_no", "Yes or no"
    CHOICE = "choice", "One of a list"
    TEXT = "text", "Text"
    DATETIME = "datetime", "Date and time"
    NUMBER = "number", "Number"


class ChecklistQuestion(models.Model):
    """One question of a category's checklist. Retire a question (is_active) rather than delete it once
    incidents have answered it: the answers keep pointing at it."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="checklist_questions")
    position = models.PositiveSmallIntegerField(default=1, help_text="Lower is asked first.")
    text = models.CharField(max_length=300)
    answer_kind = models.CharField(max_length=10, choices=AnswerKind.choices)
    choices = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        help_text="The answers to pick from (one-of-a-list questions only).",
    )
    is_required = models.BooleanField(default=True, help_text="Counts towards the checklist being complete.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(answer_kind="choice") | Q(choices__len__gte=2),
                name="checklist_question_choice_has_choices",
            ),
        ]
        indexes = [
            models.Index(fields=["category", "position"], condition=Q(is_active=True), name="checklist_live")
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        problems: dict[str, str] = {}
        choices = [c.strip() for c in self.choices or []]
        if self.answer_kind == AnswerKind.CHOICE:
            if len([c for c in choices if c]) < 2:
                problems["choices"] = "A one-of-a-list question needs at least two answers to pick from."
            elif len(set(choices)) != len(choices) or not all(choices):
                problems["choices"] = "The answers to pick from must be different and not empty."
        elif choices:
            problems["choices"] = "Only a one-of-a-list question has answers to pick from."
        if self.category_id is not None and self.category.tier not in CHECKLIST_TIERS:
            problems["category"] = "Only high-priority and crisis categories have a checklist."
        if problems:
            raise ValidationError(problems)
