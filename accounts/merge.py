"""Merging a duplicate account into the one that survives (DESIGN §3).

What moves to the survivor: contacts, domains (the survivor keeps its primary),
identifiers, aliases, IP ranges, deals and sub-accounts; the loser's name becomes an
alias, so a signal naming it still resolves. The loser's team roles fill the roles the
survivor lacks. ARR histories are summed: the survivor's ARR on any date becomes the two
ARRs on that date added, rebuilt as changes at the union of both change dates. The loser
keeps its own events and gets `merged_into`; a `merged` event is recorded on both.

Higher apps own more of an account (signals and rollups, activations, tasks) and move
it through `MERGE_HOOKS`, filled in their `AppConfig.ready()`: this app never imports
them. Everything runs in one transaction, hooks included, so a merge is never half done.

Refused: merging an account into itself, a merged account (either side), and a
survivor inside the loser's hierarchy (its sub-accounts would have to become the
survivor's, making a loop); move the survivor out of that hierarchy first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .choices import AccountEventKind
from .models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IpRange,
)

MAX_DEPTH = 50


@dataclass(frozen=True)
class MergeHook:
    """What a higher app moves in a merge. `preview(loser_id)` and
    `move(loser_id=, survivor_id=)` both return counts by kind (a label such as
    "signals")."""

    preview: Callable[[int], dict[str, int]]
    move: Callable[..., dict[str, int]]


MERGE_HOOKS: list[MergeHook] = []


def register_merge_hook(hook: MergeHook) -> MergeHook:
    """Add a higher app's part of a merge (idempotent)."""
    if hook not in MERGE_HOOKS:
        MERGE_HOOKS.append(hook)
    return hook


def account_merge_error(*, loser: Account, survivor: Account) -> str | None:
    """Why `loser` cannot be merged into `survivor`, or None when it can."""
    if loser.pk == survivor.pk:
        return "An account cannot be merged into itself."
    if loser.merged_into_id is not None:
        return f"{loser} was already merged into another account."
    if survivor.merged_into_id is not None:
        return f"{survivor} was merged into another account; merge into that one."
    current, seen = survivor.parent_id, set()
    for _ in range(MAX_DEPTH):
        if current is None or current in seen:
            break
        if current == loser.pk:
            return (
                f"{survivor} is inside {loser}'s hierarchy: move it out of that hierarchy "
                "before merging."
            )
        seen.add(current)
        current = Account.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return None


def account_merge_preview(*, loser: Account, survivor: Account) -> dict[str, int]:
    """What a merge would move, by kind (kinds with nothing to move are left out)."""
    survivor_roles = set(
        AccountTeamMember.objects.filter(account=survivor).values_list("role", flat=True)
    )
    counts = {
        "contacts": Contact.objects.filter(account=loser).count(),
        "domains": AccountDomain.objects.filter(account=loser).count(),
        "identifiers": AccountIdentifier.objects.filter(account=loser).count(),
        "aliases": AccountAlias.objects.filter(account=loser).count(),
        "IP ranges": IpRange.objects.filter(account=loser).count(),
        "deals": Deal.objects.filter(account=loser).count(),
        "ARR changes": ArrChange.objects.filter(account=loser).count(),
        "team roles filled": AccountTeamMember.objects.filter(account=loser)
        .exclude(role__in=survivor_roles)
        .count(),
        "sub-accounts": Account.objects.filter(parent=loser).count(),
        "do-not-contact flag": int(loser.do_not_contact and not survivor.do_not_contact),
    }
    for hook in MERGE_HOOKS:
        counts.update(hook.preview(loser.pk))
    return {kind: n for kind, n in counts.items() if n}


