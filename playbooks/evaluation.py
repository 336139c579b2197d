"""The evaluator: which accounts enter and leave each active playbook, and what follows.

One run reads every active playbook's latest published version, computes all the
features they use in **one** query over the accounts (each distinct feature and
parameters once, shared by all playbooks), then, playbook by playbook in priority order
and each in its own short transaction, compares the matching set with the stored
membership and writes activations, skips and exits in bulk.

Entry rules, in order, for each account that enters the set (highest intent first):
1. an open activation already exists (a manual or on-completion play still running):
   it becomes a member, nothing new starts;
2. re-entry policy: `once` -> skipped `reentry` when it ever had an activation;
   `after_cooldown` -> skipped `cooldown` when the last one started less than N days ago;
3. motion blocking: an open play whose version blocks this motion -> skipped `blocked`,
   not a member, so it is considered again next run;
4. holdout: `sha256("<playbook id>:<account id>") mod 10000 < percent x 100` -> a
   `holdout` activation (runs no steps, counts toward no capacity);
5. capacity: when the playbook's active activations are at capacity -> skipped
   `capacity`, not a member, considered again next run.
Skips for blocking and capacity are recorded once until something else happens to the
account in that playbook. Accounts that leave the set leave the membership; with the
`on_unmatch` exit policy their open activation exits.
"""

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from abx_site.common.bulk import bulk_load
from accounts.selectors import account_set

from . import catalog, hooks
from .choices import (
    OPEN_STATUSES,
    ActivationStatus,
    ExitPolicy,
    ExitReason,
    PlaybookStatus,
    ReentryPolicy,
    RunOrigin,
    SkipReason,
)
from .compiler import CompiledPlaybook, compile_snapshot
from .models import Activation, EvaluationRun, Playbook, PlaybookMembership, PlaybookVersion

logger = logging.getLogger(__name__)

CHUNK = 1000
INTENT_FEATURE = "intent_score"
INTENT_ALIAS = "rank_intent"
RECORDED_ONCE = (SkipReason.CAPACITY, SkipReason.BLOCKED)
ACTIVATION_COLUMNS = [
    "playbook",
    "version",
    "account",
    "trigger_index",
    "status",
    "is_holdout",
    "evidence",
    "started_at",
    "ended_at",
    "reason",
]


def in_holdout(playbook_id: int, account_id: int, percent: int) -> bool:
    """Deterministic control-group draw: the same account always lands on the same side."""
    digest = hashlib.sha256(f"{playbook_id}:{account_id}".encode()).hexdigest()
    return int(digest, 16) % 10_000 < percent * 100


# Matching -------------------------------------------------------------------------------


@dataclass
class Published:
    """An active playbook's latest version, compiled."""

    playbook: Playbook
    version: PlaybookVersion
    compiled: CompiledPlaybook

    @property
    def snapshot(self) -> dict:
        return self.version.snapshot


def published_playbooks(*, playbooks=None, errors: list | None = None) -> list[Published]:
    """Active playbooks (or the given ones) with their latest version, in priority order.

    A version that no longer compiles (a feature left the catalog) is reported in
    `errors` and left out, so one broken playbook never stops the others.
    """
    if playbooks is None:
        playbooks = Playbook.objects.filter(status=PlaybookStatus.ACTIVE)
    rows = list(playbooks)
    latest = {}
    for version in PlaybookVersion.objects.filter(playbook__in=rows).order_by(
        "playbook_id", "number"
    ):
        latest[version.playbook_id] = version
    result = []
    for playbook in rows:
        version = latest.get(playbook.pk)
        if version is None:
            continue
        try:
            compiled = compile_snapshot(version.snapshot, key=str(playbook.pk))
        except Exception as exc:  # reported in the run and skipped: the others still run
            if errors is None:
                raise
            errors.append({"playbook": playbook.pk, "error": f"Does not compile: {exc}"})
            continue
        result.append(Published(playbook, version, compiled))
    result.sort(key=lambda p: (p.snapshot.get("priority", 100), p.playbook.pk))
    return result


