"""The daily task digest: one email per owner with their tasks due today or overdue."""

from collections import defaultdict
from datetime import date

from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from ..choices_execution import TaskStatus
from ..models_execution import Task

__all__ = ["task_digest_send"]

MAX_LISTED = 50


def task_digest_send(*, today: date | None = None) -> int:
    """Send each assignee with open tasks due by `today` one email; returns how many.

    One query for the tasks (snoozed tasks wake up on their date), whatever the number of
    owners; the emails go over one connection.
    """
    today = today or timezone.localdate()
    tasks = (
        Task.objects.filter(
            status__in=(TaskStatus.OPEN, TaskStatus.SNOOZED),
            due_date__lte=today,
            assignee__is_active=True,
        )
        .exclude(assignee__email="")
        .exclude(status=TaskStatus.SNOOZED, snoozed_until__gt=today)
        .select_related("assignee", "account")
        .order_by("assignee_id", "due_date", "id")
    )
    by_owner = defaultdict(list)
    for task in tasks:
        by_owner[task.assignee].append(task)
    messages = []
    for owner, owned in by_owner.items():
        overdue = sum(1 for t in owned if t.due_date < today)
        lines = [
            f"- {'OVERDUE ' if t.due_date < today else ''}{t.due_date:%d %b}: "
            f"{t.title} ({t.account.name})"
            for t in owned[:MAX_LISTED]
        ]
        if len(owned) > MAX_LISTED:
            lines.append(f"... and {len(owned) - MAX_LISTED} more in your inbox.")
        messages.append(
            EmailMessage(
                subject=f"Your tasks for {today:%d %b %Y}: {len(owned)} due, {overdue} overdue",
                body="\n".join(lines) + "\n",
                to=[owner.email],
                headers={"Message-ID": f"<digest-{owner.pk}-{today:%Y%m%d}@abx-ops>"},
            )
        )
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
