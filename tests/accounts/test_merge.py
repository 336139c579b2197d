from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.choices import AccountEventKind, TeamRole
from accounts.identity import resolve
from accounts.models import Account, AccountEvent, ArrChange
from accounts.services import account_merge, account_merge_preview
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    IpRangeFactory,
    TeamMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def arr_history(account):
    return list(
        ArrChange.objects.filter(account=account)
        .order_by("effective_date")
        .values_list("effective_date", "arr")
    )


def test_arr_histories_are_summed_at_the_union_of_their_change_dates():
    # given
    survivor, loser = AccountFactory(), AccountFactory()
    for day, arr in [(date(2025, 1, 1), 100), (date(2025, 6, 1), 150)]:
        ArrChangeFactory(account=survivor, effective_date=day, arr=arr)
    for day, arr in [(date(2025, 3, 1), 40), (date(2025, 9, 1), 60)]:
        ArrChangeFactory(account=loser, effective_date=day, arr=arr)

    # when
    account_merge(loser=loser, survivor=survivor)

    # then, by hand: Jan 100 + 0; Mar 100 + 40; Jun 150 + 40; Sep 150 + 60
    assert arr_history(survivor) == [
        (date(2025, 1, 1), Decimal("100.00")),
        (date(2025, 3, 1), Decimal("140.00")),
        (date(2025, 6, 1), Decimal("190.00")),
        (date(2025, 9, 1), Decimal("210.00")),
    ]
    assert arr_history(loser) == []
    assert Account.objects.with_arr(on=date(2025, 7, 1)).get(pk=survivor.pk).arr == Decimal(190)


def test_the_account_graph_moves_to_the_survivor():
    # given
    survivor, loser = AccountFactory(name="Acme"), AccountFactory(name="ACME Holdings")
    AccountDomainFactory(account=survivor, domain="acme.com", is_primary=True)
    AccountDomainFactory(account=loser, domain="acme-holdings.com", is_primary=True)
    AccountIdentifierFactory(account=loser, system="crm", external_id="001B")
    IpRangeFactory(account=loser, network="198.51.100.0/24")
    contacts = ContactFactory.create_batch(2, account=loser)
    deal = DealFactory(account=loser)
    child = AccountFactory(parent=loser)
    ae, csm, other_ae = UserFactory(), UserFactory(), UserFactory()
    TeamMemberFactory(account=survivor, role=TeamRole.AE, user=ae)
    TeamMemberFactory(account=loser, role=TeamRole.AE, user=other_ae)
    TeamMemberFactory(account=loser, role=TeamRole.CSM, user=csm)
    actor = UserFactory()

    # when
    moved = account_merge(loser=loser, survivor=survivor, actor=actor)

    # then
    assert moved == {
        "contacts": 2,
        "domains": 1,
        "identifiers": 1,
        "aliases": 1,
        "IP ranges": 1,
        "deals": 1,
        "team roles filled": 1,
        "sub-accounts": 1,
    }
    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert loser.merged_into == survivor
    assert {c.account_id for c in survivor.contacts.all()} == {survivor.pk}
    assert len(contacts) == survivor.contacts.count()
    assert dict(survivor.domains.values_list("domain", "is_primary")) == {
        "acme.com": True,
        "acme-holdings.com": False,
    }
    deal.refresh_from_db()
    child.refresh_from_db()
    assert (deal.account, child.parent) == (survivor, survivor)
    # the survivor's AE stays; the loser's CSM fills the empty role
    assert dict(survivor.team.values_list("role", "user")) == {
        TeamRole.AE: ae.pk,
        TeamRole.CSM: csm.pk,
    }
    assert not loser.team.exists()
    # every hint of the loser now resolves to the survivor
    assert resolve({"domain": "acme-holdings.com"}).account_id == survivor.pk
    assert resolve({"identifier": ("crm", "001B")}).account_id == survivor.pk
    assert resolve({"ip": "198.51.100.7"}).account_id == survivor.pk
    assert resolve({"name": "ACME Holdings Inc"}).account_id == survivor.pk
    # a merged event on both, by the actor
    events = AccountEvent.objects.filter(kind=AccountEventKind.MERGED)
    assert {(e.account_id, e.actor_id) for e in events} == {
        (loser.pk, actor.pk),
        (survivor.pk, actor.pk),
    }


