"""A worker killed in the middle of an evaluation: the task is delivered again, and the end
state is the one an uninterrupted run leaves.

The evaluation task is queued through the ORM broker and taken by a real `qcluster`. The
evaluator works playbook by playbook, each in its own transaction, in priority order. A
session of the test's holds an uncommitted membership row of the second playbook, so the
worker, once it has committed the first playbook and written the second one's
activations, waits on that row's unique key inside the second transaction. Its whole
process tree is then SIGKILLed: its connection dies, the second transaction rolls back,
and the queued task, never acknowledged, stays in the queue. A new `qcluster` gets it
again once `ABX_Q_RETRY` has passed, and finishes it.
"""

import pytest
from django.db import connection
from django_q import models as q
from django_q.tasks import async_task

from playbooks.choices_execution import MembershipStatus, StepRunStatus
from playbooks.models import (
    Activation,
    CampaignMembership,
    Delivery,
    EvaluationRun,
    PlaybookMembership,
    StepRun,
    Task,
)
from tests.accounts.factories import AccountFactory
from tests.playbooks.execution.factories import CampaignFactory, WebhookEndpointFactory

from .data import TASK_STEP, employees, playbook
from .processes import backends, finished, pg_connect, qcluster, sleep_until, wait_until_gone

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="The kill is staged inside the evaluator's transaction with PostgreSQL locks.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EVALUATE = "playbooks.tasks.evaluation_task"
SWEEP = "playbooks.execution.tasks.step_sweep_task"


def test_an_evaluation_killed_halfway_is_delivered_again_and_ends_as_an_uninterrupted_one():
    # given 12 large and 12 mid-sized accounts (and 6 small ones no playbook wants), a
    # playbook for each size, and an endpoint that hears about every start and task
    large = [AccountFactory(employee_count=5000).pk for _ in range(12)]
    mid = [AccountFactory(employee_count=300).pk for _ in range(12)]
    AccountFactory.create_batch(6, employee_count=20)
    CampaignFactory(name="Mid-market nurture")
    WebhookEndpointFactory(event_types=["activation.started", "task.created"])
    enterprise = playbook(
        "Enterprise", priority=1, conditions=[employees("gte", 1000)], steps=[TASK_STEP]
    )
    midmarket = playbook(
        "Mid-market",
        priority=2,
        conditions=[employees("gte", 100), employees("lt", 1000)],
        steps=[
            {"kind": "enroll_campaign", "config": {"campaign": "Mid-market nurture"}},
            TASK_STEP,
        ],
    )
    task_id = async_task(EVALUATE, sync=False)

    blocker, observer = pg_connect(autocommit=False), pg_connect()
    try:
        # A membership of the second playbook, written and not committed: the evaluator's
        # insert of the same key waits for this transaction to end.
        blocker.execute(
            f"INSERT INTO {PlaybookMembership._meta.db_table} (playbook_id, account_id, since) "  # noqa: S608
            "VALUES (%s, %s, now())",
            [midmarket.pk, mid[0]],
        )
        with qcluster() as first:
            sleep_until(
                lambda: backends(observer, first.name, waiting=True),
                timeout=60,
                message="the worker never reached the second playbook's memberships",
            )
            # the first playbook is committed; the second one's writes are not visible
            assert Activation.objects.filter(playbook=enterprise).count() == 12
            assert not Activation.objects.filter(playbook=midmarket).exists()

            # when the worker's whole process tree dies
            first.crash()
        blocker.rollback()
        wait_until_gone(observer, first.name)

        # then its second transaction rolled back, and the task waits to be delivered again
        assert not Activation.objects.filter(playbook=midmarket).exists()
        assert not PlaybookMembership.objects.filter(playbook=midmarket).exists()
        assert not q.Task.objects.filter(id=task_id).exists()
        assert q.OrmQ.objects.count() == 1

        # when a new worker starts: it gets the task again, then sweeps the steps, and a
        # further evaluation finds nothing left to do
        with qcluster() as second:
            finished(task_id)
            finished(async_task(SWEEP, sync=False))
            again = finished(async_task(EVALUATE, sync=False))
            assert second.alive()
    finally:
        blocker.close()
        observer.close()

    # then the end state is the one an uninterrupted run leaves: every account once in
    # its playbook, every step run once and done, one task each, one enrollment each
    expected = {(enterprise.pk, a) for a in large} | {(midmarket.pk, a) for a in mid}
    opened = list(Activation.objects.values_list("playbook_id", "account_id", "status"))
    assert sorted(opened) == sorted((p, a, "active") for p, a in expected)
    assert set(PlaybookMembership.objects.values_list("playbook_id", "account_id")) == expected
    assert PlaybookMembership.objects.count() == 24
    runs = StepRun.objects.all()
    assert runs.count() == 12 * 1 + 12 * 2
    assert set(runs.values_list("status", flat=True)) == {StepRunStatus.DONE}
    tasks = Task.objects.all()
    assert tasks.count() == 24
    assert sorted(tasks.values_list("account_id", flat=True)) == sorted(large + mid)
    enrolled = CampaignMembership.objects.filter(campaign__name="Mid-market nurture")
    assert sorted(enrolled.values_list("account_id", flat=True)) == sorted(mid)
    assert set(enrolled.values_list("status", flat=True)) == {MembershipStatus.ENROLLED}
    # one outbox row per event: 24 starts, 24 tasks
    assert Delivery.objects.filter(event="activation.started").count() == 24
    assert Delivery.objects.filter(event="task.created").count() == 24
    assert Delivery.objects.values("idempotency_key").distinct().count() == 48

    # and the runs tell what happened: the killed one never finished, the delivered-again
    # one started the second playbook only, the last one started nothing
    killed, recovered, last = EvaluationRun.objects.order_by("started_at")
    assert killed.finished_at is None
    assert (recovered.entered, recovered.errors) == (12, [])
    assert again.result == last.pk
    assert (last.entered, last.exited, last.errors) == (0, 0, [])
    assert not q.OrmQ.objects.exists()
