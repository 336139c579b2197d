"""The playbooks' part of the account timeline (`accounts.timeline`, registered in
`wiring.connect()`): what the plays did to the account, and what they did not do and why.

Nothing skipped or deferred is silent (DESIGN §6): a skipped activation (capacity, a
blocking motion, the re-entry policy), a step skipped for do-not-contact or a manual
tier, a step deferred by the touch cap and a step cancelled because its play ended each
appear with the reason recorded on the row. Each kind is one query.
"""

from django.db.models.functions import Coalesce

from accounts import timeline

from ..choices import ActivationStatus, ExitReason, SkipReason
from ..choices_execution import StepRunStatus, StepSkipReason
from ..models import Activation
from ..models_execution import StepRun, Task

ACTIVATION = "activation"
ACTIVATION_ENDED = "activation_ended"
STEP_RUN = "step_run"
TASK = "task"
TASK_CLOSED = "task_closed"

# Step runs with something to show: pending ones have not happened yet.
SHOWN_STEP_STATUSES = [
    StepRunStatus.DONE,
    StepRunStatus.FAILED,
    StepRunStatus.SKIPPED,
    StepRunStatus.DEFERRED,
    StepRunStatus.CANCELLED,
]


def _why(reason: str, choices) -> str:
    """A recorded reason in words (a reason the choices do not know is shown as it is)."""
    return choices(reason).label if reason in choices.values else reason


def _playbook(playbook) -> dict:
    return {"id": playbook.pk, "name": playbook.name, "motion": playbook.motion}


def _entry_action(activation) -> str:
    if activation.status == ActivationStatus.SKIPPED:
        return "skipped"
    return "held_out" if activation.is_holdout else "started"


def activation_entries(*, account_id: int, cursor, limit: int) -> list:
    rows = timeline.after(
        Activation.objects.filter(account_id=account_id).select_related("playbook"),
        cursor,
        kind=ACTIVATION,
        time_field="started_at",
    )[:limit]
    entries = []
    for activation in rows:
        action = _entry_action(activation)
        name = activation.playbook.name
        summary = {
            "started": f"Entered the play '{name}'",
            "held_out": f"Entered the play '{name}' in its control group: no steps run",
            "skipped": f"Not entered in the play '{name}': {_why(activation.reason, SkipReason)}",
        }[action]
        entries.append(
            timeline.Entry(
                time=activation.started_at,
                kind=ACTIVATION,
                id=activation.pk,
                action=action,
                summary=summary,
                reason=activation.reason if action == "skipped" else "",
                data={
                    "playbook": _playbook(activation.playbook),
                    "status": activation.status,
                    "evidence": activation.evidence,
                },
            )
        )
    return entries


def activation_ended_entries(*, account_id: int, cursor, limit: int) -> list:
    ended = (
        Activation.objects.filter(account_id=account_id, ended_at__isnull=False)
        .exclude(status=ActivationStatus.SKIPPED)  # a skip is its start entry
        .select_related("playbook")
    )
    rows = timeline.after(ended, cursor, kind=ACTIVATION_ENDED, time_field="ended_at")[:limit]
    return [
        timeline.Entry(
            time=activation.ended_at,
            kind=ACTIVATION_ENDED,
            id=activation.pk,
            action=activation.status,
            summary=f"Left the play '{activation.playbook.name}'"
            + (f": {_why(activation.reason, ExitReason)}" if activation.reason else ""),
            reason=activation.reason,
            data={"playbook": _playbook(activation.playbook), "started_at": activation.started_at},
        )
        for activation in rows
    ]


def step_run_entries(*, account_id: int, cursor, limit: int) -> list:
    # A run shows when it finished, or (still waiting) when it was first deferred.
    runs = (
        StepRun.objects.filter(activation__account_id=account_id, status__in=SHOWN_STEP_STATUSES)
        .annotate(at=Coalesce("finished_at", "deferred_since"))
        .filter(at__isnull=False)
        .select_related("activation__playbook")
    )
    rows = timeline.after(runs, cursor, kind=STEP_RUN, time_field="at")[:limit]
    entries = []
    for run in rows:
        playbook = run.activation.playbook
        summary = f"Step {run.step_index + 1} of '{playbook.name}' ({run.kind}): {run.status}"
        if run.reason:
            summary += f", {_why(run.reason, StepSkipReason)}"
        entries.append(
            timeline.Entry(
                time=run.at,
                kind=STEP_RUN,
                id=run.pk,
                action=run.status,
                summary=summary,
                reason=run.reason,
                data={
                    "playbook": _playbook(playbook),
                    "activation": run.activation_id,
                    "step": run.step_index + 1,
                    "step_kind": run.kind,
                    "result": run.result,
                    "attempts": run.attempts,
                    "deferred_since": run.deferred_since,
                    "due_at": run.due_at,
                },
            )
        )
    return entries


def _task_data(task) -> dict:
    activation = task.activation
    return {
        "title": task.title,
        "status": task.status,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "priority": task.priority,
        "playbook": _playbook(activation.playbook) if activation is not None else None,
        "activation": task.activation_id,
    }


def _tasks(account_id: int):
    return Task.objects.filter(account_id=account_id).select_related(
        "assignee", "activation__playbook"
    )


def task_entries(*, account_id: int, cursor, limit: int) -> list:
    rows = timeline.after(_tasks(account_id), cursor, kind=TASK, time_field="created_at")[:limit]
    return [
        timeline.Entry(
            time=task.created_at,
            kind=TASK,
            id=task.pk,
            action="created",
            summary=f"Task for {task.assignee.get_username() if task.assignee_id else 'no one'}"
            f": {task.title}",
            data=_task_data(task),
        )
        for task in rows
    ]


def task_closed_entries(*, account_id: int, cursor, limit: int) -> list:
    closed = _tasks(account_id).filter(completed_at__isnull=False)
    rows = timeline.after(closed, cursor, kind=TASK_CLOSED, time_field="completed_at")[:limit]
    return [
        timeline.Entry(
            time=task.completed_at,
            kind=TASK_CLOSED,
            id=task.pk,
            action=task.status,
            summary=f"Task {task.status}: {task.title}",
            data=_task_data(task),
        )
        for task in rows
    ]


def register() -> None:
    for kind, entries, description in [
        (ACTIVATION, activation_entries,
         "An account entering a play (`action` started or held_out) or left out of it "
         "(skipped, with `reason`: capacity, blocked, reentry, cooldown); `data` has the "
         "playbook and the evidence."),
        (ACTIVATION_ENDED, activation_ended_entries,
         "A play ending for the account (`action` exited or completed, `reason` e.g. "
         "unmatched, merged, manual)."),
        (STEP_RUN, step_run_entries,
         "A play's step: done, failed, skipped, deferred or cancelled (`action`), with the "
         "`reason` (touch_cap, do_not_contact, manual_tier, exited, an error)."),
        (TASK, task_entries, "A task created for the account, by a play or by hand."),
        (TASK_CLOSED, task_closed_entries, "A task done or dismissed (`action`)."),
    ]:  # fmt: skip
        timeline.register_timeline_source(kind, entries=entries, description=description)
