"""Writes of the execution layer made by people: updating, snoozing, reassigning tasks."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .choices_execution import TaskStatus
from .models_execution import Task

__all__ = ["TASK_EDITABLE_FIELDS", "task_update"]

TASK_EDITABLE_FIELDS = {"status", "snoozed_until", "assignee", "due_date", "priority", "note"}


@transaction.atomic
def task_update(*, task: Task, data: dict) -> Task:
    """Change a task's status (snoozing needs `snoozed_until`), assignee, due date, ..."""
    unknown = sorted(set(data) - TASK_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be set here."))
    for field, value in data.items():
        setattr(task, field, value)
    if task.status == TaskStatus.SNOOZED:
        if not task.snoozed_until:
            raise ValidationError({"snoozed_until": "Say until when the task sleeps."})
        if isinstance(task.snoozed_until, date) and task.snoozed_until <= timezone.localdate():
            raise ValidationError({"snoozed_until": "Snooze until a day after today."})
    elif "status" in data:
        task.snoozed_until = None
    if task.status in (TaskStatus.DONE, TaskStatus.DISMISSED):
        task.completed_at = task.completed_at or timezone.now()
    else:
        task.completed_at = None
    task.full_clean()
    task.save()
    return task
