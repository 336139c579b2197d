from datetime import timedelta

import pytest
from django.utils import timezone

from abx_site.common.scopes import Scope
from playbooks.choices_execution import MembershipStatus, TaskStatus
from playbooks.models import AccountExperience, CampaignMembership, Task
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactFactory,
    IpRangeFactory,
    TierFactory,
    UserFactory,
)

from .factories import CampaignFactory, ExperienceDefaultFactory, TaskFactory

pytestmark = pytest.mark.django_db


def key_client(api_client, api_key_for, *scopes, user=None):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(*scopes, user=user)}")
    return api_client


# Tasks -----------------------------------------------------------------------------------


def test_a_key_bound_to_a_user_sees_only_that_users_tasks(
    api_client, api_key_for, django_assert_num_queries
):
    me, other = UserFactory(), UserFactory()
    mine = TaskFactory.create_batch(3, assignee=me)
    TaskFactory(assignee=other)
    client = key_client(api_client, api_key_for, Scope.TASKS_READ, user=me)
    with django_assert_num_queries(4):  # key, last used, count, page
        response = client.get("/api/v1/tasks/")
    assert response.status_code == 200
    assert {t["id"] for t in response.json()["results"]} == {t.pk for t in mine}


def test_tasks_need_the_scope_and_an_unbound_key_sees_none(api_client, api_key_for):
    me = UserFactory()
    assert (
        key_client(api_client, api_key_for, Scope.ACCOUNTS_READ, user=me)
        .get("/api/v1/tasks/")
        .status_code
        == 403
    )
    TaskFactory(assignee=me)
    response = key_client(api_client, api_key_for, Scope.TASKS_READ).get("/api/v1/tasks/")
    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_an_assignee_completes_snoozes_and_reassigns_their_task(api_client, api_key_for):
    me, colleague = UserFactory(), UserFactory(username="colleague")
    task = TaskFactory(assignee=me)
    client = key_client(api_client, api_key_for, Scope.TASKS_WRITE, user=me)
    later = (timezone.localdate() + timedelta(days=3)).isoformat()

    response = client.patch(
        f"/api/v1/tasks/{task.pk}/", {"status": "snoozed", "snoozed_until": later}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["snoozed_until"] == later
    response = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "done"}, format="json")
    task.refresh_from_db()
    assert (task.status, task.snoozed_until) == (TaskStatus.DONE, None)
    assert task.completed_at is not None
    client.patch(f"/api/v1/tasks/{task.pk}/", {"assignee": "colleague"}, format="json")
    task.refresh_from_db()
    assert task.assignee == colleague


def test_bad_task_updates_name_the_field_and_change_nothing(api_client, api_key_for):
    me = UserFactory()
    task = TaskFactory(assignee=me)
    client = key_client(api_client, api_key_for, Scope.TASKS_WRITE, user=me)
    for body, field in [
        ({"status": "snoozed"}, "snoozed_until"),
        ({"status": "finished"}, "status"),
        ({"stauts": "done"}, "stauts"),
        ({"assignee": "nobody"}, "assignee"),
    ]:
        response = client.patch(f"/api/v1/tasks/{task.pk}/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"]
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_someone_elses_task_is_not_found(api_client, api_key_for):
    task = TaskFactory(assignee=UserFactory())
    client = key_client(api_client, api_key_for, Scope.TASKS_WRITE, user=UserFactory())
    response = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "done"}, format="json")
    assert response.status_code == 404
    assert Task.objects.get().status == TaskStatus.OPEN


def test_staff_see_their_own_tasks_through_the_session(client, staff_user):
    TaskFactory(assignee=staff_user)
    TaskFactory(assignee=UserFactory())
    client.force_login(staff_user)
    assert client.get("/api/v1/tasks/").json()["count"] == 1


# Audiences -------------------------------------------------------------------------------


def test_the_audience_excludes_suppressed_and_do_not_contact(
    api_client, api_key_for, django_assert_num_queries
):
    campaign = CampaignFactory()
    members = []
    for _ in range(3):
        account = AccountFactory()
        AccountDomainFactory(account=account)
        ContactFactory.create_batch(2, account=account)
        ContactFactory(account=account, do_not_contact=True)
        members.append(account)
        CampaignMembership.objects.create(
            campaign=campaign, account=account, status=MembershipStatus.ENROLLED
        )
    for status, dnc in [(MembershipStatus.SUPPRESSED, False), (MembershipStatus.ENROLLED, True)]:
        CampaignMembership.objects.create(
            campaign=campaign, account=AccountFactory(do_not_contact=dnc), status=status
        )
    client = key_client(api_client, api_key_for, Scope.CAMPAIGNS_READ)
    # key, last used, campaign, count, page, then contacts, domains, identifiers
    with django_assert_num_queries(8):
        response = client.get(f"/api/v1/campaigns/{campaign.pk}/audience/")
    body = response.json()
    assert body["count"] == 3
    assert [m["account_id"] for m in body["results"]] == [a.pk for a in members]
    assert all(len(m["contacts"]) == 2 for m in body["results"])
    assert all(m["domain"] for m in body["results"])


def test_the_audience_needs_its_scope(api_client, api_key_for):
    campaign = CampaignFactory()
    client = key_client(api_client, api_key_for, Scope.TASKS_READ)
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/audience/").status_code == 403


# Personalization ---------------------------------------------------------------------------


@pytest.fixture
def website(api_client, api_key_for):
    return key_client(api_client, api_key_for, Scope.PERSONALIZATION_READ)


def test_a_personalized_account_gets_its_variant_without_its_tier(
    website, django_assert_num_queries
):
    tier = TierFactory(rank=1, name="Strategic")
    account = AccountFactory(tier=tier)
    AccountDomainFactory(account=account, domain="acme.com")
    AccountExperience.objects.create(account=account, variant="vip", content={"h1": "Hi Acme"})
    website.get("/api/v1/personalization/", {"domain": "acme.com"})  # the key's last use
    # key, identity steps, domain, merges, the account with its variant
    with django_assert_num_queries(5):
        response = website.get("/api/v1/personalization/", {"domain": "www.acme.com"})
    assert response.json() == {"variant": "vip", "content": {"h1": "Hi Acme"}}
    assert "Strategic" not in response.content.decode()


def test_defaults_by_tier_and_industry_then_strangers(website):
    gold = TierFactory(rank=1)
    ExperienceDefaultFactory(tier=gold, industry="Banking", variant="gold-banking")
    ExperienceDefaultFactory(tier=gold, industry="", variant="gold")
    ExperienceDefaultFactory(tier=None, industry="", variant="known")
    bank = AccountFactory(tier=gold, industry="Banking")
    shop = AccountFactory(tier=gold, industry="Retail")
    other = AccountFactory(tier=None, industry="Retail")
    AccountDomainFactory(account=bank, domain="bank.com")
    AccountDomainFactory(account=shop, domain="shop.com")
    IpRangeFactory(account=other, network="203.0.113.0/24")

    def variant(**query):
        return website.get("/api/v1/personalization/", query).json()["variant"]

    assert variant(domain="bank.com") == "gold-banking"
    assert variant(domain="shop.com") == "gold"
    assert variant(ip="203.0.113.9") == "known"
    assert variant(domain="stranger.org") == "default"


def test_personalization_needs_a_domain_or_ip_and_its_scope(website, api_client, api_key_for):
    response = website.get("/api/v1/personalization/")
    assert response.status_code == 400
    assert "domain" in response.json()["errors"]
    client = key_client(api_client, api_key_for, Scope.TASKS_READ)
    assert client.get("/api/v1/personalization/", {"domain": "x.com"}).status_code == 403
