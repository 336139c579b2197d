"""The database restarting under a running worker: the tasks are retried and complete,
nothing is lost and nothing is done twice, and the worker carries on.

What a PostgreSQL restart does to its clients, reproduced without restarting the shared
server (other processes use it):

1. A restart (`pg_ctl restart`, a fast shutdown) ends every backend with FATAL 57P01
   "terminating connection due to administrator command", which is exactly what
   `pg_terminate_backend` sends to a backend: the client's current statement fails, its
   open transaction is rolled back, its connection is dead.
2. While the server is down and starting up, new connections fail. `ALTER DATABASE ...
   ALLOW_CONNECTIONS false` makes every new connection to the test database fail the same
   way, at connect time, for as long as the test wants, and only for this database.
3. What was committed is still there afterwards, as after a restart.

Only the worker's sessions are cut (it names them, see processes.py); the test keeps
its own to stage and observe, which a real restart would not leave it. Cutting the
sessions without refusing new ones is the shorter outage of a failover behind a pooler,
or of an administrator ending sessions: the worker reconnects at once, so a task that
failed can be recorded as failed straight away, which a longer outage hides.

Staging: a task is held inside its transaction by a lock of the test's on a table it
writes, so that the connections are cut in the middle of its work.
"""

import time

import pytest
from django.db import connection
from django_q import models as q
from django_q.conf import Conf
from django_q.tasks import async_task

from accounts.models import Account
from playbooks.choices_execution import DeliveryStatus, StepRunStatus
from playbooks.models import Activation, Delivery, EvaluationRun, StepRun, Task
from signals.models import AccountSignalDaily, Signal, UnmatchedIdentity
from signals.review import review_assign
from signals.services import signals_ingest
from tests.accounts.factories import AccountFactory
from tests.playbooks.execution.factories import WebhookEndpointFactory
from tests.playbooks.execution.receiver import receiver

from . import data
from .data import TASK_STEP, employees, playbook
from .processes import (
    backends,
    connections_refused,
    finished,
    pg_connect,
    qcluster,
    sleep_until,
)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="A database restart is reproduced with PostgreSQL's own controls.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EVALUATE = "playbooks.tasks.evaluation_task"
STEP_SWEEP = "playbooks.execution.tasks.step_sweep_task"
DELIVERY_SWEEP = "playbooks.execution.tasks.delivery_sweep_task"
OUTAGE_SECONDS = 5


def cut(observer, name: str) -> int:
    """End every session of the process named `name`, as a restart would."""
    return observer.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
        [name],
    ).fetchone()[0]


def held_inside(observer, worker, count: int = 1) -> None:
    sleep_until(
        lambda: len(backends(observer, worker.name, waiting=True)) == count,
        timeout=60,
        message=f"{count} task(s) never got inside their transactions",
    )


def test_tasks_cut_off_by_a_database_restart_are_retried_and_complete_once():
    with receiver() as hook:
        # given 20 accounts one playbook wants, whose steps make a task and call the CRM
        accounts = [AccountFactory(employee_count=5000).pk for _ in range(20)]
        AccountFactory.create_batch(5, employee_count=10)
        WebhookEndpointFactory(name="crm", url=hook.url, event_types=["task.created"])
        plays = playbook(
            "Enterprise",
            conditions=[employees("gte", 1000)],
            steps=[TASK_STEP, {"kind": "webhook", "config": {"endpoint": "crm"}}],
        )

        blocker, observer = pg_connect(autocommit=False), pg_connect()
        try:
            # Both evaluations inside their tasks (the first one held on the step runs, the
            # second behind it on the playbook's row lock), and two sweeps queued behind.
            blocker.execute(f"LOCK TABLE {StepRun._meta.db_table} IN EXCLUSIVE MODE")
            queued = [async_task(name, sync=False) for name in (EVALUATE, EVALUATE)]
            queued += [async_task(name, sync=False) for name in (STEP_SWEEP, DELIVERY_SWEEP)]
            with qcluster(workers=2, retry=6) as worker:
                held_inside(observer, worker, count=2)
                members_before = sorted(worker.members())

                # when the database "restarts": every session of the worker's is ended and
                # no new one is let in for a few seconds
                with connections_refused(connection.settings_dict["NAME"]):
                    sessions = cut(observer, worker.name)
                    blocker.rollback()
                    time.sleep(OUTAGE_SECONDS)

                # then every queued task is retried until it succeeds
                results = [finished(task_id, timeout=120) for task_id in queued]
                # and what the evaluation started is carried out by the next sweeps
                finished(async_task(STEP_SWEEP, sync=False))
                finished(async_task(DELIVERY_SWEEP, sync=False))
                assert worker.alive(), worker.log()
                members_after = sorted(worker.members())
        finally:
            blocker.close()
            observer.close()

    assert sessions >= 2
    # then each account entered once, and each step ran once
    opened = list(Activation.objects.values_list("playbook_id", "account_id"))
    assert sorted(opened) == sorted((plays.pk, a) for a in accounts)
    assert StepRun.objects.count() == 40
    assert set(StepRun.objects.values_list("status", flat=True)) == {StepRunStatus.DONE}
    assert sorted(Task.objects.values_list("account_id", flat=True)) == sorted(accounts)
    # one outbox row per message (20 tasks created, 20 webhook steps), all delivered, and
    # the receiver has each of them, under its own webhook-id
    deliveries = Delivery.objects.all()
    assert deliveries.count() == 40
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    received = {r["headers"]["webhook-id"] for r in hook.received}
    assert received == {f"msg_{pk}" for pk in deliveries.values_list("pk", flat=True)}
    # the evaluations that finished entered the accounts once between them
    runs = EvaluationRun.objects.exclude(finished_at=None)
    assert sum(run.entered for run in runs) == 20
    assert {result.result for result in results[:2]} <= set(runs.values_list("pk", flat=True))
    assert not q.OrmQ.objects.exists()
    attempts = sum(t.attempt_count for t in q.Task.objects.filter(id__in=queued))
    print(
        f"\ndatabase restart: {sessions} sessions cut, connections refused for "
        f"{OUTAGE_SECONDS} s; {len(queued)} queued tasks all succeeded ({attempts} attempts "
        f"recorded); {len(hook.received)} requests for {deliveries.count()} deliveries; the "
        f"worker's processes {members_before} -> {members_after}"
    )