def account_merge(*, loser: Account, survivor: Account, actor=None) -> dict[str, int]:
    """Merge `loser` into `survivor`; returns what moved, by kind."""
    with transaction.atomic():
        # Lock both rows (in id order: two merges never wait on each other crosswise)
        # and decide on fresh values.
        locked = {
            account.pk: account
            for account in Account.objects.select_for_update()
            .filter(pk__in=[loser.pk, survivor.pk])
            .order_by("pk")
        }
        loser, survivor = locked[loser.pk], locked[survivor.pk]
        error = account_merge_error(loser=loser, survivor=survivor)
        if error:
            raise ValidationError(error)
        moved = {
            "contacts": Contact.objects.filter(account=loser).update(account=survivor),
            "domains": _move_domains(loser, survivor),
            "identifiers": AccountIdentifier.objects.filter(account=loser).update(account=survivor),
            "aliases": _move_aliases(loser, survivor),
            "IP ranges": IpRange.objects.filter(account=loser).update(account=survivor),
            "deals": Deal.objects.filter(account=loser).update(account=survivor),
            "ARR changes": _sum_arr(loser, survivor),
            "team roles filled": _fill_roles(loser, survivor),
            "sub-accounts": Account.objects.filter(parent=loser).update(parent=survivor),
        }
        for hook in MERGE_HOOKS:
            moved.update(hook.move(loser_id=loser.pk, survivor_id=survivor.pk))
        kept = []
        if survivor.renewal_date is None and loser.renewal_date is not None:
            survivor.renewal_date = loser.renewal_date
            kept.append("renewal_date")
        # A request not to be contacted outlives the duplicate it was recorded on.
        if loser.do_not_contact and not survivor.do_not_contact:
            survivor.do_not_contact = True
            kept.append("do_not_contact")
            moved["do-not-contact flag"] = 1
        if kept:
            survivor.save(update_fields=[*kept, "updated_at"])
        loser.merged_into = survivor
        loser.save(update_fields=["merged_into", "updated_at"])
        moved = {kind: n for kind, n in moved.items() if n}
        now = timezone.now()
        by = actor if actor is not None and actor.is_authenticated else None
        AccountEvent.objects.bulk_create(
            [
                AccountEvent(
                    account=loser,
                    kind=AccountEventKind.MERGED,
                    old_value=loser.name[:255],
                    new_value=survivor.name[:255],
                    actor=by,
                    occurred_at=now,
                    data={"survivor": survivor.pk, "moved": moved},
                ),
                AccountEvent(
                    account=survivor,
                    kind=AccountEventKind.MERGED,
                    old_value=loser.name[:255],
                    new_value=survivor.name[:255],
                    actor=by,
                    occurred_at=now,
                    data={"loser": loser.pk, "moved": moved},
                ),
            ]
        )
    return moved


def _move_domains(loser: Account, survivor: Account) -> int:
    survivor_has_primary = AccountDomain.objects.filter(account=survivor, is_primary=True).exists()
    domains = AccountDomain.objects.filter(account=loser)
    if survivor_has_primary:
        domains.filter(is_primary=True).update(is_primary=False)
    return domains.update(account=survivor)


def _move_aliases(loser: Account, survivor: Account) -> int:
    from .identity import clean_company_name

    moved = AccountAlias.objects.filter(account=loser).update(account=survivor)
    # The loser's own name keeps resolving, to the survivor.
    normalised = clean_company_name(loser.name)
    if normalised and normalised != clean_company_name(survivor.name):
        _, created = AccountAlias.objects.get_or_create(
            normalised=normalised, defaults={"account": survivor, "name": loser.name[:255]}
        )
        moved += int(created)
    return moved


def _fill_roles(loser: Account, survivor: Account) -> int:
    taken = AccountTeamMember.objects.filter(account=survivor).values_list("role", flat=True)
    filled = (
        AccountTeamMember.objects.filter(account=loser)
        .exclude(role__in=list(taken))
        .update(account=survivor)
    )
    AccountTeamMember.objects.filter(account=loser).delete()
    return filled


def _sum_arr(loser: Account, survivor: Account) -> int:
    """Rebuild the survivor's ARR history as the sum of both; returns the loser's changes."""
    histories = {
        account.pk: dict(
            ArrChange.objects.filter(account=account).values_list("effective_date", "arr")
        )
        for account in (loser, survivor)
    }
    loser_changes = len(histories[loser.pk])
    if not loser_changes:
        return 0
    notes = dict(ArrChange.objects.filter(account=survivor).values_list("effective_date", "note"))
    rows = [
        ArrChange(
            account=survivor,
            effective_date=day,
            arr=_arr_on(histories[survivor.pk], day) + _arr_on(histories[loser.pk], day),
            note=notes.get(day) or f"Merged with {loser.name}"[:255],
        )
        for day in sorted(set(histories[loser.pk]) | set(histories[survivor.pk]))
    ]
    ArrChange.objects.filter(account__in=[loser, survivor]).delete()
    ArrChange.objects.bulk_create(rows)
    return loser_changes


def _arr_on(history: dict[date, Decimal], day: date) -> Decimal:
    """ARR on a date: the last change on or before it, 0 before the first."""
    earlier = [when for when in history if when <= day]
    return Decimal(history[max(earlier)]) if earlier else Decimal(0)
