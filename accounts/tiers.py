"""Tiers that rules choose, written for many accounts at once (DESIGN §3).

Tier rules live in a higher app (their conditions name catalog features); what they
decide is written here, like every other change to an account: the tier, its source,
and one `tier_changed` AccountEvent per account, announced to the account-event hooks in
the same transaction. A tier a person chose (`tier_source` manual, with a tier) is never
overwritten here unless a person accepts the rules' proposal for it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .choices import AccountEventKind, TierSource
from .hooks import account_events_announce
from .models import Account, AccountEvent, Tier

__all__ = ["RuleTier", "account_tiers_set_by_rules"]


@dataclass(frozen=True)
class RuleTier:
    """One account's tier as a rule chose it; `actor_label` names the rule on the event."""

    account_id: int
    tier_id: int
    actor_label: str
    data: dict = field(default_factory=dict)


@transaction.atomic
def account_tiers_set_by_rules(
    *, assignments: Iterable[RuleTier], actor=None, overrule_manual: bool = False
) -> list[AccountEvent]:
    """Give each account the tier of its assignment, as a rule-made tier; returns the
    `tier_changed` events recorded (one per account whose tier changed).

    The accounts are read again under a row lock, so a tier a person set since the
    rules looked is kept: accounts with a manual tier are left as they are, unless
    `overrule_manual` (a person accepting the rules' proposal, named by `actor`). A fixed
    number of queries whatever the number of accounts: the read, one UPDATE per target
    tier, the tier names, one INSERT of the events.
    """
    wanted = {a.account_id: a for a in assignments}
    if not wanted:
        return []
    rows = Account.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    if not overrule_manual:
        rows = rows.filter(Q(tier__isnull=True) | Q(tier_source=TierSource.RULE))
    current = dict(rows.values_list("pk", "tier_id"))
    moving: dict[int, list[int]] = defaultdict(list)
    for account_id, tier_id in current.items():
        if tier_id != wanted[account_id].tier_id:
            moving[wanted[account_id].tier_id].append(account_id)
    if not moving:
        return []
    now = timezone.now()
    for tier_id, account_ids in moving.items():
        Account.objects.filter(pk__in=account_ids).update(
            tier_id=tier_id, tier_source=TierSource.RULE, updated_at=now
        )
    tier_ids = {t for t in current.values() if t is not None} | set(moving)
    names = dict(Tier.objects.filter(pk__in=tier_ids).values_list("pk", "name"))
    by_user = actor if actor is not None and actor.is_authenticated else None
    events = AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                account_id=account_id,
                kind=AccountEventKind.TIER_CHANGED,
                old_value=names.get(current[account_id], "")[:255],
                new_value=names[tier_id][:255],
                actor=by_user,
                actor_label=wanted[account_id].actor_label[:255],
                occurred_at=now,
                data=wanted[account_id].data,
            )
            for tier_id, account_ids in moving.items()
            for account_id in sorted(account_ids)
        ]
    )
    account_events_announce(events)
    return events