@dataclass
class Matches:
    """Per playbook key: account id -> evidence; and each matching account's intent."""

    by_playbook: dict[str, dict[int, dict]] = field(default_factory=dict)
    intent: dict[int, float] = field(default_factory=dict)


def match_accounts(
    compiled: list[CompiledPlaybook], *, as_of: datetime | None = None, accounts=None
) -> Matches:
    """Which accounts match each compiled playbook, with evidence, in one query.

    Every feature any playbook uses is annotated once; each playbook adds one CASE that
    names the first trigger that matched. Only accounts matching some playbook come back.
    """
    matches = Matches(by_playbook={cp.key: {} for cp in compiled})
    if not compiled:
        return matches
    uses = {}
    for cp in compiled:
        uses.update(cp.uses)
    requests = [(alias, key, params) for alias, (key, params) in uses.items()]
    with_intent = catalog.feature_get(INTENT_FEATURE) is not None
    if with_intent:
        requests.append((INTENT_ALIAS, INTENT_FEATURE, {}))
    queryset = accounts if accounts is not None else account_set()
    queryset = catalog.annotate(queryset, requests, as_of=as_of)
    marks = {f"m_{i}": cp.matched_trigger() for i, cp in enumerate(compiled)}
    any_match = Q(pk__in=[])
    for cp in compiled:
        any_match |= cp.match_q()
    columns = ["pk", *marks, *uses, *([INTENT_ALIAS] if with_intent else [])]
    rows = queryset.annotate(**marks).filter(any_match).values(*columns)
    for row in rows.iterator(chunk_size=2000):
        account_id = row["pk"]
        if with_intent and row[INTENT_ALIAS] is not None:
            matches.intent[account_id] = float(row[INTENT_ALIAS])
        for i, cp in enumerate(compiled):
            trigger = row[f"m_{i}"]
            if trigger is not None:
                matches.by_playbook[cp.key][account_id] = cp.evidence(row, trigger)
    return matches


# Planning (pure: the rules above over plain sets) ------------------------------------------


@dataclass
class PlaybookState:
    """What the database holds for one playbook, as plain data."""

    members: set[int] = field(default_factory=set)
    open: dict[int, str] = field(default_factory=dict)  # account -> open status
    last_start: dict[int, datetime] = field(default_factory=dict)  # non-skipped
    last_skip: dict[tuple[int, str], datetime] = field(default_factory=dict)

    @property
    def active_count(self) -> int:
        return sum(1 for status in self.open.values() if status == ActivationStatus.ACTIVE)


@dataclass
class Plan:
    start: dict[int, str] = field(default_factory=dict)  # account -> active | holdout
    skip: dict[int, str] = field(default_factory=dict)  # account -> reason (to record)
    join: set[int] = field(default_factory=set)  # new members
    leave: set[int] = field(default_factory=set)
    exit: set[int] = field(default_factory=set)  # accounts whose open activation exits


def plan_playbook(
    *,
    playbook_id: int,
    settings: dict,
    matched: set[int],
    state: PlaybookState,
    blocked: set[int],
    intent: dict[int, float],
    now: datetime,
) -> Plan:
    """Apply the entry and exit rules (module docstring) for one playbook."""
    plan = Plan()
    entering = sorted(matched - state.members, key=lambda a: (-intent.get(a, float("-inf")), a))
    plan.leave = state.members - matched
    if settings.get("exit_policy", ExitPolicy.ON_UNMATCH) == ExitPolicy.ON_UNMATCH:
        plan.exit = {a for a in plan.leave if a in state.open}
    policy = settings.get("reentry_policy", ReentryPolicy.ONCE)
    cooldown = timedelta(days=settings.get("cooldown_days") or 0)
    percent = settings.get("holdout_percent") or 0
    capacity = settings.get("capacity")
    # Seats of the activations that exit in this run are free for this run's entries.
    active = state.active_count - sum(
        1 for a in plan.exit if state.open.get(a) == ActivationStatus.ACTIVE
    )

    def skip(account, reason, *, member):
        if member:
            plan.join.add(account)
        last_real = state.last_start.get(account)
        last_same = state.last_skip.get((account, reason))
        recorded = reason in RECORDED_ONCE and last_same is not None
        if not (recorded and (last_real is None or last_same > last_real)):
            plan.skip[account] = reason

    for account in entering:
        if account in state.open:
            plan.join.add(account)
            continue
        last = state.last_start.get(account)
        if last is not None and policy == ReentryPolicy.ONCE:
            skip(account, SkipReason.REENTRY, member=True)
            continue
        if last is not None and policy == ReentryPolicy.AFTER_COOLDOWN and now - last < cooldown:
            skip(account, SkipReason.COOLDOWN, member=True)
            continue
        if account in blocked:
            skip(account, SkipReason.BLOCKED, member=False)
            continue
        if percent and in_holdout(playbook_id, account, percent):
            plan.start[account] = ActivationStatus.HOLDOUT
            plan.join.add(account)
            continue
        if capacity is not None and active >= capacity:
            skip(account, SkipReason.CAPACITY, member=False)
            continue
        plan.start[account] = ActivationStatus.ACTIVE
        plan.join.add(account)
        active += 1
    return plan


