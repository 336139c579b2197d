from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.choices import (
    AccountEventKind,
    BuyingRole,
    Department,
    Seniority,
    Stage,
    TeamRole,
    TierSource,
)
from accounts.models import Account, AccountDomain, AccountEvent, ArrChange, Contact
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ArrChangeFactory,
    ContactFactory,
    PersonaRuleFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def events(account, kind):
    return list(
        AccountEvent.objects.filter(account=account, kind=kind)
        .order_by("id")
        .values_list("old_value", "new_value", "actor__username")
    )


# Accounts -----------------------------------------------------------------------------


def test_account_create_normalises_the_domain_and_records_creation_and_tier(staff_user):
    # given
    tier = TierFactory(rank=1, name="Strategic")

    # when
    account = services.account_create(
        name="Acme", domain="https://Mail.EU.Acme.co.uk/pricing", tier=tier, actor=staff_user
    )

    # then
    assert list(account.domains.values_list("domain", "is_primary")) == [("acme.co.uk", True)]
    assert account.tier_source == TierSource.MANUAL
    assert events(account, AccountEventKind.CREATED) == [("", "Acme", "revops")]
    assert events(account, AccountEventKind.TIER_CHANGED) == [("", "Strategic", "revops")]


def test_account_create_without_a_tier_records_only_creation():
    account = services.account_create(name="Globex", actor_label="CRM import")

    assert not account.domains.exists()
    assert list(account.events.values_list("kind", "actor_label")) == [("created", "CRM import")]


def test_account_create_refuses_unknown_fields_and_bad_domains():
    with pytest.raises(ValidationError) as caught:
        services.account_create(name="Acme", merged_into=None)
    assert "merged_into" in caught.value.message_dict

    with pytest.raises(ValidationError) as caught:
        services.account_create(name="Acme", domain="co.uk")
    assert "domain" in caught.value.message_dict
    # The account is rolled back with its domain.
    assert not Account.objects.exists()


def test_account_update_records_stage_tier_and_parent_changes_with_the_actor(staff_user):
    # given
    old_tier, new_tier = TierFactory(rank=2, name="Target"), TierFactory(rank=1, name="Strategic")
    parent = AccountFactory(name="Parent Co")
    account = AccountFactory(stage=Stage.PROSPECT, tier=old_tier, tier_source=TierSource.RULE)

    # when
    services.account_update(
        account=account,
        data={"stage": Stage.ENGAGED, "tier": new_tier, "parent": parent, "industry": "Retail"},
        actor=staff_user,
    )

    # then
    account.refresh_from_db()
    assert (account.stage, account.tier, account.parent) == (Stage.ENGAGED, new_tier, parent)
    assert account.tier_source == TierSource.MANUAL
    assert events(account, AccountEventKind.STAGE_CHANGED) == [("prospect", "engaged", "revops")]
    assert events(account, AccountEventKind.TIER_CHANGED) == [("Target", "Strategic", "revops")]
    assert events(account, AccountEventKind.PARENT_CHANGED) == [("", "Parent Co", "revops")]


def test_account_update_by_a_rule_keeps_the_rule_source_and_names_the_rule():
    tier = TierFactory(rank=3, name="Scale")
    account = AccountFactory()

    services.account_update(
        account=account,
        data={"tier": tier, "tier_source": TierSource.RULE},
        actor_label="Tier rule: small companies",
    )

    account.refresh_from_db()
    assert account.tier_source == TierSource.RULE
    event = account.events.get(kind=AccountEventKind.TIER_CHANGED)
    assert (event.actor, event.actor_label) == (None, "Tier rule: small companies")


def test_account_update_without_changes_records_nothing():
    account = AccountFactory(stage=Stage.CUSTOMER)

    services.account_update(account=account, data={"stage": Stage.CUSTOMER, "industry": "Media"})

    assert not account.events.exists()


def test_account_update_can_set_the_primary_domain():
    account = AccountFactory()
    AccountDomainFactory(account=account, domain="acme.com", is_primary=True)

    services.account_update(account=account, data={"domain": "www.acme.io"})

    assert list(account.domains.order_by("domain").values_list("domain", "is_primary")) == [
        ("acme.com", False),
        ("acme.io", True),
    ]


def test_an_account_cannot_be_its_own_parent():
    account = AccountFactory()

    with pytest.raises(ValidationError) as caught:
        services.account_update(account=account, data={"parent": account})

    assert "parent" in caught.value.message_dict
    account.refresh_from_db()
    assert account.parent is None


