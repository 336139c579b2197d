"""What playbooks add to the scoreboards (`metrics.scoreboard`, DESIGN §5 and §7).

- The `motion` rollup grouping: an account belongs to the motion of every playbook
  that is working it now (an `active` activation). An account with plays in two
  motions counts once in each motion's group and once in the total, so motion groups do
  not sum to the total (the rollup says so); an account no play is working is in no
  motion group. Held-out accounts are not counted: their steps do not run, nobody works
  them in that motion. This is the `/accounts/?motion=` filter's rule too, so both agree.
- Two sections of an account's scoreboard: `active_plays` (its open activations, held
  out ones marked) and `open_tasks` (open or snoozed, soonest due first).
- Effectiveness of every playbook at once, for the scoreboard page: the figures of
  `analysis.playbook_effectiveness` (treated vs holdout outcome rates, the lift with a
  Newcombe interval), computed with one query for the activations and one per outcome
  kind in use, whatever the number of playbooks and accounts.

Each function runs a fixed number of queries, whatever the number of accounts.
"""

import bisect
from collections import defaultdict
from datetime import UTC, date, timedelta

from django.db.models import F
from django.utils import timezone

from . import stats
from .analysis import outcome_dates
from .choices import OPEN_STATUSES, ActivationStatus
from .choices_execution import OPEN_TASK_STATUSES
from .models import Activation, Playbook, Task

__all__ = [
    "account_active_plays",
    "account_open_tasks",
    "motions_by_account",
    "playbooks_effectiveness",
]


# Rollup grouping ------------------------------------------------------------------------


def motions_by_account(accounts) -> dict[int, list[str]]:
    """Account id -> the motions of the playbooks actively working it (sorted).

    `accounts` is a queryset of account ids (the rollup's live accounts): one query.
    """
    rows = (
        Activation.objects.filter(status=ActivationStatus.ACTIVE, account_id__in=accounts)
        .order_by()
        .values_list("account_id", "playbook__motion")
        .distinct()
    )
    result: dict[int, list[str]] = defaultdict(list)
    for account_id, motion in rows:
        result[account_id].append(motion)
    for motions in result.values():
        motions.sort()
    return dict(result)


# Account scoreboard sections ------------------------------------------------------------------


def account_active_plays(account_ids) -> dict[int, list[dict]]:
    """Account id -> its open activations (newest first), with the evidence: one query."""
    rows = (
        Activation.objects.filter(account_id__in=account_ids, status__in=OPEN_STATUSES)
        .order_by("-started_at", "-id")
        .values(
            "id",
            "account_id",
            "playbook_id",
            "status",
            "is_holdout",
            "evidence",
            "started_at",
            playbook_name=F("playbook__name"),
            motion=F("playbook__motion"),
            version_number=F("version__number"),
        )
    )
    result: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        account_id = row.pop("account_id")
        result[account_id].append(
            {
                "id": row["id"],
                "playbook": row["playbook_id"],
                "playbook_name": row["playbook_name"],
                "motion": row["motion"],
                "version": row["version_number"],
                "status": row["status"],
                "is_holdout": row["is_holdout"],
                "started_at": row["started_at"],
                "evidence": row["evidence"],
            }
        )
    return dict(result)


def account_open_tasks(account_ids) -> dict[int, list[dict]]:
    """Account id -> its open and snoozed tasks, soonest due first (undated last): one query."""
    today = timezone.localdate()
    rows = (
        Task.objects.filter(account_id__in=account_ids, status__in=OPEN_TASK_STATUSES)
        .order_by(F("due_date").asc(nulls_last=True), "id")
        .values(
            "id",
            "account_id",
            "title",
            "status",
            "priority",
            "due_date",
            "snoozed_until",
            assignee_username=F("assignee__username"),
            playbook_id=F("activation__playbook_id"),
            playbook_name=F("activation__playbook__name"),
        )
    )
    result: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        result[row["account_id"]].append(
            {
                "id": row["id"],
                "title": row["title"],
                "assignee": row["assignee_username"],
                "status": row["status"],
                "priority": row["priority"],
                "due_date": row["due_date"],
                "overdue": row["due_date"] is not None and row["due_date"] < today,
                "snoozed_until": row["snoozed_until"],
                "playbook": (
                    {"id": row["playbook_id"], "name": row["playbook_name"]}
                    if row["playbook_id"] is not None
                    else None
                ),
            }
        )
    return dict(result)


# Effectiveness of every playbook --------------------------------------------------------------


def playbooks_effectiveness(*, today: date | None = None) -> list[dict]:
    """Per playbook that ever started an activation: `playbook_effectiveness`'s figures.

    Only activations whose outcome window has closed are compared (the others are
    `pending`). Playbooks come in priority order, then by name.
    """
    today = today or timezone.now().date()
    by_playbook: dict[int, list[tuple[int, date, bool]]] = defaultdict(list)
    for playbook_id, account_id, started, holdout in (
        Activation.objects.exclude(status=ActivationStatus.SKIPPED)
        .order_by()
        .values_list("playbook_id", "account_id", "started_at", "is_holdout")
        .iterator(chunk_size=5000)
    ):
        by_playbook[playbook_id].append((account_id, started.astimezone(UTC).date(), holdout))
    if not by_playbook:
        return []
    playbooks = list(Playbook.objects.filter(pk__in=by_playbook).order_by("priority", "name"))
    # Outcome events are read once per (kind, stage) in use, from the earliest start.
    since: dict[tuple[str, str], date] = {}
    for playbook in playbooks:
        window = playbook.outcome_window_days
        closed = [day for _, day, _ in by_playbook[playbook.pk] if _closed(day, window, today)]
        if closed:
            key = (playbook.outcome_kind, playbook.outcome_stage)
            since[key] = min(min(closed), since.get(key, date.max))
    events = {
        (kind, stage): outcome_dates(kind=kind, stage=stage, since=start, until=today)
        for (kind, stage), start in since.items()
    }
    result = []
    for playbook in playbooks:
        window = playbook.outcome_window_days
        happened = events.get((playbook.outcome_kind, playbook.outcome_stage), {})
        counts = {True: [0, 0], False: [0, 0]}
        rows = by_playbook[playbook.pk]
        pending = 0
        for account_id, day, holdout in rows:
            if not _closed(day, window, today):
                pending += 1
                continue
            counts[holdout][1] += 1
            counts[holdout][0] += _within(happened.get(account_id, []), day, window)
        treated, held = counts[False], counts[True]
        lift = None
        if treated[1] and held[1]:
            difference, low, high = stats.newcombe(treated[0], treated[1], held[0], held[1])
            lift = {"difference": difference, "low": low, "high": high}
        result.append(
            {
                "playbook": playbook,
                "outcome": {
                    "kind": playbook.outcome_kind,
                    "stage": playbook.outcome_stage,
                    "window_days": window,
                },
                "treated": stats.rate(*treated).as_dict(),
                "holdout": stats.rate(*held).as_dict(),
                "lift": lift,
                "pending": pending,
            }
        )
    return result


def _closed(start: date, window: int, today: date) -> bool:
    return start + timedelta(days=window) <= today


def _within(days: list, start: date, window: int) -> bool:
    """Whether one of the sorted `days` falls in (start, start + window]."""
    index = bisect.bisect_right(days, start)
    return index < len(days) and days[index] <= start + timedelta(days=window)
