"""The account graph's invariants hold in the database, whatever path writes the rows."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.choices import DealStatus, PartnerInfluence, TeamRole
from accounts.domains import ip_key
from accounts.models import (
    Account,
    AccountDomain,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IpRange,
    PersonaRule,
    Tier,
)
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    PartnerFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_domain_belongs_to_one_account():
    AccountDomainFactory(domain="acme.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDomain.objects.create(account=AccountFactory(), domain="acme.com")

    assert AccountDomain.objects.filter(domain="acme.com").count() == 1


def test_an_account_has_one_primary_domain():
    account = AccountFactory()
    AccountDomainFactory(account=account, domain="acme.com", is_primary=True)
    AccountDomain.objects.create(account=account, domain="acme.io", is_primary=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDomain.objects.create(account=account, domain="acme.de", is_primary=True)

    # Another account's primary domain is no conflict.
    AccountDomainFactory(domain="globex.com", is_primary=True)
    assert AccountDomain.objects.filter(is_primary=True).count() == 2


def test_an_external_id_is_unique_per_system():
    AccountIdentifierFactory(system="crm", external_id="001A")
    AccountIdentifier.objects.create(account=AccountFactory(), system="billing", external_id="001A")

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountIdentifier.objects.create(account=AccountFactory(), system="crm", external_id="001A")


def test_contact_emails_are_unique():
    ContactFactory(email="jane@acme.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(account=AccountFactory(), email="jane@acme.com")


def test_contact_emails_are_stored_in_lower_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(account=AccountFactory(), email="Jane@Acme.com")

    assert not Contact.objects.exists()


def test_contact_clean_lowercases_the_email():
    contact = Contact(account=AccountFactory(), email="Jane.Roe@ACME.com")

    contact.full_clean()

    assert contact.email == "jane.roe@acme.com"


def test_a_deal_amount_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        DealFactory(amount=Decimal("-1.00"))


def test_an_influenced_or_sourced_deal_names_its_partner():
    for influence in (PartnerInfluence.INFLUENCED, PartnerInfluence.SOURCED):
        with pytest.raises(IntegrityError), transaction.atomic():
            DealFactory(partner_influence=influence, partner=None)

    deal = DealFactory(partner_influence=PartnerInfluence.SOURCED, partner=PartnerFactory())
    assert deal.partner is not None


def test_a_closed_deal_has_a_close_date():
    for status in (DealStatus.WON, DealStatus.LOST):
        with pytest.raises(IntegrityError), transaction.atomic():
            DealFactory(status=status, close_date=None)

    DealFactory(status=DealStatus.OPEN, close_date=None)
    DealFactory(status=DealStatus.WON, close_date=date(2026, 2, 1))
    assert Deal.objects.count() == 2


def test_arr_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        ArrChangeFactory(arr=Decimal("-0.01"))


def test_an_account_has_one_arr_change_per_date():
    change = ArrChangeFactory(effective_date=date(2026, 1, 1))

    with pytest.raises(IntegrityError), transaction.atomic():
        ArrChange.objects.create(
            account=change.account, effective_date=date(2026, 1, 1), arr=Decimal("1.00")
        )

    # The same date on another account is fine.
    ArrChangeFactory(effective_date=date(2026, 1, 1))
    assert ArrChange.objects.count() == 2


def test_an_account_cannot_be_its_own_parent():
    account = AccountFactory()
    account.parent_id = account.pk

    with pytest.raises(IntegrityError), transaction.atomic():
        account.save()

    assert Account.objects.get(pk=account.pk).parent_id is None


def test_an_account_cannot_be_merged_into_itself():
    account = AccountFactory()
    account.merged_into_id = account.pk

    with pytest.raises(IntegrityError), transaction.atomic():
        account.save()


def test_an_ip_range_starts_before_it_ends():
    account = AccountFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        IpRange.objects.create(
            account=account,
            start=ip_key("10.0.0.9"),
            end=ip_key("10.0.0.1"),
            network="10.0.0.9-10.0.0.1",
        )

    IpRange.objects.create(
        account=account, start=ip_key("10.0.0.1"), end=ip_key("10.0.0.1"), network="10.0.0.1/32"
    )
    assert IpRange.objects.count() == 1


def test_an_ip_range_is_assigned_once():
    account = AccountFactory()
    IpRange.objects.create(
        account=account, start=ip_key("10.0.0.0"), end=ip_key("10.0.0.255"), network="10.0.0.0/24"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        IpRange.objects.create(
            account=AccountFactory(),
            start=ip_key("10.0.0.0"),
            end=ip_key("10.0.0.255"),
            network="10.0.0.0/24",
        )


def test_ip_range_clean_computes_the_bounds():
    ip_range = IpRange(account=AccountFactory(), network="203.0.113.7/24")

    ip_range.full_clean()

    assert ip_range.network == "203.0.113.0/24"
    assert (ip_range.start, ip_range.end) == (ip_key("203.0.113.0"), ip_key("203.0.113.255"))


def test_one_team_member_per_role():
    member = TeamMemberFactory(role=TeamRole.AE)
    TeamMemberFactory(account=member.account, role=TeamRole.CSM, user=member.user)

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountTeamMember.objects.create(
            account=member.account, role=TeamRole.AE, user=UserFactory()
        )


def test_tier_rank_starts_at_one():
    with pytest.raises(IntegrityError), transaction.atomic():
        Tier.objects.create(name="Tier zero", rank=0, treatment="one_to_one")


def test_tier_clean_accepts_only_buying_roles():
    tier = TierFactory.build(rank=9, name="Tier 9", required_roles=["champion", "wizard"])

    with pytest.raises(ValidationError) as caught:
        tier.full_clean()

    assert "wizard" in str(caught.value.message_dict["required_roles"])


def test_persona_rule_clean_refuses_an_invalid_pattern():
    rule = PersonaRule(name="Broken", title_pattern="(vp", buying_role="champion")

    with pytest.raises(ValidationError) as caught:
        rule.full_clean()

    assert "title_pattern" in caught.value.message_dict


def test_account_clean_uppercases_and_checks_the_country():
    account = AccountFactory.build(country="de")
    account.full_clean()
    assert account.country == "DE"

    account.country = "Germany"
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "country" in caught.value.message_dict


def test_domain_clean_keeps_the_registrable_domain():
    domain = AccountDomain(account=AccountFactory(), domain="https://mail.eu.Acme.co.uk/x")

    domain.full_clean()

    assert domain.domain == "acme.co.uk"
