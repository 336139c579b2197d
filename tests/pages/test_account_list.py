"""The account list: access, search, filters, sorting, paging, "my accounts", queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Stage, TeamRole
from accounts.web.views import MINE_SESSION_KEY
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ArrChangeFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("pages:account-list")


def names(response):
    return [a.name for a in response.context["accounts"]]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"


def test_users_who_are_not_staff_are_refused(client, plain_user):
    client.force_login(plain_user)
    assert client.get(URL).status_code == 403


def test_login_page_logs_staff_in_and_sends_them_to_the_accounts(client, staff_user):
    page = client.get(reverse("login"))
    assert b"Log in to ABX Ops" in page.content
    response = client.post(reverse("login"), {"username": "revops", "password": "pw"})
    assert response.status_code == 302 and response.url == URL
    assert client.get(URL).status_code == 200


def test_logout_is_a_post_and_ends_the_session(staff_client):
    response = staff_client.post(reverse("logout"))
    assert response.status_code == 200
    assert staff_client.get(URL).status_code == 302


def test_root_leads_to_the_account_list(staff_client):
    assert staff_client.get("/").url == URL


def test_search_matches_name_and_any_domain(staff_client):
    acme = AccountFactory(name="Acme Robotics")
    AccountDomainFactory(account=acme, domain="acme.io")
    globex = AccountFactory(name="Globex")
    AccountDomainFactory(account=globex, domain="globex.com")
    AccountDomainFactory(account=globex, domain="initech-legacy.com", is_primary=False)
    AccountFactory(name="Umbrella")

    assert names(staff_client.get(URL, {"q": "acme"})) == ["Acme Robotics"]
    assert names(staff_client.get(URL, {"q": "initech"})) == ["Globex"]
    response = staff_client.get(URL, {"q": "nothing-like-it"})
    assert names(response) == []
    assert b"No account matches these filters." in response.content


def test_filters_by_tier_stage_and_owner(staff_client):
    tier1 = TierFactory(rank=1, name="Strategic")
    ae = UserFactory(username="ann")
    a = AccountFactory(name="A", tier=tier1, stage=Stage.CUSTOMER)
    AccountFactory(name="B", tier=tier1, stage=Stage.PROSPECT)
    c = AccountFactory(name="C", stage=Stage.CUSTOMER)
    TeamMemberFactory(account=c, user=ae, role=TeamRole.AE)

    assert names(staff_client.get(URL, {"tier": tier1.pk})) == ["A", "B"]
    assert names(staff_client.get(URL, {"tier": "none"})) == ["C"]
    assert names(staff_client.get(URL, {"stage": "customer"})) == ["A", "C"]
    assert names(staff_client.get(URL, {"tier": tier1.pk, "stage": "customer"})) == [a.name]
    assert names(staff_client.get(URL, {"owner": ae.pk})) == ["C"]
    # Values nobody could pick are ignored, not an error.
    assert names(staff_client.get(URL, {"stage": "bogus", "tier": "x"})) == ["A", "B", "C"]


def test_merged_accounts_are_not_listed(staff_client):
    survivor = AccountFactory(name="Survivor")
    AccountFactory(name="Loser", merged_into=survivor)
    assert names(staff_client.get(URL)) == ["Survivor"]


def test_sorting_by_arr_tier_and_stage(staff_client):
    gold, silver = TierFactory(rank=1, name="Gold"), TierFactory(rank=2, name="Silver")
    small = AccountFactory(name="Small", tier=silver, stage=Stage.CUSTOMER)
    big = AccountFactory(name="Big", stage=Stage.PROSPECT)
    mid = AccountFactory(name="Mid", tier=gold, stage=Stage.ENGAGED)
    ArrChangeFactory(account=small, effective_date=date(2025, 1, 1), arr=Decimal("1000"))
    ArrChangeFactory(account=big, effective_date=date(2025, 1, 1), arr=Decimal("90000"))
    ArrChangeFactory(account=mid, effective_date=date(2025, 1, 1), arr=Decimal("20000"))

    assert names(staff_client.get(URL, {"sort": "-arr"})) == ["Big", "Mid", "Small"]
    assert names(staff_client.get(URL, {"sort": "arr"})) == ["Small", "Mid", "Big"]
    # Tier by rank, accounts without a tier last.
    assert names(staff_client.get(URL, {"sort": "tier"})) == ["Mid", "Small", "Big"]
    # Stage in lifecycle order, not alphabetical.
    assert names(staff_client.get(URL, {"sort": "stage"})) == ["Big", "Mid", "Small"]
    assert names(staff_client.get(URL, {"sort": "-stage"})) == ["Small", "Mid", "Big"]
    assert names(staff_client.get(URL, {"sort": "no-such-column"})) == ["Big", "Mid", "Small"]


def test_pages_of_fifty(staff_client):
    AccountFactory.create_batch(55)
    first = staff_client.get(URL)
    assert len(first.context["accounts"]) == 50
    assert b"Page 1 of 2" in first.content
    second = staff_client.get(URL, {"page": 2})
    assert len(second.context["accounts"]) == 5


def test_htmx_paging_returns_only_the_results(staff_client):
    AccountFactory.create_batch(55)
    response = staff_client.get(URL, {"page": 2}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert b'class="accounts"' in response.content


def test_my_accounts_are_remembered_for_the_user(staff_client, staff_user):
    mine = AccountFactory(name="Mine")
    AccountFactory(name="Theirs")
    TeamMemberFactory(account=mine, user=staff_user, role=TeamRole.CSM)

    assert names(staff_client.get(URL, {"mine": "1"})) == ["Mine"]
    assert staff_client.session[MINE_SESSION_KEY] is True
    # The next visit without the parameter keeps the saved view.
    assert names(staff_client.get(URL)) == ["Mine"]
    assert names(staff_client.get(URL, {"mine": "0"})) == ["Mine", "Theirs"]
    assert names(staff_client.get(URL)) == ["Mine", "Theirs"]


def test_list_shows_tier_stage_arr_and_owners(staff_client):
    tier = TierFactory(rank=1, name="Strategic")
    account = AccountFactory(name="Acme", tier=tier, stage=Stage.CUSTOMER)
    ArrChangeFactory(account=account, effective_date=date(2025, 1, 1), arr=Decimal("123456.70"))
    TeamMemberFactory(
        account=account, user=UserFactory(username="ann", first_name="Ann", last_name="Lee")
    )
    html = staff_client.get(URL).content.decode()
    assert "Strategic" in html and "Customer" in html
    assert "$123,457" in html
    assert "Ann Lee" in html
    assert reverse("pages:account-detail", args=[account.pk]) in html


@pytest.mark.parametrize("rows", [3, 12])
def test_list_runs_a_constant_number_of_queries(
    staff_client, django_assert_num_queries, rows, accounts_only
):
    tier = TierFactory(rank=1)
    for i in range(rows):
        account = AccountFactory(tier=tier)
        AccountDomainFactory(account=account)
        ArrChangeFactory(account=account)
        TeamMemberFactory(account=account, user=UserFactory(username=f"owner{i}"))
    # session, user, tiers, owners, count, rows, team prefetch
    with django_assert_num_queries(7):
        response = staff_client.get(URL, {"sort": "-arr"})
    assert len(response.context["accounts"]) == rows
