import factory
from django.utils import timezone

from signals.choices import Aggregation, IdentityKind, SignalCategory, SourceKind
from signals.models import (
    AccountSignalDaily,
    Signal,
    SignalType,
    Source,
    UnmatchedIdentity,
    WebhookReceipt,
)
from tests.accounts.factories import AccountFactory


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"source-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.title())
    kind = SourceKind.WEBSITE


class SignalTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignalType
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"custom.event{n}")
    name = factory.LazyAttribute(lambda t: t.key)
    category = SignalCategory.WEB
    aggregation = Aggregation.COUNTER


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signal

    source = factory.SubFactory(SourceFactory, slug="website")
    type = factory.SubFactory(SignalTypeFactory, key="web.visit")
    occurred_at = factory.LazyFunction(timezone.now)
    external_id = factory.Sequence(lambda n: f"evt-{n}")


class AccountSignalDailyFactory(factory.django.DjangoModelFactory):
    """A rollup row as ingestion writes it (use ingestion when the figures matter)."""

    class Meta:
        model = AccountSignalDaily

    account = factory.SubFactory(AccountFactory)
    type = factory.SubFactory(SignalTypeFactory, key="web.visit")
    day = factory.LazyFunction(timezone.localdate)
    count = 1


class WebhookReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookReceipt

    source = factory.SubFactory(SourceFactory)
    webhook_id = factory.Sequence(lambda n: f"msg_{n}")
    items = 1


class UnmatchedIdentityFactory(factory.django.DjangoModelFactory):
    """An open review-queue entry for a domain no account has."""

    class Meta:
        model = UnmatchedIdentity

    kind = IdentityKind.DOMAIN
    value = factory.Sequence(lambda n: f"unknown{n}.com")
    key = factory.LazyAttribute(lambda i: f"{i.kind}:{i.value}")
    label = factory.LazyAttribute(lambda i: i.value)
    signal_count = 1
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)
