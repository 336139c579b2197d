"""Extension points of the measurement layer, for higher apps (outbound webhooks).

When a recompute moves a stored score into another band, `scores_recompute` hands the
changes to each hook registered here, inside the transaction that writes the scores:
what a hook writes (an outbox row telling a CRM the account is now "hot") commits with
the scores or rolls back with them. Playbooks fill this in `PlaybooksConfig.ready()`;
this app never imports them. A score stored for the first time has no band to change
from and is not announced: a new model, or a new installation, would otherwise send one
message per account.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["BAND_CHANGE_HOOKS", "BandChange", "band_changes_announce", "register_band_change_hook"]


@dataclass(frozen=True)
class BandChange:
    account_id: int
    model: str  # the score model's key
    old: str
    new: str
    score: Decimal | None
    computed_at: datetime


BandChangeHook = Callable[[list[BandChange]], None]
BAND_CHANGE_HOOKS: list[BandChangeHook] = []


def register_band_change_hook(hook: BandChangeHook) -> BandChangeHook:
    """Call `hook(changes)` with the band changes of each recompute (idempotent per function)."""
    if hook not in BAND_CHANGE_HOOKS:
        BAND_CHANGE_HOOKS.append(hook)
    return hook


def band_changes_announce(changes: list[BandChange]) -> None:
    """Hand band changes to every hook; runs in the caller's transaction."""
    if changes:
        for hook in BAND_CHANGE_HOOKS:
            hook(changes)
