"""`account.stage_changed` and `account.tier_changed` go out however the change was made:
the admin, the API, a CSV import or a playbook step, once each, in the change's transaction."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from abx_site.common.scopes import Scope
from accounts import services
from accounts.choices import AccountEventKind, Stage, TierSource
from accounts.models import Account, AccountEvent
from playbooks.choices_execution import WebhookEvent
from playbooks.execution import runner
from playbooks.models import Delivery
from tests.accounts.factories import AccountFactory, TierFactory, UserFactory
from tests.accounts.test_admin import account_post, csv_format_index, url

from .factories import WebhookEndpointFactory, started

pytestmark = pytest.mark.django_db

BOTH = [WebhookEvent.STAGE_CHANGED, WebhookEvent.TIER_CHANGED]


@pytest.fixture
def crm():
    return WebhookEndpointFactory(name="crm", event_types=BOTH)


def messages(event=None):
    rows = Delivery.objects.order_by("id")
    if event:
        rows = rows.filter(event=event)
    return [(d.event, d.idempotency_key, d.payload["data"]) for d in rows]


def key_of(account, kind) -> str:
    return f"account-event-{AccountEvent.objects.get(account=account, kind=kind).pk}"


def test_a_stage_change_in_the_admin_is_announced_by_whoever_made_it(client, superuser, crm):
    account = AccountFactory(stage=Stage.PROSPECT)
    client.force_login(superuser)

    response = client.post(
        url(Account, "change", account.pk), account_post(account, stage=Stage.ENGAGED)
    )

    assert response.status_code == 302
    assert messages() == [
        (
            WebhookEvent.STAGE_CHANGED,
            key_of(account, AccountEventKind.STAGE_CHANGED),
            {"account": account.pk, "old": "prospect", "new": "engaged", "by": "admin"},
        )
    ]
    delivery = Delivery.objects.get()
    assert (delivery.endpoint, delivery.url) == (crm, crm.url)
    assert delivery.payload["type"] == "account.stage_changed"


def test_a_tier_change_through_the_api_is_announced_with_the_key_name(api_client, api_key_for, crm):
    gold = TierFactory(name="Gold", rank=1)
    account = AccountFactory(tier=None)
    key = api_key_for(Scope.ACCOUNTS_READ, Scope.ACCOUNTS_WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.patch(f"/api/v1/accounts/{account.pk}/", {"tier": gold.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert messages() == [
        (
            WebhookEvent.TIER_CHANGED,
            key_of(account, AccountEventKind.TIER_CHANGED),
            {"account": account.pk, "old": "", "new": "Gold", "by": "API key: test"},
        )
    ]


def test_a_csv_import_announces_each_change(client, superuser, crm):
    from django.core.files.uploadedfile import SimpleUploadedFile

    TierFactory(name="Strategic", rank=1)
    AccountFactory(name="Umbrella", stage=Stage.PROSPECT).domains.create(
        domain="umbrella.com", is_primary=True
    )
    client.force_login(superuser)
    csv = "domain,name,stage,tier\numbrella.com,Umbrella,customer,Strategic\nnew-co.com,New Co,,\n"

    checked = client.post(
        url(Account, "import"),
        {
            "resource": "0",
            "format": str(csv_format_index()),
            "import_file": SimpleUploadedFile("rows.csv", csv.encode(), "text/csv"),
        },
    )
    confirm = checked.context["confirm_form"]
    assert confirm is not None
    client.post(url(Account, "process_import"), confirm.initial)

    umbrella = Account.objects.get(name="Umbrella")
    assert (umbrella.stage, umbrella.tier.name) == (Stage.CUSTOMER, "Strategic")
    assert sorted(messages()) == sorted(
        [
            (
                WebhookEvent.STAGE_CHANGED,
                key_of(umbrella, AccountEventKind.STAGE_CHANGED),
                {"account": umbrella.pk, "old": "prospect", "new": "customer", "by": "admin"},
            ),
            (
                WebhookEvent.TIER_CHANGED,
                key_of(umbrella, AccountEventKind.TIER_CHANGED),
                {"account": umbrella.pk, "old": "", "new": "Strategic", "by": "admin"},
            ),
        ]
    )


def test_an_account_created_with_a_tier_announces_the_tier(crm):
    TierFactory(name="Gold", rank=1)
    rep = UserFactory(username="rep")

    account = services.account_create(
        name="Initech", tier=TierFactory(name="Silver", rank=2), actor=rep
    )

    assert messages() == [
        (
            WebhookEvent.TIER_CHANGED,
            key_of(account, AccountEventKind.TIER_CHANGED),
            {"account": account.pk, "old": "", "new": "Silver", "by": "rep"},
        )
    ]


def test_only_subscribed_endpoints_hear_and_other_changes_are_not_announced(crm):
    stages_only = WebhookEndpointFactory(event_types=[WebhookEvent.STAGE_CHANGED])
    account = AccountFactory(stage=Stage.PROSPECT, tier=None)

    services.account_update(
        account=account, data={"tier": TierFactory(), "industry": "Retail"}, actor_label="sync"
    )
    services.account_team_member_set(account=account, role="ae", user=UserFactory())

    assert {(d.endpoint_id, d.event) for d in Delivery.objects.all()} == {
        (crm.pk, WebhookEvent.TIER_CHANGED)
    }
    assert not Delivery.objects.filter(endpoint=stages_only).exists()


def test_a_change_that_rolls_back_leaves_no_message(crm):
    account = AccountFactory(stage=Stage.PROSPECT)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.account_update(account=account, data={"stage": Stage.ENGAGED})
        assert Delivery.objects.count() == 1  # written with the change...
        raise RuntimeError("the caller's transaction fails after the change")

    assert not Delivery.objects.exists()  # ...and gone with it
    account.refresh_from_db()
    assert account.stage == Stage.PROSPECT


def test_a_refused_change_leaves_no_message(crm):
    account = AccountFactory(stage=Stage.PROSPECT)

    with pytest.raises(ValidationError):
        services.account_update(account=account, data={"stage": "nonsense"})

    assert not Delivery.objects.exists()


def test_a_step_made_change_is_announced_once_and_says_which_step(crm):
    account = AccountFactory(stage=Stage.ENGAGED, tier=None, tier_source=TierSource.RULE)
    TierFactory(name="Gold", rank=1)
    activation = started(
        ("set_stage", {"stage": "opportunity"}), ("set_tier", {"tier": "Gold"}), account=account
    )

    runner.step_sweep()
    runner.step_sweep()  # nothing left to run: nothing announced again

    name = activation.playbook.name
    assert sorted(messages()) == [
        (
            WebhookEvent.STAGE_CHANGED,
            key_of(account, AccountEventKind.STAGE_CHANGED),
            {
                "account": account.pk,
                "old": "engaged",
                "new": "opportunity",
                "by": f"Playbook '{name}', step 1",
            },
        ),
        (
            WebhookEvent.TIER_CHANGED,
            key_of(account, AccountEventKind.TIER_CHANGED),
            {"account": account.pk, "old": "", "new": "Gold", "by": f"Playbook '{name}', step 2"},
        ),
    ]
