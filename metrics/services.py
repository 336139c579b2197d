"""Writes of the measurement layer: scores, snapshots."""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery, Value, Window
from django.db.models.functions import Coalesce, NullIf, RowNumber
from django.utils import timezone

from abx_site.common.rowsets import values_in
from accounts.choices import AccountEventKind
from accounts.selectors import account_event_list, account_set

from . import features
from .dates import day_start, utc_date
from .hooks import BandChange, band_changes_announce
from .models import AccountScore, AccountSnapshot, ScoreModel
from .scoring import compute_all

CHUNK = 20000  # accounts per transaction (and per frame query, which reads its window once)
UPSERT_ROWS = 5000


def _chunks(accounts, size=CHUNK):
    """Accounts in id ranges of `size`, so each chunk is a short transaction."""
    ids = list(accounts.order_by("pk").values_list("pk", flat=True))
    for index in range(0, len(ids), size):
        part = ids[index : index + size]
        yield accounts.filter(pk__gte=part[0], pk__lte=part[-1])


def _active_models():
    return list(ScoreModel.objects.filter(is_active=True).prefetch_related("components", "bands"))


@dataclass
class RecomputeResult:
    accounts: int = 0
    scores: int = 0
    changed: int = 0
    band_changes: int = 0
    snapshots: int = 0


def scores_recompute(*, accounts=None, snapshot: bool = True) -> RecomputeResult:
    """Recompute every active model's score for all live accounts and store them.

    Set-based: per chunk of accounts, one query for every model and one upsert that
    rewrites only the scores whose value, band or breakdown changed (most accounts are
    quiet between two runs, and rewriting 400,000 unchanged rows would cost more than
    computing them): a stored score's `computed_at` is when it took its value. A score
    that moved into another band is announced to the band-change hooks in the same
    transaction (`metrics.hooks`: the `score.band_changed` webhook). Then the chunk's
    snapshot of today is brought up to date from the scores just computed
    (`snapshot=False` skips it; `snapshots_take` does the same from the stored scores).
    """
    accounts = account_set() if accounts is None else accounts
    models = _active_models()
    by_key = {m.key: m for m in models}
    model_keys = {m.pk: m.key for m in models}
    now = timezone.now()
    today = utc_date(now)
    result = RecomputeResult()
    for chunk in _chunks(accounts):
        computed = compute_all(chunk, models=models)
        rows = [
            (account_id, by_key[key].pk, value)
            for key, per_account in computed.items()
            for account_id, value in per_account.items()
        ]
        with transaction.atomic():
            written, changes = _scores_store(rows, now, model_keys=model_keys)
            band_changes_announce(changes)
        result.changed += written
        result.band_changes += len(changes)
        result.accounts += len({account_id for account_id, _, _ in rows})
        result.scores += len(rows)
        if snapshot:
            states = _states(chunk, as_of=None, scores=_by_account(computed))
            result.snapshots += _write_snapshots(today, states)
    return result


def _by_account(computed: dict) -> dict[int, dict]:
    """{account id: {model key: (score, band)}} from `compute_all`'s results."""
    scores: dict[int, dict] = {}
    for key, per_account in computed.items():
        for account_id, value in per_account.items():
            scores.setdefault(account_id, {})[key] = (value.score, value.band)
    return scores


