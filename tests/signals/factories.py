import factory
from django.utils import timezone

from signals.choices import Aggregation, SignalCategory, SourceKind
from signals.models import Signal, SignalType, Source


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