def test_a_one_off_task_cut_off_by_a_lost_connection_is_retried_until_it_completes(
    monkeypatch,
):
    # given 30 signals waiting in the review queue for a domain no account has, and a
    # reviewer's decision that gives the domain to an account: the decision queues the
    # one task that re-resolves them (queued through the broker, not run in the test)
    monkeypatch.setattr(Conf, "SYNC", False)
    batch = [
        {**item, "account": {"domain": "newco-review.com"}}
        for item in data.items(30, prefix="review", domains=["newco-review.com"])
    ]
    assert signals_ingest(items=batch).unmatched == 30
    identity = UnmatchedIdentity.objects.get(value="newco-review.com")
    account = AccountFactory(name="NewCo")

    blocker, observer = pg_connect(autocommit=False), pg_connect()
    try:
        # The re-resolution held inside its transaction, on the rollups it refreshes.
        blocker.execute(f"LOCK TABLE {AccountSignalDaily._meta.db_table} IN EXCLUSIVE MODE")
        review_assign(identity=identity, account=account)
        [queued] = q.OrmQ.objects.all()
        task_id = queued.task_id()
        with qcluster(retry=5) as worker:
            held_inside(observer, worker)
            # when the worker's sessions are cut, and it may reconnect at once
            assert cut(observer, worker.name) >= 1
            blocker.rollback()
            # then the task is retried until it has done its work
            result = finished(task_id)
            assert worker.alive(), worker.log()
    finally:
        blocker.close()
        observer.close()

    assert result.result == 30
    assert Signal.objects.filter(review_key=identity.key, account=account).count() == 30
    expected = data.rollups_by_hand(batch, {"newco-review.com": account.pk})
    assert data.rollups_stored([account.pk]) == expected
    assert data.rollups_recounted([account.pk]) == expected
    assert not Account.objects.filter(name="NewCo").exclude(pk=account.pk).exists()


def test_an_evaluation_cut_off_by_a_lost_connection_is_retried_until_it_completes():
    # given 20 accounts one playbook wants
    accounts = [AccountFactory(employee_count=5000).pk for _ in range(20)]
    plays = playbook("Enterprise", conditions=[employees("gte", 1000)], steps=[TASK_STEP])
    blocker, observer = pg_connect(autocommit=False), pg_connect()
    try:
        blocker.execute(f"LOCK TABLE {StepRun._meta.db_table} IN EXCLUSIVE MODE")
        task_id = async_task(EVALUATE, sync=False)
        with qcluster(retry=5) as worker:
            held_inside(observer, worker)
            # when the worker's sessions are cut, and it may reconnect at once
            assert cut(observer, worker.name) >= 1
            blocker.rollback()
            # then the evaluation is retried until it has done its work
            finished(task_id)
            sleep_until(
                lambda: q.OrmQ.objects.count() == 0,
                timeout=30,
                message="the evaluation stayed in the queue",
            )
    finally:
        blocker.close()
        observer.close()

    opened = Activation.objects.values_list("playbook_id", "account_id")
    assert sorted(opened) == sorted((plays.pk, a) for a in accounts)
