"""The signal layer's part of an account merge (registered in `SignalsConfig.ready()`).

The loser's signals move to the survivor; its daily rollups are dropped and the
survivor's are recomputed for every (type, day) the loser had, from the signals table,
so they hold both accounts' signals. Days before the retention horizon have no raw
signals left to recompute from (signals/retention.py): there the loser's rollups are
added to the survivor's. Review queue entries decided for the loser point at the
survivor. Runs inside the merge's transaction.
"""

from django.db.models import Count

from accounts.services import MergeHook

from .models import AccountSignalDaily, Signal, UnmatchedIdentity
from .retention import retention_horizon
from .services import rollups_refresh


def merge_preview(loser_id: int) -> dict[str, int]:
    counts = Signal.objects.filter(account_id=loser_id).aggregate(n=Count("pk"))
    return {"signals": counts["n"]}


def merge_move(*, loser_id: int, survivor_id: int) -> dict[str, int]:
    horizon = retention_horizon().date()
    days = set(
        AccountSignalDaily.objects.filter(account_id=loser_id, day__gte=horizon).values_list(
            "type_id", "day"
        )
    )
    moved = Signal.objects.filter(account_id=loser_id).update(account_id=survivor_id)
    _add_purged_days(loser_id=loser_id, survivor_id=survivor_id, horizon=horizon)
    AccountSignalDaily.objects.filter(account_id=loser_id).delete()
    rollups_refresh(keys={(survivor_id, type_id, day) for type_id, day in days})
    UnmatchedIdentity.objects.filter(account_id=loser_id).update(account_id=survivor_id)
    return {"signals": moved}


def _add_purged_days(*, loser_id: int, survivor_id: int, horizon) -> None:
    """Add the loser's rollups of days before `horizon` to the survivor's: counts, sums
    and distinct contacts add up (a contact belongs to one account); a gauge's last
    value is the survivor's where it has one."""
    loser_rows = list(AccountSignalDaily.objects.filter(account_id=loser_id, day__lt=horizon))
    if not loser_rows:
        return
    survivor_rows = {
        (row.type_id, row.day): row
        for row in AccountSignalDaily.objects.filter(
            account_id=survivor_id,
            day__lt=horizon,
            day__gte=min(row.day for row in loser_rows),
        )
    }
    added, created = [], []
    for row in loser_rows:
        mine = survivor_rows.get((row.type_id, row.day))
        if mine is None:
            row.pk, row.account_id = None, survivor_id
            created.append(row)
            continue
        mine.count += row.count
        mine.value_sum += row.value_sum
        mine.distinct_contacts += row.distinct_contacts
        mine.last_value = mine.last_value if mine.last_value is not None else row.last_value
        added.append(mine)
    AccountSignalDaily.objects.bulk_update(
        added, ["count", "value_sum", "distinct_contacts", "last_value"]
    )
    # The loser's rows are deleted right after; the survivor gets new ones.
    AccountSignalDaily.objects.bulk_create(created)


HOOK = MergeHook(preview=merge_preview, move=merge_move)
