"""`score.band_changed` goes out when a recompute moves a stored score into another band,
in the transaction that stores it, once per account and model."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics import hooks, services
from metrics.choices import Aggregate, ComponentSource
from metrics.models import AccountScore, ScoreBand, ScoreComponent, ScoreModel
from playbooks.choices_execution import WebhookEvent
from playbooks.models import Delivery
from tests.accounts.factories import AccountFactory
from tests.metrics.helpers import send

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def surge():
    """Only one active model: the latest surge value as the score, bands 70 / 40 / 0."""
    ScoreModel.objects.update(is_active=False)
    model = ScoreModel.objects.create(key="surge", name="Surge")
    for name, minimum in (("green", 70), ("yellow", 40), ("red", 0)):
        ScoreBand.objects.create(model=model, name=name, min_score=minimum)
    ScoreComponent.objects.create(
        model=model,
        name="latest",
        source=ComponentSource.SIGNALS,
        signal_types=["intent.surge"],
        aggregate=Aggregate.LATEST,
        lower=0,
        upper=100,
        weight=Decimal(1),
    )
    return model


def surges(*pairs):
    for account, value in pairs:
        send(account, "intent.surge", timezone.now() - timedelta(hours=1), value=value)


def test_a_recompute_announces_each_score_that_moved_into_another_band(surge):
    crm = WebhookEndpointFactory(name="crm", event_types=[WebhookEvent.SCORE_BAND_CHANGED])
    WebhookEndpointFactory(name="chat", event_types=[WebhookEvent.TASK_CREATED])
    rising, steady, new = AccountFactory(), AccountFactory(), AccountFactory()
    surges((rising, 50), (steady, 20))
    first = services.scores_recompute(snapshot=False)
    # a first score has no band to change from: nothing is announced
    assert (first.scores, first.band_changes, Delivery.objects.count()) == (3, 0, 0)

    surges((rising, 90), (steady, 30), (new, 45))
    second = services.scores_recompute(snapshot=False)

    # rising: yellow (50) -> green (90); steady: red (20) -> red (30), same band;
    # new: no score (no band) -> yellow (45)
    at = AccountScore.objects.get(account=rising).computed_at
    assert second.band_changes == 2
    sent = {
        d.idempotency_key: (d.endpoint_id, d.event, d.payload["data"])
        for d in Delivery.objects.all()
    }
    assert sent == {
        f"score-band-{rising.pk}-surge-{at.timestamp():.6f}": (
            crm.pk,
            "score.band_changed",
            {"account": rising.pk, "model": "surge", "old": "yellow", "new": "green",
             "score": "90.00"},
        ),
        f"score-band-{new.pk}-surge-{at.timestamp():.6f}": (
            crm.pk,
            "score.band_changed",
            {"account": new.pk, "model": "surge", "old": "", "new": "yellow", "score": "45.00"},
        ),
    }  # fmt: skip

    # a recompute with nothing new announces nothing more
    assert services.scores_recompute(snapshot=False).band_changes == 0
    assert Delivery.objects.count() == 2


def test_a_band_change_is_announced_with_its_score_or_not_at_all(surge):
    WebhookEndpointFactory(event_types=[WebhookEvent.SCORE_BAND_CHANGED])
    account = AccountFactory()
    surges((account, 10))
    services.scores_recompute(snapshot=False)
    surges((account, 75))

    def failing(changes):
        raise RuntimeError("the outbox is full")

    hooks.register_band_change_hook(failing)
    try:
        with pytest.raises(RuntimeError):
            services.scores_recompute(snapshot=False)
    finally:
        hooks.BAND_CHANGE_HOOKS.remove(failing)
    # the chunk rolled back: the score kept its old band and no message is queued
    assert AccountScore.objects.get(account=account).band == "red"
    assert Delivery.objects.count() == 0

    services.scores_recompute(snapshot=False)

    assert AccountScore.objects.get(account=account).band == "green"
    assert list(Delivery.objects.values_list("payload__data__new", flat=True)) == ["green"]
