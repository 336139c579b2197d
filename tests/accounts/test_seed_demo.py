from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.choices import BuyingRole, Stage, Treatment
from accounts.models import (
    Account,
    AccountDomain,
    AccountEvent,
    ArrChange,
    Contact,
    Deal,
    Tier,
)
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = 60


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--accounts", str(ACCOUNTS), *args, stdout=out)
    return out.getvalue()


def delete_accounts():
    # The parent link protects a parent from being deleted before its children.
    Account.objects.update(parent=None)
    Account.objects.all().delete()


def fingerprint():
    names = sorted(Account.objects.values_list("name", flat=True))
    # Summed in Python: SQLite's SUM returns floats.
    arr = sum(ArrChange.objects.values_list("arr", flat=True), Decimal(0))
    return names, arr, Contact.objects.count(), Deal.objects.count()


def test_seed_demo_covers_every_stage_tier_and_hierarchy_depth():
    # when
    output = seed()

    # then
    assert f"{ACCOUNTS} accounts" in output
    assert "demo / demo-password" in output
    assert Account.objects.count() == ACCOUNTS
    assert set(Account.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert {t.treatment for t in Tier.objects.all()} == set(Treatment.values)
    assert Account.objects.filter(tier__isnull=True).count() == 0
    strategic = Tier.objects.get(rank=1)
    assert set(strategic.required_roles) == {
        BuyingRole.DECISION_MAKER,
        BuyingRole.ECONOMIC_BUYER,
        BuyingRole.CHAMPION,
        BuyingRole.TECHNICAL_EVALUATOR,
    }
    assert Account.objects.filter(parent__isnull=False).count() >= 2
    assert Account.objects.filter(parent__parent__isnull=False).exists()
    assert Account.objects.filter(partner__isnull=False).exists()
    assert Account.objects.filter(domains__isnull=True).count() == 0
    assert AccountDomain.objects.filter(is_primary=True).count() == ACCOUNTS
    stage_events = AccountEvent.objects.filter(kind="stage_changed")
    assert set(stage_events.values_list("new_value", flat=True)) == set(Stage.values) - {
        Stage.PROSPECT
    }
    assert AccountEvent.objects.filter(kind="created").count() == ACCOUNTS


def test_seed_demo_gives_customers_24_months_of_arr_and_churned_accounts_zero():
    seed()

    customers = Account.objects.filter(stage=Stage.CUSTOMER)
    per_customer = Counter(
        ArrChange.objects.filter(account__stage=Stage.CUSTOMER).values_list("account_id", flat=True)
    )
    assert set(per_customer) == set(customers.values_list("pk", flat=True))
    assert set(per_customer.values()) == {24}
    assert {d.day for d in ArrChange.objects.values_list("effective_date", flat=True)} == {1}
    assert customers.with_arr().filter(arr__lte=0).count() == 0
    assert customers.filter(renewal_date__isnull=True).count() == 0
    churned = Account.objects.filter(stage=Stage.CHURNED).with_arr()
    assert churned.exists()
    assert {a.arr for a in churned} == {Decimal("0.00")}


def test_seed_demo_contacts_have_unique_lowercase_emails_and_roles_from_persona_rules():
    seed()

    emails = list(Contact.objects.values_list("email", flat=True))
    assert emails
    assert all(email == email.lower() for email in emails)
    assert len(emails) == len(set(emails))
    counts = Counter(Contact.objects.values_list("account_id", flat=True))
    assert min(counts.values()) >= 3
    assert max(counts.values()) <= 12
    unknown = Contact.objects.filter(buying_role=BuyingRole.UNKNOWN).count()
    assert unknown < len(emails) * 0.1
    assert Contact.objects.filter(title__icontains="VP", buying_role="decision_maker").exists()
    assert Contact.objects.filter(buying_role=BuyingRole.BLOCKER).exists()
    assert Contact.objects.filter(do_not_contact=True).exists()


def test_seed_demo_creates_staff_in_their_teams_and_a_demo_superuser():
    seed()

    demo = User.objects.get(username="demo")
    assert demo.is_superuser
    assert demo.check_password("demo-password")
    assert User.objects.get(username="ae.alex").groups.filter(name="Sales").exists()
    assert User.objects.get(username="csm.casey").groups.filter(name="Customer Success").exists()
    assert User.objects.get(username="revops.riley").groups.filter(name="RevOps").exists()
    # Every kind of deal in every status, money in Decimal, partner named when it influenced.
    kinds = set(Deal.objects.values_list("kind", "status"))
    assert {("new_business", "won"), ("expansion", "won"), ("renewal", "won")} <= kinds
    assert {("new_business", "open"), ("new_business", "lost")} <= kinds
    assert Deal.objects.exclude(partner_influence="none").filter(partner__isnull=True).count() == 0
    assert Deal.objects.exclude(partner_influence="none").exists()


def test_same_seed_gives_the_same_data():
    # given
    seed("--seed", "7")
    first = fingerprint()
    delete_accounts()

    # when
    seed("--seed", "7")

    # then
    assert fingerprint() == first


def test_another_seed_gives_other_data():
    seed("--seed", "1")
    first = fingerprint()
    delete_accounts()

    seed("--seed", "2")

    assert fingerprint() != first


def test_if_empty_leaves_an_existing_database_untouched():
    # given
    account = AccountFactory(name="Existing Co")

    # when
    output = seed("--if-empty")

    # then
    assert "not loaded" in output
    assert list(Account.objects.all()) == [account]
    assert not User.objects.filter(username="demo").exists()


def test_seed_demo_refuses_to_load_twice_without_if_empty():
    AccountFactory()

    with pytest.raises(CommandError, match="already holds accounts"):
        seed()
