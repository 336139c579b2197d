"""Preview, explain, backtest and effectiveness: what a playbook would do, and did.

- **Preview** compiles the saved playbook (the draft RevOps is editing) and runs the
  evaluator's own matching and entry rules against today's data without writing: the
  accounts that match now with their evidence, and how many would enter, be held out,
  be skipped (and why) or leave.
- **Explain** shows, for one account, every trigger and condition with the feature
  value and whether it passed, computed by the same SQL as evaluation.
- **Backtest** replays the playbook weekly over a past range, with features as of each
  replay moment (00:00 UTC of the replay day), through the same entry rules (re-entry,
  holdout, capacity; motion blocking is not replayed: other playbooks' past activations
  are not simulated). It reports entries per week, tasks per owner (from `create_task`
  steps, owners as they are today) and the outcome rate of entrants vs non-entrants per
  account-week (outcome window starting at the replay day), with Wilson intervals.
  Entrants are the accounts entering the set that week (held-out ones included: the
  comparison is about the rule, not the treatment); non-entrants are the accounts not
  matching it that week. Only weeks whose outcome window has closed are compared. This
  comparison is not causal and is not called lift.
- **Effectiveness** compares the outcome rate of treated activations with held-out ones
  (only those whose outcome window has closed): the difference is the lift, with a
  Newcombe 95% interval.

Outcomes happen on a day after the start day and within the window: `deal_won` (a deal
closed won), `expansion` (an ARR change up from a positive ARR), `churn` (an ARR change
from a positive ARR to 0), `stage_reached` (a stage change to the stage).
"""

import bisect
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django_q.tasks import async_task

from accounts.choices import AccountEventKind, DealStatus
from accounts.selectors import (
    account_event_list,
    account_set,
    arr_change_list,
    deal_list,
    team_member_list,
)

from . import catalog, stats
from .choices import ActivationStatus, JobStatus, OutcomeKind, StepKind
from .compiler import compile_snapshot, jsonable
from .evaluation import (
    PlaybookState,
    blocked_motions,
    match_accounts,
    plan_playbook,
    playbook_state,
)
from .models import Activation, Backtest, Playbook
from .services import playbook_snapshot

PREVIEW_ROWS = 100
MAX_BACKTEST_WEEKS = 104
CHUNK = 1000


# Preview and explain -------------------------------------------------------------------


def playbook_preview(*, playbook: Playbook, limit: int = PREVIEW_ROWS) -> dict:
    snapshot = playbook_snapshot(playbook)
    compiled = compile_snapshot(snapshot, key="preview")
    matches = match_accounts([compiled], accounts=account_set())
    evidence = matches.by_playbook["preview"]
    state = playbook_state(playbook.pk)
    plan = plan_playbook(
        playbook_id=playbook.pk,
        settings=snapshot,
        matched=set(evidence),
        state=state,
        blocked=blocked_motions().get(snapshot["motion"], set()),
        intent=matches.intent,
        now=timezone.now(),
    )
    ranked = sorted(evidence, key=lambda a: (-matches.intent.get(a, float("-inf")), a))[:limit]
    names = dict(account_set().filter(pk__in=ranked).values_list("pk", "name"))

    def would(account_id):
        if account_id in plan.start:
            return "enter" if plan.start[account_id] == ActivationStatus.ACTIVE else "holdout"
        if account_id in plan.skip:
            return f"skip: {plan.skip[account_id]}"
        return "stay" if account_id in state.members else "wait"

    return {
        "matching": len(evidence),
        "members": len(state.members),
        "would_enter": sum(1 for s in plan.start.values() if s == ActivationStatus.ACTIVE),
        "would_hold_out": sum(1 for s in plan.start.values() if s == ActivationStatus.HOLDOUT),
        "would_skip": dict(Counter(plan.skip.values())),
        "would_leave": len(plan.leave),
        "would_exit": len(plan.exit),
        "accounts": [
            {
                "id": account_id,
                "name": names.get(account_id, ""),
                "would": would(account_id),
                "evidence": evidence[account_id],
            }
            for account_id in ranked
        ],
    }


