"""A worker killed in the middle of a step: the step runs again, its effect happens once.

On PostgreSQL, a real process claims a `create_task` step and is killed with SIGKILL after
it has created the task but before its transaction commits (it is held on a lock of the
outbox table, where the `task.created` event goes). Its connection dies with it; the next
sweep runs the step again, and there is one task and one event.
"""

import os
import signal
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from accounts.models import Account
from playbooks.choices_execution import StepRunStatus
from playbooks.execution import runner
from playbooks.models import Delivery, Playbook, StepRun, Task, WebhookEndpoint
from tests.playbooks.test_concurrency import committed
from tests.worker import ROOT, database_url, wait_for

from .factories import WebhookEndpointFactory, started

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SCRIPT = "from playbooks.execution import runner; runner.step_run_execute(step_run_id={pk})"


def waiting_backends(conn) -> list[int]:
    # The blocker's transaction stays open (it holds the lock), and PostgreSQL keeps one
    # snapshot of pg_stat_activity per transaction: drop it so each poll sees anew.
    conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).fetchall()
    return [pid for (pid,) in rows]


def test_a_step_killed_halfway_runs_again_without_a_second_task():
    if connection.vendor != "postgresql":
        pytest.skip("Killing a worker inside its transaction is staged with PostgreSQL locks.")

    def setup():
        WebhookEndpointFactory(event_types=["task.created"])
        activation = started(("create_task", {"role": "ae", "title": "Call"}))
        return activation.pk, activation.account_id

    activation_id, account_id = committed(setup)
    run_id = StepRun.objects.get(activation_id=activation_id).pk
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "abx_site.settings.base",
        "DJANGO_DEBUG": "true",
    }
    blocker = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
    worker = None
    try:
        # given: the outbox locked, so the worker stops after creating the task
        blocker.execute("LOCK TABLE playbooks_delivery IN EXCLUSIVE MODE")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", SCRIPT.format(pk=run_id)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pids = wait_for(lambda: waiting_backends(blocker), timeout=60)
        assert pids, "the worker never reached the outbox"
        # when: the worker dies, and its connection with it
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        for pid in pids:
            blocker.execute("SELECT pg_terminate_backend(%s)", [pid])
        blocker.rollback()
        assert StepRun.objects.get(pk=run_id).status == StepRunStatus.PENDING
        assert not Task.objects.filter(activation_id=activation_id).exists()

        # then: the next sweep runs the step, once
        assert committed(runner.step_sweep) == {"done": 1}
        assert committed(runner.step_sweep) == {}
        assert Task.objects.filter(activation_id=activation_id).count() == 1
        assert Delivery.objects.filter(event="task.created").count() == 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        blocker.close()
        committed(lambda: Playbook.objects.filter(activations=activation_id).delete())
        committed(lambda: Account.objects.filter(pk=account_id).delete())
        committed(lambda: WebhookEndpoint.objects.all().delete())
