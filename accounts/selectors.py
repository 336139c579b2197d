"""Reads of the account graph with business meaning; querysets come ready to render."""

from django.db.models import Prefetch, QuerySet

from .models import Account, AccountEvent, AccountTeamMember, ArrChange, Contact, Deal, Tier


def account_list(*, user=None, include_merged: bool = False) -> QuerySet[Account]:
    """Live (not merged) accounts with what a list shows: tier, partner, primary domain,
    current ARR and the team. `include_merged` keeps merged accounts (fetching one by id)."""
    accounts = Account.objects.all() if include_merged else Account.objects.active()
    return (
        accounts.select_related("tier", "partner", "parent")
        .with_primary_domain()
        .with_arr()
        .prefetch_related(
            Prefetch("team", queryset=AccountTeamMember.objects.select_related("user"))
        )
    )


def account_get(*, pk: int) -> Account:
    return account_list().get(pk=pk)


def account_resolve_merged(account: Account) -> Account:
    """Follow `merged_into` to the surviving account."""
    seen = {account.pk}
    while account.merged_into_id is not None and account.merged_into_id not in seen:
        seen.add(account.merged_into_id)
        account = Account.objects.get(pk=account.merged_into_id)
    return account


def contact_list() -> QuerySet[Contact]:
    return Contact.objects.select_related("account")


def deal_list() -> QuerySet[Deal]:
    return Deal.objects.select_related("account", "partner")


def arr_history(*, account: Account) -> QuerySet[ArrChange]:
    return ArrChange.objects.filter(account=account).order_by("effective_date")


# Plain, unordered querysets for set-based reads by higher apps (metrics features and
# revenue figures correlate them to accounts with `OuterRef`).


def arr_change_list() -> QuerySet[ArrChange]:
    return ArrChange.objects.order_by()


def team_member_list() -> QuerySet[AccountTeamMember]:
    return AccountTeamMember.objects.order_by()


def account_event_list() -> QuerySet[AccountEvent]:
    return AccountEvent.objects.order_by()


def tier_list() -> QuerySet[Tier]:
    return Tier.objects.order_by("rank")


def account_set() -> QuerySet[Account]:
    """Live accounts, unordered and without joins: the base of set-based computations."""
    return Account.objects.active().order_by()
