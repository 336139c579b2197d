from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.choices import (
    AccountEventKind,
    BuyingRole,
    DealKind,
    IdentityMethod,
    PartnerKind,
    Stage,
    TeamRole,
    Treatment,
)
from accounts.identity import clean_company_name
from accounts.models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IdentityStep,
    IpRange,
    Partner,
    PersonaRule,
    Tier,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("rank",)

    rank = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda t: f"Tier {t.rank}")
    treatment = Treatment.ONE_TO_MANY
    required_roles = factory.LazyFunction(lambda: [BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION])


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    kind = PartnerKind.RESELLER


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    industry = "Software"
    country = "US"
    employee_count = 250


class AccountDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountDomain

    account = factory.SubFactory(AccountFactory)
    domain = factory.Sequence(lambda n: f"company{n}.com")
    is_primary = True


class AccountIdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountIdentifier

    account = factory.SubFactory(AccountFactory)
    system = "crm"
    external_id = factory.Sequence(lambda n: f"001A{n:06d}")


class AccountAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountAlias

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Brand {n}")
    normalised = factory.LazyAttribute(lambda a: clean_company_name(a.name))


class IpRangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IpRange
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    network = factory.Sequence(lambda n: f"10.{n // 256 % 256}.{n % 256}.0/24")

    @factory.post_generation
    def bounds(obj, create, extracted, **kwargs):
        obj.clean()
        if create:
            obj.save()


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    title = "Engineer"


class PersonaRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonaRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    title_pattern = r"\bvp\b"
    buying_role = BuyingRole.DECISION_MAKER


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountTeamMember

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamRole.AE


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Deal {n}")
    kind = DealKind.NEW_BUSINESS
    amount = Decimal("12000.00")
    currency = "USD"
    created_date = date(2026, 1, 15)


class ArrChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArrChange

    account = factory.SubFactory(AccountFactory)
    effective_date = date(2026, 1, 1)
    arr = Decimal("50000.00")


class AccountEventFactory(factory.django.DjangoModelFactory):
    """A stage change made by a person (services write the real ones)."""

    class Meta:
        model = AccountEvent

    account = factory.SubFactory(AccountFactory)
    kind = AccountEventKind.STAGE_CHANGED
    old_value = Stage.PROSPECT
    new_value = Stage.ENGAGED
    actor = factory.SubFactory(UserFactory)
    occurred_at = factory.LazyFunction(timezone.now)


class IdentityStepFactory(factory.django.DjangoModelFactory):
    """The migration creates every step; this finds one (or recreates it once removed)."""

    class Meta:
        model = IdentityStep
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: IdentityMethod.values[n % len(IdentityMethod.values)])
    position = factory.LazyAttribute(lambda s: IdentityMethod.values.index(s.key) + 1)