def test_a_two_level_loop_is_refused():
    # given: parent <- child
    parent = AccountFactory()
    child = AccountFactory(parent=parent)

    # when: the parent would become the child's child
    with pytest.raises(ValidationError) as caught:
        services.account_update(account=parent, data={"parent": child})

    # then
    assert "loop" in caught.value.message_dict["parent"][0]
    parent.refresh_from_db()
    assert parent.parent is None
    assert not parent.events.exists()


def test_a_three_level_loop_is_refused():
    top = AccountFactory()
    middle = AccountFactory(parent=top)
    bottom = AccountFactory(parent=middle)

    with pytest.raises(ValidationError) as caught:
        services.account_update(account=top, data={"parent": bottom})

    assert "parent" in caught.value.message_dict
    top.refresh_from_db()
    assert top.parent is None


def test_moving_an_account_within_its_hierarchy_without_a_loop_is_allowed():
    top = AccountFactory()
    middle = AccountFactory(parent=top)
    bottom = AccountFactory(parent=middle)

    services.account_update(account=bottom, data={"parent": top})

    bottom.refresh_from_db()
    assert bottom.parent == top


# Domains ------------------------------------------------------------------------------


def test_account_domain_add_refuses_another_accounts_domain_naming_it():
    AccountDomainFactory(account=AccountFactory(name="Globex"), domain="globex.com")
    account = AccountFactory(name="Acme")

    with pytest.raises(ValidationError) as caught:
        services.account_domain_add(account=account, domain="https://shop.globex.com")

    message = caught.value.message_dict["domain"][0]
    assert "globex.com" in message
    assert "Globex" in message
    assert not account.domains.exists()


def test_account_domain_add_moves_the_primary_flag():
    account = AccountFactory()
    services.account_domain_add(account=account, domain="acme.com", is_primary=True)

    services.account_domain_add(account=account, domain="acme.de", is_primary=True)
    services.account_domain_add(account=account, domain="ACME.com")  # already there: no change

    assert dict(account.domains.values_list("domain", "is_primary")) == {
        "acme.com": False,
        "acme.de": True,
    }
    assert AccountDomain.objects.count() == 2


# Team ---------------------------------------------------------------------------------


def test_account_team_member_set_records_owner_changes(staff_user):
    # given
    account = AccountFactory()
    alex, avery = UserFactory(username="ae.alex"), UserFactory(username="ae.avery")

    # when
    services.account_team_member_set(account=account, role=TeamRole.AE, user=alex)
    services.account_team_member_set(
        account=account, role=TeamRole.AE, user=avery, actor=staff_user
    )
    services.account_team_member_set(account=account, role=TeamRole.AE, user=avery)
    services.account_team_member_set(account=account, role=TeamRole.AE, user=None)

    # then
    assert events(account, AccountEventKind.OWNER_CHANGED) == [
        ("", "ae.alex", None),
        ("ae.alex", "ae.avery", "revops"),
        ("ae.avery", "", None),
    ]
    assert {e.data["role"] for e in account.events.filter(kind="owner_changed")} == {"ae"}
    assert not account.team.exists()


# Contacts and persona rules -----------------------------------------------------------


def test_contact_create_lowercases_the_email_and_applies_the_first_matching_rule():
    # given: two rules match "VP Finance"; the lower priority number wins
    PersonaRuleFactory(
        name="VPs", title_pattern=r"\bvp\b", buying_role=BuyingRole.DECISION_MAKER, priority=20
    )
    PersonaRuleFactory(
        name="Finance",
        title_pattern=r"finance",
        buying_role=BuyingRole.ECONOMIC_BUYER,
        seniority=Seniority.VP,
        department=Department.FINANCE,
        priority=10,
    )
    PersonaRuleFactory(
        name="Off", title_pattern=r".", buying_role=BuyingRole.BLOCKER, priority=1, is_active=False
    )

    # when
    contact = services.contact_create(
        account=AccountFactory(), email="  Jane.Roe@ACME.com ", title="VP Finance"
    )

    # then
    contact.refresh_from_db()
    assert contact.email == "jane.roe@acme.com"
    assert contact.buying_role == BuyingRole.ECONOMIC_BUYER
    assert (contact.seniority, contact.department) == (Seniority.VP, Department.FINANCE)
    assert contact.first_seen_at is not None