def _scores_store(rows, now, *, model_keys: dict[int, str]) -> tuple[int, list[BandChange]]:
    """Store (account id, model id, ScoreResult) rows; returns how many were written and
    the stored scores whose band changed.

    Each result is serialised once (results are shared between accounts with the same
    raw values, `ScorePlan`) and hashed; a stored score whose digest is the same is left
    alone, without sending it or comparing its breakdown in the database (most accounts
    are quiet between two runs). Per batch, one UPDATE joined to the batch rewrites the
    scores that changed and an INSERT adds the ones not stored yet. The batch goes as one
    JSON array parameter (parsed by the database), not as thousands of parameters the
    driver would bind one by one.
    """
    if not rows:
        return 0, []
    quote = connection.ops.quote_name
    table = quote(AccountScore._meta.db_table)
    names = ["account_id", "model_id", "score", "band", "breakdown", "digest", "computed_at"]
    columns = ", ".join(quote(name) for name in names)
    at = AccountScore._meta.get_field("computed_at").get_db_prep_save(now, connection)
    at = at.isoformat() if isinstance(at, datetime) else at
    if connection.vendor == "postgresql":
        types = ["bigint", "bigint", "numeric", "text", "jsonb", "text", "timestamptz"]
        picked = ", ".join(
            f"(item->>{i})::{kind} AS {quote(name)}"
            for i, (name, kind) in enumerate(zip(names, types, strict=True))
        )
        new = f"(SELECT {picked} FROM jsonb_array_elements(%s::jsonb) AS item) AS new"  # noqa: S608
        distinct = "IS DISTINCT FROM"
    else:
        picked = ", ".join(
            f"json_extract(value, '$[{i}]') AS {quote(name)}" for i, name in enumerate(names)
        )
        new = f"(SELECT {picked} FROM json_each(%s)) AS new"  # noqa: S608
        distinct = "IS NOT"
    updates = ", ".join(f"{quote(name)} = new.{quote(name)}" for name in names[2:])
    stored = {
        (account_id, model_id): (band, digest)
        for account_id, model_id, band, digest in AccountScore.objects.filter(
            account_id__in=values_in({account_id for account_id, _, _ in rows}, "bigint")
        )
        .order_by()
        .values_list("account_id", "model_id", "band", "digest")
    }
    prepared: dict[int, tuple] = {}  # id of a shared result -> its stored values
    items, missing, changes = [], [], []
    for account_id, model_id, value in rows:
        values = prepared.get(id(value))
        if values is None:
            values = prepared[id(value)] = _stored_values(value)
        before = stored.get((account_id, model_id))
        if before is None:
            missing.append((account_id, model_id, *values, at))
        elif before[1] != values[-1]:
            items.append((account_id, model_id, *values, at))
            if before[0] != value.band:
                change = BandChange(
                    account_id, model_keys[model_id], before[0], value.band, value.score, now
                )
                changes.append(change)
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), UPSERT_ROWS):
            # Joined on the digest too: a concurrent recompute may have stored the same.
            cursor.execute(
                f"UPDATE {table} SET {updates} FROM {new} "  # noqa: S608 - names from the model
                f"WHERE {table}.{quote('account_id')} = new.{quote('account_id')} "
                f"AND {table}.{quote('model_id')} = new.{quote('model_id')} "
                f"AND {table}.{quote('digest')} {distinct} new.{quote('digest')}",
                [json.dumps(items[start : start + UPSERT_ROWS])],
            )
            written += cursor.rowcount
        for start in range(0, len(missing), UPSERT_ROWS):
            # A concurrent recompute may have added the row since: its value stands.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {new} "  # noqa: S608
                f"WHERE true ON CONFLICT ({quote('account_id')}, {quote('model_id')}) DO NOTHING",
                [json.dumps(missing[start : start + UPSERT_ROWS])],
            )
            written += cursor.rowcount
    return written, changes


def _stored_values(value) -> tuple:
    """A result's score, band, breakdown (as JSON text) and the digest of the three."""
    score = None if value.score is None else str(value.score)
    breakdown = json.dumps(value.breakdown)
    digest = hashlib.blake2b(
        json.dumps([score, value.band]).encode() + breakdown.encode(), digest_size=16
    ).hexdigest()
    return score, value.band, breakdown, digest


# Snapshots --------------------------------------------------------------------------

STATE_FIELDS = ("scores", "bands", "arr", "pipeline", "stage", "tier_id")


def _write_snapshots(day: date, states: dict[int, dict]) -> int:
    """Record `states` (account id -> fields) for `day`, only where they changed since
    the account's previous snapshot; returns rows created, updated or removed."""
    if not states:
        return 0
    accounts = values_in(list(states), "bigint")
    same_day = {
        account_id: (pk, *state)
        for account_id, pk, *state in AccountSnapshot.objects.filter(
            day=day, account_id__in=accounts
        )
        .order_by()
        .values_list("account_id", "pk", *STATE_FIELDS)
    }
    # Each account's latest snapshot before the day, ranked in one pass.
    previous = {
        account_id: tuple(state)
        for account_id, *state in AccountSnapshot.objects.filter(
            account_id__in=accounts, day__lt=day
        )
        .annotate(
            recency=Window(RowNumber(), partition_by=F("account_id"), order_by=F("day").desc())
        )
        .filter(recency=1)
        .order_by()
        .values_list("account_id", *STATE_FIELDS)
    }
    create, update, remove = [], [], []
    for account_id, state in states.items():
        wanted = tuple(state[field] for field in STATE_FIELDS)
        existing = same_day.get(account_id)
        if previous.get(account_id) == wanted:
            if existing is not None:
                remove.append(existing[0])
        elif existing is None:
            create.append(AccountSnapshot(account_id=account_id, day=day, **state))
        elif existing[1:] != wanted:
            update.append(AccountSnapshot(pk=existing[0], account_id=account_id, day=day, **state))
    with transaction.atomic():
        AccountSnapshot.objects.bulk_create(create, batch_size=1000)
        AccountSnapshot.objects.bulk_update(
            update, [f if f != "tier_id" else "tier" for f in STATE_FIELDS], batch_size=1000
        )
        if remove:
            AccountSnapshot.objects.filter(pk__in=remove).delete()
    return len(create) + len(update) + len(remove)


