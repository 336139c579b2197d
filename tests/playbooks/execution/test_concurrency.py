"""Two sweepers at once, with real concurrency on PostgreSQL, run no step twice."""

import pytest
from django.db import connection

from accounts.models import Account
from playbooks.choices_execution import StepRunStatus
from playbooks.execution import runner
from playbooks.models import Delivery, Playbook, StepRun, Task, WebhookEndpoint
from tests.accounts.factories import AccountFactory
from tests.playbooks.test_concurrency import committed, in_threads

from .factories import WebhookEndpointFactory, started

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_two_sweepers_at_once_run_each_step_once():
    if connection.vendor != "postgresql":
        pytest.skip("Real concurrent sweepers need PostgreSQL; SQLite serialises writers.")
    # given 40 activations with a task and a webhook step each, committed
    steps = [("create_task", {"role": "ae", "title": "Call"}), ("webhook", {"endpoint": "crm"})]

    def setup():
        WebhookEndpointFactory(name="crm", event_types=["playbook.step"])
        return [started(*steps, account=AccountFactory()).pk for _ in range(40)]

    activations = committed(setup)
    accounts = committed(
        lambda: list(
            Account.objects.filter(activations__in=activations).values_list("pk", flat=True)
        )
    )
    try:
        # when two sweepers run at the same moment
        outcomes = in_threads(runner.step_sweep, runner.step_sweep)
        # then every step ran exactly once, between them
        assert all(isinstance(o, dict) for o in outcomes), outcomes
        assert sum(o.get("done", 0) for o in outcomes) == 80
        runs = StepRun.objects.filter(activation_id__in=activations)
        assert set(runs.values_list("status", flat=True)) == {StepRunStatus.DONE}
        assert Task.objects.filter(activation_id__in=activations).count() == 40
        assert Delivery.objects.filter(event="playbook.step").count() == 40
    finally:
        committed(lambda: Playbook.objects.filter(activations__in=activations).delete())
        committed(lambda: Account.objects.filter(pk__in=accounts).delete())
        committed(lambda: WebhookEndpoint.objects.all().delete())