# Running -----------------------------------------------------------------------------------


# SQLSTATEs of a lost connection: class 08 (connection exception) and the server's
# shutdown, crash and start-up (57P01-57P03: a restart, or a session ended by an
# administrator). A lock or statement timeout, a deadlock or a serialization failure
# is this playbook's error, not the run's.
CONNECTION_LOST = ("08", "57P01", "57P02", "57P03")


def _connection_lost(exc: DatabaseError) -> bool:
    """Did the connection fail, rather than the statement? PostgreSQL only: the client
    reports a connection it lost without a SQLSTATE. (Django reconnects on the next
    query, so the connection's state after the rollback cannot tell.)"""
    if connection.vendor != "postgresql" or not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith(CONNECTION_LOST)


def evaluation_run(*, origin: str = RunOrigin.SCHEDULE, now: datetime | None = None):
    """Evaluate every active playbook once; returns the recorded EvaluationRun."""
    now = now or timezone.now()
    run = EvaluationRun.objects.create(origin=origin, started_at=now)
    errors: list[dict] = []
    published = published_playbooks(errors=errors)
    matches = match_accounts([p.compiled for p in published]) if published else Matches()
    blocked = blocked_motions()
    totals = defaultdict(int)
    for item in published:
        try:
            with transaction.atomic():
                counts, started = _apply(item, matches, blocked, now)
        except DatabaseError as exc:
            if _connection_lost(exc):
                # Not this playbook's fault: the run fails, and the task is retried (the
                # playbooks applied so far committed and find nothing new the next time).
                raise
            logger.exception("Evaluating playbook %s failed", item.playbook.pk)
            errors.append({"playbook": item.playbook.pk, "error": str(exc)})
            continue
        for key, value in counts.items():
            totals[key] += value
        for motion in item.snapshot.get("blocked_motions") or []:
            blocked[motion].update(started)
    run.finished_at = timezone.now()
    run.playbooks = len(published)
    run.entered = totals["entered"]
    run.held_out = totals["held_out"]
    run.exited = totals["exited"]
    run.skipped = totals["skipped"]
    run.errors = errors
    run.save()
    return run


def blocked_motions() -> dict[str, set[int]]:
    """motion -> accounts with an open play whose version blocks that motion."""
    blocking = {
        pk: snapshot.get("blocked_motions")
        for pk, snapshot in PlaybookVersion.objects.filter(
            pk__in=Activation.objects.filter(status__in=OPEN_STATUSES).values("version_id")
        ).values_list("pk", "snapshot")
        if snapshot.get("blocked_motions")
    }
    result: dict[str, set[int]] = defaultdict(set)
    if blocking:
        for version_id, account_id in Activation.objects.filter(
            status__in=OPEN_STATUSES, version_id__in=blocking
        ).values_list("version_id", "account_id"):
            for motion in blocking[version_id]:
                result[motion].add(account_id)
    return result