def test_contact_create_keeps_a_known_role_and_given_seniority_and_department():
    PersonaRuleFactory(
        title_pattern=r"\bvp\b",
        buying_role=BuyingRole.DECISION_MAKER,
        seniority=Seniority.VP,
        department=Department.EXECUTIVE,
    )
    account = AccountFactory()

    known = services.contact_create(
        account=account, email="a@acme.com", title="VP Sales", buying_role=BuyingRole.BLOCKER
    )
    partial = services.contact_create(
        account=account, email="b@acme.com", title="VP Sales", department=Department.SALES
    )

    assert (known.buying_role, known.seniority, known.department) == (BuyingRole.BLOCKER, "", "")
    assert (partial.buying_role, partial.seniority, partial.department) == (
        BuyingRole.DECISION_MAKER,
        Seniority.VP,
        Department.SALES,
    )


def test_contact_create_leaves_the_role_unknown_when_no_rule_matches():
    PersonaRuleFactory(title_pattern=r"\bvp\b")

    contact = services.contact_create(account=AccountFactory(), email="x@acme.com", title="Intern")

    assert contact.buying_role == BuyingRole.UNKNOWN


def test_contact_create_refuses_a_duplicate_email_in_any_case():
    ContactFactory(email="jane@acme.com")

    with pytest.raises(ValidationError) as caught:
        services.contact_create(account=AccountFactory(), email="JANE@acme.com")

    assert caught.value.message_dict["email"] == ["A contact with this email already exists."]
    assert Contact.objects.count() == 1


def test_contact_update_reapplies_rules_when_the_title_changes():
    PersonaRuleFactory(title_pattern=r"\bdirector\b", buying_role=BuyingRole.CHAMPION)
    contact = ContactFactory(title="Engineer")

    services.contact_update(contact=contact, data={"title": "Director of IT"})

    contact.refresh_from_db()
    assert contact.buying_role == BuyingRole.CHAMPION


def make_contacts(account, count):
    for n in range(count):
        ContactFactory(account=account, email=f"p{n}@acme.com", title="VP Engineering")
    # Neither a known role nor a title without a match is touched.
    ContactFactory(account=account, title="VP Sales", buying_role=BuyingRole.BLOCKER)
    ContactFactory(account=account, title="Intern")
    ContactFactory(account=account, title="")


@pytest.mark.parametrize("count", [5, 50])
def test_persona_rules_apply_updates_in_bulk_in_constant_queries(count, django_assert_num_queries):
    # given
    PersonaRuleFactory(
        title_pattern=r"\bvp\b", buying_role=BuyingRole.DECISION_MAKER, seniority=Seniority.VP
    )
    make_contacts(AccountFactory(), count)

    # when: rules, one chunk, its update (in a savepoint), the empty next chunk
    with django_assert_num_queries(6):
        updated = services.persona_rules_apply()

    # then
    assert updated == count
    assert Contact.objects.filter(buying_role=BuyingRole.DECISION_MAKER).count() == count
    assert Contact.objects.filter(seniority=Seniority.VP).count() == count
    assert Contact.objects.filter(buying_role=BuyingRole.BLOCKER).count() == 1
    assert Contact.objects.filter(buying_role=BuyingRole.UNKNOWN).count() == 2


def test_persona_rules_apply_walks_every_chunk():
    PersonaRuleFactory(title_pattern=r"\bvp\b", buying_role=BuyingRole.DECISION_MAKER)
    account = AccountFactory()
    total = services.PERSONA_CHUNK + 3
    Contact.objects.bulk_create(
        Contact(account=account, email=f"p{n}@acme.com", title="VP Sales") for n in range(total)
    )

    assert services.persona_rules_apply() == total
    assert services.persona_rules_apply() == 0
    assert not Contact.objects.filter(buying_role=BuyingRole.UNKNOWN).exists()


def test_persona_rules_apply_without_active_rules_changes_nothing():
    PersonaRuleFactory(is_active=False)
    ContactFactory(title="VP Sales")

    assert services.persona_rules_apply() == 0
    assert Contact.objects.get().buying_role == BuyingRole.UNKNOWN


# Deals and ARR ------------------------------------------------------------------------


def test_deal_create_refuses_another_currency(settings):
    settings.ABX_CURRENCY = "USD"
    fields = {
        "account": AccountFactory(),
        "name": "Acme - New business",
        "kind": "new_business",
        "amount": Decimal("12000.00"),
        "created_date": date(2026, 1, 15),
    }

    with pytest.raises(ValidationError) as caught:
        services.deal_create(**fields, currency="EUR")

    assert "USD" in caught.value.message_dict["currency"][0]
    deal = services.deal_create(**fields, currency="USD")
    assert deal.amount == Decimal("12000.00")


