"""An incident's answers to its category's "Identify the problem" checklist: the current answer per
question, who gave it and when. Every answer and change is also a timeline event (before -> after)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.core import Incident
from protocols.models import ChecklistQuestion


class ChecklistAnswer(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist_answers")
    question = models.ForeignKey(ChecklistQuestion, on_delete=models.PROTECT, related_name="answers")
    # bool (yes/no), str (a choice, text, an ISO datetime with its offset) or a number, by the kind
    value = models.JSONField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "question"], name="checklist_answer_once")]

    def __str__(self) -> str:
        return f"Answer to question {self.question_id} on incident {self.incident_id}"