def playbook_state(playbook_id: int) -> PlaybookState:
    state = PlaybookState()
    state.members = set(
        PlaybookMembership.objects.filter(playbook_id=playbook_id).values_list(
            "account_id", flat=True
        )
    )
    activations = Activation.objects.filter(playbook_id=playbook_id)
    state.open = dict(
        activations.filter(status__in=OPEN_STATUSES).values_list("account_id", "status")
    )
    state.last_start = dict(
        activations.exclude(status=ActivationStatus.SKIPPED)
        .values("account_id")
        .annotate(last=Max("started_at"))
        .values_list("account_id", "last")
    )
    for account_id, reason, last in (
        activations.filter(status=ActivationStatus.SKIPPED, reason__in=RECORDED_ONCE)
        .values("account_id", "reason")
        .annotate(last=Max("started_at"))
        .values_list("account_id", "reason", "last")
    ):
        state.last_skip[(account_id, reason)] = last
    return state


def _apply(item: Published, matches: Matches, blocked, now) -> tuple[dict, set[int]]:
    playbook_id = item.playbook.pk
    # Serialises evaluators per playbook (PostgreSQL row lock; SQLite's IMMEDIATE
    # transactions already take the write lock): the second one sees the first one's
    # members. The partial unique index is the last line of defence.
    list(Playbook.objects.select_for_update().filter(pk=playbook_id).values_list("pk"))
    evidence = matches.by_playbook.get(item.compiled.key, {})
    state = playbook_state(playbook_id)
    motion = item.snapshot.get("motion")
    plan = plan_playbook(
        playbook_id=playbook_id,
        settings=item.snapshot,
        matched=set(evidence),
        state=state,
        blocked=blocked.get(motion, set()),
        intent=matches.intent,
        now=now,
    )

    def activation(account_id, status, reason=""):
        proof = evidence[account_id]
        ended = now if status == ActivationStatus.SKIPPED else None
        return (
            playbook_id,
            item.version.pk,
            account_id,
            proof["trigger"],
            str(status),
            status == ActivationStatus.HOLDOUT,
            json.dumps(proof),
            now,
            ended,
            str(reason),
        )

    # Thousands of rows at once on a busy day: loaded in one COPY (PostgreSQL) or one
    # executemany (SQLite); the ORM's per-object work would cost more than the rest of
    # the run. The partial unique index still refuses a second open activation.
    bulk_load(
        Activation,
        ACTIVATION_COLUMNS,
        [activation(a, status) for a, status in plan.start.items()]
        + [activation(a, ActivationStatus.SKIPPED, reason) for a, reason in plan.skip.items()],
    )
    # New members only: the members were read under the playbook's lock.
    bulk_load(
        PlaybookMembership,
        ["playbook", "account", "since"],
        [(playbook_id, account_id, now) for account_id in sorted(plan.join)],
    )
    leaving = sorted(plan.leave)
    for chunk in _chunks(leaving):
        PlaybookMembership.objects.filter(playbook_id=playbook_id, account_id__in=chunk).delete()
    exited_ids = []
    for chunk in _chunks(sorted(plan.exit)):
        ids = list(
            Activation.objects.filter(
                playbook_id=playbook_id, account_id__in=chunk, status__in=OPEN_STATUSES
            ).values_list("pk", flat=True)
        )
        Activation.objects.filter(pk__in=ids).update(
            status=ActivationStatus.EXITED, ended_at=now, reason=ExitReason.UNMATCHED
        )
        exited_ids.extend(ids)
    started_ids = []
    if any(status == ActivationStatus.ACTIVE for status in plan.start.values()):
        # This run's moment marks the activations it started (the playbook is locked).
        started_ids = list(
            Activation.objects.filter(
                playbook_id=playbook_id, status=ActivationStatus.ACTIVE, started_at=now
            ).values_list("pk", flat=True)
        )
    hooks.run(hooks.ACTIVATIONS_STARTED, started_ids)
    hooks.run(hooks.ACTIVATIONS_EXITED, exited_ids)
    counts = {
        "entered": sum(1 for s in plan.start.values() if s == ActivationStatus.ACTIVE),
        "held_out": sum(1 for s in plan.start.values() if s == ActivationStatus.HOLDOUT),
        "skipped": len(plan.skip),
        "exited": len(exited_ids),
    }
    return counts, set(plan.start)


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]