def test_deal_create_checks_the_partner_and_close_date_rules():
    base = {
        "account": AccountFactory(),
        "name": "Acme",
        "kind": "new_business",
        "amount": Decimal("1.00"),
        "created_date": date(2026, 1, 15),
    }

    with pytest.raises(ValidationError):
        services.deal_create(**base, partner_influence="sourced")
    with pytest.raises(ValidationError):
        services.deal_create(**base, status="won")
    with pytest.raises(ValidationError):
        services.deal_create(**{**base, "amount": Decimal("-5")})


def test_arr_change_record_upserts_by_date():
    account = AccountFactory()

    first = services.arr_change_record(
        account=account, effective_date=date(2026, 1, 1), arr=Decimal("1000"), note="signed"
    )
    again = services.arr_change_record(
        account=account, effective_date=date(2026, 1, 1), arr=Decimal("1500"), note="amended"
    )
    services.arr_change_record(account=account, effective_date=date(2026, 2, 1), arr=Decimal(0))

    assert again.pk == first.pk
    assert list(
        ArrChange.objects.filter(account=account)
        .order_by("effective_date")
        .values_list("effective_date", "arr", "note")
    ) == [
        (date(2026, 1, 1), Decimal("1500.00"), "amended"),
        (date(2026, 2, 1), Decimal("0.00"), ""),
    ]


def test_arr_change_record_refuses_negative_arr():
    with pytest.raises(ValidationError):
        services.arr_change_record(
            account=AccountFactory(), effective_date=date(2026, 1, 1), arr=Decimal("-1")
        )


# Querysets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 1, 9), Decimal("0")),  # before the first change
        (date(2025, 1, 10), Decimal("12000")),  # on the day of a change
        (date(2025, 3, 31), Decimal("12000")),
        (date(2025, 4, 1), Decimal("24000")),
        (date(2025, 6, 30), Decimal("24000")),
        (date(2025, 7, 1), Decimal("0")),  # churned
        (date(2026, 1, 1), Decimal("0")),
    ],
)
def test_with_arr_is_the_last_change_on_or_before_the_date(on, expected):
    # given
    account = AccountFactory()
    for day, arr in [
        (date(2025, 1, 10), "12000"),
        (date(2025, 4, 1), "24000"),
        (date(2025, 7, 1), "0"),
    ]:
        ArrChangeFactory(account=account, effective_date=day, arr=Decimal(arr))
    ArrChangeFactory(effective_date=date(2025, 1, 1), arr=Decimal("999"))  # another account

    # when
    arr = Account.objects.with_arr(on).get(pk=account.pk).arr

    # then
    assert arr == expected


def test_with_arr_defaults_to_today_and_is_zero_without_history():
    account = AccountFactory()
    ArrChangeFactory(account=account, effective_date=date(2000, 1, 1), arr=Decimal("500"))
    ArrChangeFactory(account=account, effective_date=date(2999, 1, 1), arr=Decimal("900"))
    empty = AccountFactory()

    arr = dict(Account.objects.with_arr().values_list("pk", "arr"))

    assert arr == {account.pk: Decimal("500"), empty.pk: Decimal("0")}


def test_owned_by_filters_by_user_and_role():
    # given
    user, other = UserFactory(), UserFactory()
    as_ae = TeamMemberFactory(user=user, role=TeamRole.AE).account
    as_csm = TeamMemberFactory(user=user, role=TeamRole.CSM).account
    TeamMemberFactory(account=as_csm, user=other, role=TeamRole.AE)
    TeamMemberFactory(user=other, role=TeamRole.AE)

    # then
    assert set(Account.objects.owned_by(user)) == {as_ae, as_csm}
    assert list(Account.objects.owned_by(user, role=TeamRole.AE)) == [as_ae]
    assert list(Account.objects.owned_by(user, role=TeamRole.SDR)) == []


def test_last_engagement_moves_forward_only_in_chunks_of_any_size(monkeypatch):
    # given five contacts, a chunk of two, and moments earlier or later than theirs
    monkeypatch.setattr(services, "ENGAGEMENT_CHUNK", 2)
    now = timezone.now().replace(microsecond=0)
    account = AccountFactory()
    contacts = [
        ContactFactory(account=account, last_engaged_at=now - timedelta(days=n)) for n in range(4)
    ] + [ContactFactory(account=account, last_engaged_at=None)]
    seen = {contact.pk: now - timedelta(days=2) for contact in contacts}

    # when
    changed = services.contacts_engagement_record(seen=seen)

    # then the ones engaged before two days ago (or never) move; the others keep theirs
    assert changed == 2
    assert [
        Contact.objects.get(pk=contact.pk).last_engaged_at for contact in contacts
    ] == [now, now - timedelta(days=1), now - timedelta(days=2), now - timedelta(days=2),
          now - timedelta(days=2)]  # fmt: skip
