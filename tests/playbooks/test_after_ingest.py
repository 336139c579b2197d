"""Evaluation soon after ingest (DESIGN §5, §6): every batch that stored a matched signal
asks for one evaluation a minute later, a burst asks once, and that evaluation first
recomputes the scores of the accounts that just received signals."""

import itertools
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from abx_site.common.scopes import Scope
from metrics import services as metrics_services
from metrics.choices import Aggregate, ComponentSource
from metrics.models import AccountScore, ScoreComponent, ScoreModel
from playbooks import receivers
from playbooks.choices import RunOrigin
from playbooks.models import Activation, EvaluationRun
from playbooks.tasks import evaluation_after_ingest_task
from signals import hooks
from signals.models import Signal
from signals.services import signals_ingest
from tests.accounts.factories import AccountFactory

from .helpers import published

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def item(account, *, value=None, type_key="web.visit", hints=None):
    data = {
        "source": "website",
        "type": type_key,
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "external_id": f"after-ingest-{next(_ids)}",
        "account": hints if account is None else {"id": account.pk},
    }
    if value is not None:
        data["value"] = value
    return data


def waiting():
    return list(Schedule.objects.filter(name=receivers.SCHEDULE_NAME))


@pytest.fixture
def ingest(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")

    def post(items):
        response = api_client.post("/api/v1/signals/", {"signals": items}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return post


def test_a_burst_of_batches_asks_for_one_evaluation_a_minute_later(
    ingest, django_capture_on_commit_callbacks
):
    account = AccountFactory()
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        first = ingest([item(account), item(account)])
    with django_capture_on_commit_callbacks(execute=True):
        second = ingest([item(account)])

    assert (first["matched"], second["matched"]) == (2, 1)
    [schedule] = waiting()
    assert schedule.func == receivers.TASK == "playbooks.tasks.evaluation_after_ingest_task"
    assert schedule.schedule_type == Schedule.ONCE
    assert schedule.repeats == -1  # django-q2 deletes the row once it has queued the task
    assert before + receivers.DEBOUNCE <= schedule.next_run <= timezone.now() + receivers.DEBOUNCE


def test_a_batch_of_only_unmatched_or_rejected_signals_asks_for_nothing(
    ingest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = ingest([item(None, hints={"domain": "nobody-knows.example"}), {"type": "x"}])

    assert (body["accepted"], body["matched"], len(body["rejected"])) == (1, 0, 1)
    assert waiting() == []


def test_a_failing_ingest_hook_is_logged_and_the_batch_still_stands(
    ingest, django_capture_on_commit_callbacks, caplog
):
    account = AccountFactory()

    def broken(*, result):
        raise RuntimeError("the hook broke")

    hooks.register_ingest_hook(broken)
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            body = ingest([item(account)])
    finally:
        hooks.INGEST_HOOKS.remove(broken)

    assert body["matched"] == 1
    assert Signal.objects.filter(account=account).count() == 1
    assert "the hook broke" in caplog.text
    assert len(waiting()) == 1  # the other hooks still ran


def test_the_evaluation_after_ingest_first_rescores_the_accounts_that_received_signals():
    # given: intent scored as the latest surge value (0-100 -> 0-100 points), and a play
    # for accounts with intent >= 70
    ScoreModel.objects.exclude(key="intent").update(is_active=False)
    intent = ScoreModel.objects.get(key="intent")
    intent.components.all().delete()
    ScoreComponent.objects.create(
        model=intent,
        name="surge",
        source=ComponentSource.SIGNALS,
        signal_types=["intent.surge"],
        aggregate=Aggregate.LATEST,
        lower=0,
        upper=100,
        weight=Decimal(1),
    )
    playbook = published(
        "Hot intent",
        triggers=[
            {
                "name": "Surging",
                "conditions": [{"feature": "intent_score", "operator": "gte", "value": 70}],
            }
        ],
    )
    hot, cold, earlier = AccountFactory(), AccountFactory(), AccountFactory()
    # `earlier` received its signal before the periodic recompute's window: that
    # recompute counted it, and the evaluation after ingest leaves its score alone
    # (deleted here, so a recompute of it would show)
    signals_ingest(items=[item(earlier, type_key="intent.surge", value=95)])
    Signal.objects.filter(account=earlier).update(received_at=timezone.now() - timedelta(hours=2))
    metrics_services.scores_recompute(snapshot=False)
    AccountScore.objects.filter(account=earlier).delete()

    # when: surges arrive for two accounts, then the evaluation after ingest runs
    signals_ingest(
        items=[
            item(hot, type_key="intent.surge", value=90),
            item(cold, type_key="intent.surge", value=20),
        ]
    )
    run = EvaluationRun.objects.get(pk=evaluation_after_ingest_task())

    # then: both were rescored before the run, which sent the hot one into the play
    scores = dict(AccountScore.objects.filter(model=intent).values_list("account_id", "score"))
    assert scores == {hot.pk: Decimal("90.00"), cold.pk: Decimal("20.00")}
    assert run.origin == RunOrigin.INGEST
    assert (run.playbooks, run.entered, run.errors) == (1, 1, [])
    assert list(Activation.objects.values_list("playbook_id", "account_id")) == [
        (playbook.pk, hot.pk)
    ]
