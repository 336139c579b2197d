"""Step execution: step runs created when an activation starts, run by a periodic sweeper.

Guarantees (DESIGN §6): a step runs at least once and takes effect once.

- The claim is the StepRun row, unique per (activation, step); it is created with the
  activation, in the evaluator's transaction, with its due time (delays add up: each
  step's delay counts from the step before it).
- The sweeper picks due runs whose earlier steps are finished, claims each one in its
  own transaction (`select_for_update(skip_locked=True)` on PostgreSQL, so two workers
  never take the same run; on SQLite every transaction is `BEGIN IMMEDIATE`, one writer at
  a time, and the run's status is re-read inside it), performs the step's database effects
  and marks the run done in that same transaction. A worker killed halfway leaves the run
  pending and the effects rolled back; the next sweep runs it again.
- What leaves the system (webhooks, chat messages) is written to the outbox in that same
  transaction with the run's id as its idempotency key; emails carry a Message-ID made
  from it, so a receiver can drop a repeat.
"""

import json
import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Concat
from django.utils import timezone

from abx_site.common.bulk import bulk_load

from ..choices import ActivationStatus, ExitPolicy, Motion
from ..choices_execution import (
    OPEN_TASK_STATUSES,
    WAITING_STATUSES,
    StepRunStatus,
    StepSkipReason,
    WebhookEvent,
)
from ..models import Activation, PlaybookVersion
from ..models_execution import Campaign, StepRun, Task
from . import campaigns
from .events import events_emit
from .steps import StepDeferred, StepFailed, StepSkipped, run_step

__all__ = [
    "MAX_ATTEMPTS",
    "activations_exited",
    "activations_started",
    "step_run_execute",
    "step_sweep",
]

logger = logging.getLogger(__name__)

# An unexpected error (a bug, a lost connection) is retried this many times, backing off.
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(minutes=5)
SWEEP_LIMIT = 500
STEP_RUN_COLUMNS = [
    "activation",
    "step_index",
    "kind",
    "config",
    "status",
    "due_at",
    "attempts",
    "reason",
    "result",
    "created_at",
]


def activations_started(ids: list[int]) -> None:
    """Create the step runs of new activations, and what starting them changes at once.

    Called by the evaluator inside the transaction that writes the activations.
    """
    activations = list(
        Activation.objects.filter(pk__in=ids, status=ActivationStatus.ACTIVE).values(
            "pk",
            "account_id",
            "version_id",
            "started_at",
            "status",
            "reason",
            "evidence",
            "playbook_id",
            "playbook__name",
            "playbook__motion",
        )
    )
    # One evaluation starts thousands of activations on a handful of versions: read
    # each version's steps once, not once per activation.
    steps_of = {
        pk: snapshot.get("steps", [])
        for pk, snapshot in PlaybookVersion.objects.filter(
            pk__in={a["version_id"] for a in activations}
        ).values_list("pk", "snapshot")
    }
    now = timezone.now()
    configs = {}  # each step's config serialised once per version
    pending = StepRunStatus.PENDING.value
    runs = []
    for activation in activations:
        due = activation["started_at"]
        version_id = activation["version_id"]
        for index, step in enumerate(steps_of[version_id]):
            due = due + timedelta(days=step.get("delay_days") or 0)
            config = configs.get((version_id, index))
            if config is None:
                config = configs[(version_id, index)] = json.dumps(step.get("config") or {})
            row = (activation["pk"], index, step["kind"], config, pending, due)
            runs.append((*row, 0, "", "{}", now))
    # Loaded in one COPY / executemany: an evaluation can start tens of thousands. The
    # activations are new (the hook's contract), so none has a run yet; the unique claim
    # per (activation, step) would refuse a second one.
    bulk_load(StepRun, STEP_RUN_COLUMNS, runs)
    events_emit(
        WebhookEvent.ACTIVATION_STARTED,
        [(f"activation-{a['pk']}-started", _started_data(a)) for a in activations],
    )
    # A retention play pulls the account out of pressure campaigns from its first moment.
    # Starting any other play changes no membership (its campaign steps have not run),
    # nor does a retention play while no campaign is marked pressure.
    retention = {a["account_id"] for a in activations if a["playbook__motion"] == Motion.RETENTION}
    if retention and Campaign.objects.filter(is_pressure=True).exists():
        campaigns.memberships_compute(account_ids=retention)


def _started_data(row: dict) -> dict:
    return {
        "activation": row["pk"],
        "playbook": {"id": row["playbook_id"], "name": row["playbook__name"]},
        "account": row["account_id"],
        "status": row["status"],
        "reason": row["reason"],
        "evidence": row["evidence"],
    }


def activations_exited(ids: list[int]) -> None:
    """Cancel what exited activations had still to do; open tasks stay, with a note.

    Called by the evaluator inside the transaction that exits the activations.
    """
    now = timezone.now()
    activations = list(Activation.objects.filter(pk__in=ids).select_related("playbook"))
    StepRun.objects.filter(activation_id__in=ids, status__in=WAITING_STATUSES).update(
        status=StepRunStatus.CANCELLED, reason=StepSkipReason.EXITED, finished_at=now
    )
    note = f"\n[{now:%Y-%m-%d}] The play that made this task has ended; it stays open."
    Task.objects.filter(activation_id__in=ids, status__in=OPEN_TASK_STATUSES).update(
        note=Concat("note", Value(note))
    )
    events_emit(
        WebhookEvent.ACTIVATION_EXITED,
        [(f"activation-{a.pk}-exited", _activation_data(a)) for a in activations],
    )
    campaigns.memberships_compute(account_ids={a.account_id for a in activations})