def playbook_explain(*, playbook: Playbook, account_id: int) -> dict:
    """Why the saved playbook does or does not match one account, condition by condition."""
    snapshot = playbook_snapshot(playbook)
    compiled = compile_snapshot(snapshot, key="explain")
    requests = [(alias, key, params) for alias, (key, params) in compiled.uses.items()]
    passes = compiled.condition_passes()
    queryset = catalog.annotate(account_set().filter(pk=account_id), requests).annotate(
        in_scope=Case(
            When(compiled.scope or Q(pk__isnull=False), then=Value(True)), default=Value(False)
        ),
        matched=compiled.matched_trigger(),
        **passes,
    )
    row = queryset.values("pk", "name", "in_scope", "matched", *compiled.uses, *passes).first()
    if row is None:
        raise ValidationError({"account": f"No live account with id {account_id}."})
    return {
        "account": {"id": row["pk"], "name": row["name"]},
        "matches": row["matched"] is not None,
        "matched_trigger": row["matched"],
        "in_scope": bool(row["in_scope"]),
        "scope": {"tiers": snapshot["tiers"], "stages": snapshot["stages"]},
        "triggers": [
            {
                "name": compiled.trigger_names[t],
                "passed": all(bool(row[f"c_{t}_{c}"]) for c in range(len(conditions))),
                "conditions": [
                    {
                        "feature": cond.feature,
                        "params": cond.params,
                        "operator": cond.operator,
                        "value": cond.value,
                        "actual": jsonable(row[cond.alias]),
                        "passed": bool(row[f"c_{t}_{c}"]),
                    }
                    for c, cond in enumerate(conditions)
                ],
            }
            for t, conditions in enumerate(compiled.triggers)
        ],
    }


# Outcomes ------------------------------------------------------------------------------


def outcome_dates(*, kind: str, stage: str = "", since: date, until: date) -> dict[int, list]:
    """Account id -> sorted days in (since, until] on which the outcome happened."""
    found: dict[int, list] = defaultdict(list)
    if kind == OutcomeKind.DEAL_WON:
        rows = (
            deal_list()
            .order_by()
            .filter(status=DealStatus.WON, close_date__gt=since, close_date__lte=until)
            .values_list("account_id", "close_date")
        )
        for account_id, day in rows:
            found[account_id].append(day)
    elif kind == OutcomeKind.STAGE_REACHED:
        rows = account_event_list().filter(
            kind=AccountEventKind.STAGE_CHANGED,
            new_value=stage,
            occurred_at__gte=_midnight(since + timedelta(days=1)),
            occurred_at__lt=_midnight(until + timedelta(days=1)),
        )
        for account_id, moment in rows.values_list("account_id", "occurred_at"):
            found[account_id].append(moment.astimezone(UTC).date())
    elif kind in (OutcomeKind.EXPANSION, OutcomeKind.CHURN):
        rows = (
            arr_change_list()
            .filter(effective_date__lte=until)
            .order_by("account_id", "effective_date")
            .values_list("account_id", "effective_date", "arr")
        )
        previous_account, previous_arr = None, 0
        for account_id, day, arr in rows.iterator(chunk_size=5000):
            if account_id != previous_account:
                previous_account, previous_arr = account_id, 0
            happened = (
                previous_arr > 0 and arr > previous_arr
                if kind == OutcomeKind.EXPANSION
                else previous_arr > 0 and arr == 0
            )
            if happened and day > since:
                found[account_id].append(day)
            previous_arr = arr
    else:
        raise ValueError(f"Unknown outcome {kind!r}")
    for days in found.values():
        days.sort()
    return found


def _happened(days: list, start: date, window: int) -> bool:
    """Whether a day falls in (start, start + window]."""
    index = bisect.bisect_right(days, start)
    return index < len(days) and days[index] <= start + timedelta(days=window)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _outcome(snapshot_or_playbook) -> tuple[str, str, int]:
    if isinstance(snapshot_or_playbook, dict):
        outcome = snapshot_or_playbook["outcome"]
        return outcome["kind"], outcome.get("stage") or "", outcome["window_days"]
    p = snapshot_or_playbook
    return p.outcome_kind, p.outcome_stage, p.outcome_window_days