def test_the_preview_counts_what_would_move_and_changes_nothing():
    survivor, loser = AccountFactory(), AccountFactory()
    ContactFactory.create_batch(3, account=loser)
    ArrChangeFactory(account=loser, effective_date=date(2025, 1, 1), arr=10)

    preview = account_merge_preview(loser=loser, survivor=survivor)

    assert preview == {"contacts": 3, "ARR changes": 1}
    loser.refresh_from_db()
    assert loser.merged_into is None
    assert survivor.contacts.count() == 0


@pytest.mark.parametrize(
    ("loser_flag", "survivor_flag", "expected", "shown"),
    [(True, False, True, 1), (False, True, True, 0), (False, False, False, 0)],
)
def test_a_do_not_contact_request_survives_the_merge(loser_flag, survivor_flag, expected, shown):
    survivor = AccountFactory(do_not_contact=survivor_flag)
    loser = AccountFactory(do_not_contact=loser_flag)

    preview = account_merge_preview(loser=loser, survivor=survivor)
    moved = account_merge(loser=loser, survivor=survivor)

    assert preview.get("do-not-contact flag", 0) == moved.get("do-not-contact flag", 0) == shown
    survivor.refresh_from_db()
    assert survivor.do_not_contact is expected


@pytest.mark.parametrize(
    "case, message",
    [
        ("self", "into itself"),
        ("loser merged", "already merged"),
        ("survivor merged", "merge into that one"),
        ("survivor inside loser", "hierarchy"),
    ],
)
def test_impossible_merges_are_refused_and_change_nothing(case, message):
    survivor, loser = AccountFactory(), AccountFactory()
    ContactFactory(account=loser)
    if case == "self":
        survivor = loser
    elif case == "loser merged":
        Account.objects.filter(pk=loser.pk).update(merged_into=AccountFactory())
    elif case == "survivor merged":
        Account.objects.filter(pk=survivor.pk).update(merged_into=AccountFactory())
    else:
        middle = AccountFactory(parent=loser)
        Account.objects.filter(pk=survivor.pk).update(parent=middle)

    with pytest.raises(ValidationError, match=message):
        account_merge(loser=loser, survivor=survivor)

    assert loser.contacts.count() == 1
    assert not AccountEvent.objects.filter(kind=AccountEventKind.MERGED).exists()


# Admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_the_admin_action_previews_then_merges(admin_client_):
    survivor, loser, other = (AccountFactory(name=n) for n in ("Acme", "Acme Dup", "Acme 2"))
    ContactFactory.create_batch(2, account=loser)
    changelist = reverse("admin:accounts_account_changelist")

    response = admin_client_.post(
        changelist,
        {"action": "merge_accounts", "_selected_action": [survivor.pk, loser.pk, other.pk]},
    )
    assert response.status_code == 302
    preview_url = response["Location"]
    assert preview_url.endswith(f"?ids={survivor.pk},{loser.pk},{other.pk}")

    response = admin_client_.get(preview_url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 contacts" in page
    assert "Merge into Acme" in page
    loser.refresh_from_db()
    assert loser.merged_into is None

    response = admin_client_.post(
        reverse("admin:accounts_account_merge"),
        {"ids": f"{survivor.pk},{loser.pk},{other.pk}", "survivor": survivor.pk},
    )
    assert response.status_code == 302
    assert set(Account.objects.filter(merged_into=survivor).values_list("pk", flat=True)) == {
        loser.pk,
        other.pk,
    }
    assert survivor.contacts.count() == 2


def test_the_merge_page_shows_why_a_merge_is_refused(admin_client_):
    loser = AccountFactory(name="Parent Co")
    survivor = AccountFactory(name="Child Co", parent=loser)

    response = admin_client_.get(
        reverse("admin:accounts_account_merge") + f"?ids={loser.pk},{survivor.pk}"
        f"&survivor={survivor.pk}"
    )

    page = response.content.decode()
    assert "inside Parent Co" in page
    assert 'type="submit"' not in page.split("What moves")[1]
