"""The signal layer's part of an account merge (registered in `SignalsConfig.ready()`).

The loser's signals move to the survivor; its daily rollups are dropped and the
survivor's are recomputed for every (type, day) the loser had, from the signals table,
so they hold both accounts' signals. Review queue entries decided for the loser point
at the survivor. Runs inside the merge's transaction.
"""

from django.db.models import Count

from accounts.services import MergeHook

from .models import AccountSignalDaily, Signal, UnmatchedIdentity
from .services import rollups_refresh


def merge_preview(loser_id: int) -> dict[str, int]:
    counts = Signal.objects.filter(account_id=loser_id).aggregate(n=Count("pk"))
    return {"signals": counts["n"]}


def merge_move(*, loser_id: int, survivor_id: int) -> dict[str, int]:
    days = set(AccountSignalDaily.objects.filter(account_id=loser_id).values_list("type_id", "day"))
    moved = Signal.objects.filter(account_id=loser_id).update(account_id=survivor_id)
    AccountSignalDaily.objects.filter(account_id=loser_id).delete()
    rollups_refresh(keys={(survivor_id, type_id, day) for type_id, day in days})
    UnmatchedIdentity.objects.filter(account_id=loser_id).update(account_id=survivor_id)
    return {"signals": moved}


HOOK = MergeHook(preview=merge_preview, move=merge_move)