def _activation_data(activation) -> dict:
    return {
        "activation": activation.pk,
        "playbook": {"id": activation.playbook_id, "name": activation.playbook.name},
        "account": activation.account_id,
        "status": activation.status,
        "reason": activation.reason,
        "evidence": activation.evidence,
    }


def due_runs(*, now: datetime):
    """Runs that are due and whose earlier steps are all finished, oldest first."""
    earlier_waiting = StepRun.objects.filter(
        activation_id=OuterRef("activation_id"),
        step_index__lt=OuterRef("step_index"),
        status__in=WAITING_STATUSES,
    )
    return (
        StepRun.objects.filter(
            status__in=WAITING_STATUSES,
            due_at__lte=now,
            activation__status=ActivationStatus.ACTIVE,
        )
        .exclude(Exists(earlier_waiting))
        .order_by("due_at", "id")
    )


def step_sweep(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict:
    """Run every due step (up to `limit`); returns the count per outcome."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    # A step finishing can make the next one due at once (no delay): sweep again until
    # nothing more is due, bounded by the limit.
    done = 0
    while done < limit:
        ids = list(due_runs(now=now).values_list("pk", flat=True)[: limit - done])
        if not ids:
            break
        for pk in ids:
            outcome = step_run_execute(step_run_id=pk, now=now)
            counts[outcome] = counts.get(outcome, 0) + 1
        done += len(ids)
    return counts


def _claim(step_run_id: int, now: datetime) -> StepRun | None:
    runs = StepRun.objects.select_related("activation__playbook", "activation__account")
    if connection.features.has_select_for_update_skip_locked:
        runs = runs.select_for_update(skip_locked=True, of=("self",))
    run = runs.filter(pk=step_run_id, status__in=WAITING_STATUSES, due_at__lte=now).first()
    if run is None or run.activation.status != ActivationStatus.ACTIVE:
        return None
    return run


def step_run_execute(*, step_run_id: int, now: datetime | None = None) -> str:
    """Claim and run one step run; returns what became of it ("busy" if another has it)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            run = _claim(step_run_id, now)
            if run is None:
                return "busy"
            run.attempts += 1
            try:
                with transaction.atomic():
                    result = run_step(run, now=now)
            except StepDeferred as deferred:
                return _defer(run, deferred, now)
            except (StepSkipped, StepFailed) as stop:
                run.status = (
                    StepRunStatus.SKIPPED if isinstance(stop, StepSkipped) else StepRunStatus.FAILED
                )
                run.reason = str(stop.reason)[:255]
                run.result = stop.result
                run.finished_at = now
                run.save(update_fields=["status", "reason", "result", "attempts", "finished_at"])
                _complete_if_last(run, now)
                return run.status
            run.status = StepRunStatus.DONE
            run.result = result or {}
            run.reason = ""
            run.finished_at = now
            run.save(update_fields=["status", "result", "reason", "attempts", "finished_at"])
            _complete_if_last(run, now)
            return run.status
    except Exception:
        # The step's effects rolled back with the transaction; count the attempt and try
        # again later, then give up with the error as the reason.
        logger.exception("Step run %s failed unexpectedly.", step_run_id)
        return _retry_later(step_run_id, now)


def _defer(run: StepRun, deferred: StepDeferred, now: datetime) -> str:
    since = run.deferred_since or now
    if now - since >= deferred.give_up_after:
        run.status = StepRunStatus.SKIPPED
        run.finished_at = now
        run.reason = deferred.reason
        run.save(update_fields=["status", "finished_at", "reason", "attempts", "deferred_since"])
        _complete_if_last(run, now)
        return run.status
    run.status = StepRunStatus.DEFERRED
    run.deferred_since = since
    # Retry when room frees, but no later than the moment it would be given up.
    run.due_at = max(
        min(deferred.until, since + deferred.give_up_after), now + timedelta(minutes=1)
    )
    run.reason = deferred.reason
    run.save(update_fields=["status", "deferred_since", "due_at", "reason", "attempts"])
    return run.status


def _retry_later(step_run_id: int, now: datetime) -> str:
    with transaction.atomic():
        run = StepRun.objects.filter(pk=step_run_id, status__in=WAITING_STATUSES).first()
        if run is None:
            return "busy"
        run.attempts += 1
        if run.attempts >= MAX_ATTEMPTS:
            run.status = StepRunStatus.FAILED
            run.finished_at = now
            run.reason = "It failed unexpectedly too many times; see the logs."
        else:
            run.due_at = now + RETRY_BACKOFF * (2 ** (run.attempts - 1))
            run.reason = "It failed unexpectedly; it will be tried again."
        run.save(update_fields=["attempts", "status", "finished_at", "reason", "due_at"])
        return "retry" if run.status != StepRunStatus.FAILED else run.status


def _complete_if_last(run: StepRun, now: datetime) -> None:
    """With the 'on completion' exit policy, an activation ends when its last step is done."""
    activation = run.activation
    if activation.playbook.exit_policy != ExitPolicy.ON_COMPLETION:
        return
    if StepRun.objects.filter(activation=activation, status__in=WAITING_STATUSES).exists():
        return
    Activation.objects.filter(pk=activation.pk, status=ActivationStatus.ACTIVE).update(
        status=ActivationStatus.COMPLETED, ended_at=now, reason="completed"
    )
    activation.status = ActivationStatus.COMPLETED
    campaigns.memberships_compute(account_ids={activation.account_id})
