"""What playbooks show on the account graph's pages: the account's plays, open tasks
and campaigns; the task inbox; "motion" and "has open tasks" filters of the list.

Read-only: completing or dismissing a task is the execution layer's service; its form
joins the inbox when that service lands.
"""

from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.web import registry

from .choices import OPEN_STATUSES, ActivationStatus, Motion
from .choices_execution import OPEN_TASK_STATUSES, MembershipStatus
from .models import Activation, CampaignMembership, Task

# Overdue first: the earliest due date leads; undated tasks come last.
DUE_ORDER = [F("due_date").asc(nulls_last=True), F("id").asc()]

SHOWN = 20
INBOX_SIZE = 100


def _plays(account, request):
    activations = list(
        Activation.objects.filter(account=account, status__in=OPEN_STATUSES)
        .select_related("playbook")
        .order_by("-started_at", "-id")[:SHOWN]
    )
    tasks = list(
        Task.objects.filter(account=account, status__in=OPEN_TASK_STATUSES)
        .select_related("assignee", "activation__playbook")
        .order_by(*DUE_ORDER)[:SHOWN]
    )
    campaigns = list(
        CampaignMembership.objects.filter(account=account, contact__isnull=True)
        .exclude(status=MembershipStatus.REMOVED)
        .select_related("campaign")
        .order_by("campaign__name")[:SHOWN]
    )
    return {
        "activations": activations,
        "tasks": tasks,
        "campaigns": campaigns,
        "today": timezone.localdate(),
        "holdout": ActivationStatus.HOLDOUT,
    }


def _inbox(request):
    tasks = list(
        Task.objects.filter(assignee=request.user, status__in=OPEN_TASK_STATUSES)
        .select_related("account", "activation__playbook")
        .order_by(*DUE_ORDER)[: INBOX_SIZE + 1]
    )
    return {
        "tasks": tasks[:INBOX_SIZE],
        "more": len(tasks) > INBOX_SIZE,
        "today": timezone.localdate(),
    }


def _motion_filter(queryset, value):
    if value not in Motion.values:
        return queryset
    open_plays = Activation.objects.filter(
        account=OuterRef("pk"), status=ActivationStatus.ACTIVE, playbook__motion=value
    )
    return queryset.filter(Exists(open_plays))


def _open_tasks_filter(queryset, value):
    open_tasks = Task.objects.filter(account=OuterRef("pk"), status__in=OPEN_TASK_STATUSES)
    if value == "yes":
        return queryset.filter(Exists(open_tasks))
    if value == "no":
        return queryset.exclude(Exists(open_tasks))
    return queryset


def register():
    registry.register_account_panel(
        "plays",
        order=5,
        title="Plays and open tasks",
        template="playbooks/panels/plays.html",
        context=_plays,
    )
    registry.register_task_section(
        "inbox",
        order=10,
        title="Open tasks",
        template="playbooks/sections/inbox.html",
        context=_inbox,
    )
    registry.register_account_filter(
        "motion",
        order=20,
        label="Motion in play",
        choices=lambda: list(Motion.choices),
        apply=_motion_filter,
    )
    registry.register_account_filter(
        "open_tasks",
        order=30,
        label="Open tasks",
        choices=lambda: [("yes", "Has open tasks"), ("no", "No open tasks")],
        apply=_open_tasks_filter,
    )
