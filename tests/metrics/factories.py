import factory
from django.utils import timezone

from accounts.choices import Stage
from metrics.models import AccountScore, AccountSnapshot, ScoreModel
from tests.accounts.factories import AccountFactory, TierFactory


class ScoreModelFactory(factory.django.DjangoModelFactory):
    """A model without components (the migration creates fit, intent, engagement and
    health; use those when scores must be computed)."""

    class Meta:
        model = ScoreModel
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"custom-{n}")
    name = factory.LazyAttribute(lambda m: m.key.title())


class AccountScoreFactory(factory.django.DjangoModelFactory):
    """A stored score as the scoring task writes it (use `scores_recompute` when the
    figure matters)."""

    class Meta:
        model = AccountScore

    account = factory.SubFactory(AccountFactory)
    model = factory.SubFactory(ScoreModelFactory)
    score = 50
    band = "yellow"
    breakdown = factory.LazyFunction(
        lambda: {
            "components": [
                {"component": "Size", "raw": 250, "points": 50, "weight": 1, "contribution": 50}
            ]
        }
    )
    computed_at = factory.LazyFunction(timezone.now)


class AccountSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountSnapshot

    account = factory.SubFactory(AccountFactory)
    day = factory.LazyFunction(timezone.localdate)
    scores = factory.LazyFunction(lambda: {"health": 50.0})
    bands = factory.LazyFunction(lambda: {"health": "yellow"})
    stage = Stage.CUSTOMER
    tier = factory.SubFactory(TierFactory)