# Backtest --------------------------------------------------------------------------------


def backtest_range_clean(*, start, end, today: date | None = None) -> tuple[date, date]:
    today = today or timezone.now().date()
    errors = {}
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationError({"start": "Give the range as dates."})
    if start > end:
        errors["end"] = "The range ends before it starts."
    if end > today:
        errors["end"] = "A backtest replays the past: end on or before today."
    if (end - start).days // 7 + 1 > MAX_BACKTEST_WEEKS:
        errors["start"] = f"At most {MAX_BACKTEST_WEEKS} weeks."
    if errors:
        raise ValidationError(errors)
    return start, end


def backtest_weeks(start: date, end: date) -> list[date]:
    return [start + timedelta(days=7 * n) for n in range((end - start).days // 7 + 1)]


def playbook_backtest(*, playbook: Playbook, start: date, end: date, today=None) -> dict:
    today = today or timezone.now().date()
    start, end = backtest_range_clean(start=start, end=end, today=today)
    snapshot = playbook_snapshot(playbook)
    compiled = compile_snapshot(snapshot, key="backtest")
    kind, stage, window = _outcome(snapshot)
    weeks = backtest_weeks(start, end)

    def matching(day):
        return match_accounts([compiled], as_of=_midnight(day), accounts=account_set())

    # The set as it stood a week before the range: those accounts were already in it.
    state = PlaybookState(members=set(matching(start - timedelta(days=7)).by_playbook["backtest"]))
    events = outcome_dates(kind=kind, stage=stage, since=start, until=today)
    population = set(account_set().values_list("pk", flat=True))
    entrants_total = Counter()
    rows, k1, n1, k2, n2 = [], 0, 0, 0, 0
    for day in weeks:
        moment = _midnight(day)
        matches = matching(day)
        matched = set(matches.by_playbook["backtest"])
        plan = plan_playbook(
            playbook_id=playbook.pk,
            settings=snapshot,
            matched=matched,
            state=state,
            blocked=set(),
            intent=matches.intent,
            now=moment,
        )
        entrants = set(plan.start)
        for account_id, status in plan.start.items():
            state.open[account_id] = status
            state.last_start[account_id] = moment
            if status == ActivationStatus.ACTIVE:
                entrants_total[account_id] += 1
        for account_id, reason in plan.skip.items():
            state.last_skip[(account_id, reason)] = moment
        for account_id in plan.exit:
            state.open.pop(account_id, None)
        state.members = (state.members - plan.leave) | plan.join
        closed = day + timedelta(days=window) <= today
        if closed:
            outcome_in = {a for a in population if _happened(events.get(a, []), day, window)}
            non_entrants = population - matched
            k1 += len(entrants & outcome_in)
            n1 += len(entrants)
            k2 += len(non_entrants & outcome_in)
            n2 += len(non_entrants)
        rows.append(
            {
                "week": day.isoformat(),
                "matching": len(matched),
                "entered": sum(1 for s in plan.start.values() if s == ActivationStatus.ACTIVE),
                "held_out": sum(1 for s in plan.start.values() if s == ActivationStatus.HOLDOUT),
                "skipped": dict(Counter(plan.skip.values())),
                "left": len(plan.leave),
                "outcome_window_closed": closed,
            }
        )
    without_history = sorted(
        {
            catalog.feature_get(key).label
            for key, _ in compiled.uses.values()
            if catalog.feature_get(key) and not catalog.feature_get(key).has_history
        }
    )
    return {
        "playbook": playbook.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "outcome": {"kind": kind, "stage": stage, "window_days": window},
        "weeks": rows,
        "entries": sum(r["entered"] for r in rows),
        "tasks_per_owner": _tasks_per_owner(snapshot, entrants_total),
        "entrants": stats.rate(k1, n1).as_dict(),
        "non_entrants": stats.rate(k2, n2).as_dict(),
        "compared_weeks": sum(1 for r in rows if r["outcome_window_closed"]),
        "features_without_history": without_history,
        "notes": [
            "Features without history use today's value on every replayed day.",
            "Owners are today's account team; motion blocking is not replayed.",
            "Entrants vs non-entrants is a comparison, not a causal effect (not lift).",
        ],
    }


def _tasks_per_owner(snapshot: dict, entries: Counter) -> list[dict]:
    """Tasks the `create_task` steps would have created, per owner (username)."""
    roles = Counter(
        step["config"]["role"] for step in snapshot["steps"] if step["kind"] == StepKind.CREATE_TASK
    )
    if not roles or not entries:
        return []
    owners: dict[tuple[int, str], str] = {}
    accounts = sorted(entries)
    for offset in range(0, len(accounts), CHUNK):
        for account_id, role, username in (
            team_member_list()
            .filter(account_id__in=accounts[offset : offset + CHUNK], role__in=list(roles))
            .values_list("account_id", "role", "user__username")
        ):
            owners[(account_id, role)] = username
    tasks = Counter()
    for account_id, times in entries.items():
        for role, steps in roles.items():
            tasks[owners.get((account_id, role), f"(no {role})")] += times * steps
    return [
        {"owner": owner, "tasks": n}
        for owner, n in sorted(tasks.items(), key=lambda i: (-i[1], i[0]))
    ]


# Effectiveness ---------------------------------------------------------------------------


def playbook_effectiveness(*, playbook: Playbook, today: date | None = None) -> dict:
    today = today or timezone.now().date()
    kind, stage, window = _outcome(playbook)
    rows = list(
        Activation.objects.filter(playbook=playbook)
        .exclude(status=ActivationStatus.SKIPPED)
        .values_list("account_id", "started_at", "is_holdout")
    )
    closed = [
        (account_id, started.astimezone(UTC).date(), holdout)
        for account_id, started, holdout in rows
        if started.astimezone(UTC).date() + timedelta(days=window) <= today
    ]
    counts = {True: [0, 0], False: [0, 0]}
    if closed:
        since = min(day for _, day, _ in closed)
        events = outcome_dates(kind=kind, stage=stage, since=since, until=today)
        for account_id, day, holdout in closed:
            counts[holdout][1] += 1
            counts[holdout][0] += _happened(events.get(account_id, []), day, window)
    treated, held = counts[False], counts[True]
    lift = None
    if treated[1] and held[1]:
        difference, low, high = stats.newcombe(treated[0], treated[1], held[0], held[1])
        lift = {"difference": difference, "low": low, "high": high}
    return {
        "playbook": playbook.pk,
        "outcome": {"kind": kind, "stage": stage, "window_days": window},
        "treated": stats.rate(*treated).as_dict(),
        "holdout": stats.rate(*held).as_dict(),
        "lift": lift,
        "pending": len(rows) - len(closed),
    }


# Backtest jobs -----------------------------------------------------------------------------

# Up to this many weeks a backtest answers at once; longer ones run in the background.
SYNC_WEEKS = 8


def backtest_request(*, playbook: Playbook, start: date, end: date, user=None) -> Backtest:
    """Record a backtest; run it now when short, else queue it for the worker."""
    start, end = backtest_range_clean(start=start, end=end)
    job = Backtest.objects.create(
        playbook=playbook,
        start=start,
        end=end,
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    if len(backtest_weeks(start, end)) <= SYNC_WEEKS:
        backtest_run(backtest_id=job.pk)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: async_task("playbooks.tasks.backtest_task", job.pk))
    return job


def backtest_run(*, backtest_id: int) -> Backtest:
    job = Backtest.objects.select_related("playbook").get(pk=backtest_id)
    Backtest.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    try:
        result = playbook_backtest(playbook=job.playbook, start=job.start, end=job.end)
    except Exception as exc:  # recorded on the job, for whoever polls it
        Backtest.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    Backtest.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, result=result, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job