def _money(value):
    from decimal import Decimal

    return Decimal(value or 0).quantize(Decimal("0.01"))


def _states(chunk, *, as_of: datetime | None, scores: dict, stage_expression=None) -> dict:
    """Snapshot fields per account of `chunk`: the given scores, ARR, pipeline, stage, tier."""
    # ARR and pipeline at the end of the day: the last moment before `as_of` (a change
    # effective the next day is in force from its midnight on).
    money_at = as_of - timedelta(microseconds=1) if as_of is not None else None
    rows = features.annotate(
        chunk, [("s_arr", "arr", {}), ("s_pipeline", "open_pipeline", {})], as_of=money_at
    )
    if stage_expression is not None:
        rows = rows.annotate(s_stage=stage_expression)
    else:
        rows = rows.annotate(s_stage=F("stage"))
    states = {}
    for account_id, arr, pipeline, stage, tier_id in rows.values_list(
        "pk", "s_arr", "s_pipeline", "s_stage", "tier_id"
    ):
        account_scores = scores.get(account_id, {})
        states[account_id] = {
            "scores": {k: float(v[0]) for k, v in account_scores.items() if v[0] is not None},
            "bands": {k: v[1] for k, v in account_scores.items() if v[1]},
            "arr": _money(arr),
            "pipeline": _money(pipeline),
            "stage": stage,
            "tier_id": tier_id,
        }
    return states


def snapshots_take(*, accounts=None, day: date | None = None) -> int:
    """Bring `day`'s snapshot (default today, UTC) in line with the accounts' current
    state: stored scores and bands, ARR, open pipeline, stage, tier. Returns rows written.

    A recompute does the same for each chunk it scores, so today's row ends the day as
    the day's last state.
    """
    accounts = account_set() if accounts is None else accounts
    day = day or utc_date(timezone.now())
    written = 0
    for chunk in _chunks(accounts):
        scores: dict[int, dict] = {}
        for account_id, key, score, band in AccountScore.objects.filter(
            account__in=chunk.values("pk"), model__is_active=True
        ).values_list("account_id", "model__key", "score", "band"):
            scores.setdefault(account_id, {})[key] = (score, band)
        written += _write_snapshots(day, _states(chunk, as_of=None, scores=scores))
    return written


def _stage_on(day: date):
    """The lifecycle stage at the end of `day`, from the account's stage events: the last
    change by then, else the stage before the first later change, else today's stage."""
    end = day_start(day + timedelta(days=1))
    events = account_event_list().filter(
        account=OuterRef("pk"), kind=AccountEventKind.STAGE_CHANGED
    )
    last = events.filter(occurred_at__lt=end).order_by("-occurred_at", "-pk").values("new_value")
    later = events.filter(occurred_at__gte=end).order_by("occurred_at", "pk").values("old_value")
    return Coalesce(
        NullIf(Subquery(last[:1]), Value("")), NullIf(Subquery(later[:1]), Value("")), F("stage")
    )


def snapshots_backfill(*, start: date, end: date, accounts=None) -> int:
    """Rebuild the snapshots of days `start`..`end` (inclusive) from the signals, the ARR
    history, the deals and the stage events: scores are computed as of the end of each
    day. Tiers have no history: today's tier is used. Every live account gets its
    history (an installation's rows are younger than the companies they describe).
    One transaction per day and chunk.
    """
    if start > end:
        raise ValueError("start must not be after end.")
    accounts = account_set() if accounts is None else accounts
    models = _active_models()
    AccountSnapshot.objects.filter(
        account__in=accounts.values("pk"), day__gte=start, day__lte=end
    ).delete()
    written, day = 0, start
    while day <= end:
        as_of = day_start(day + timedelta(days=1))
        for chunk in _chunks(accounts):
            scores = _by_account(compute_all(chunk, as_of=as_of, models=models))
            states = _states(chunk, as_of=as_of, scores=scores, stage_expression=_stage_on(day))
            written += _write_snapshots(day, states)
        day += timedelta(days=1)
    return written
