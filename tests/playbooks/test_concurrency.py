"""Two evaluators at once, with real concurrency on PostgreSQL, open nothing twice."""

import threading

import pytest
from django.db import IntegrityError, connection, connections
from django.utils import timezone

from accounts.models import Account
from playbooks import services
from playbooks.models import Activation, EvaluationRun, Playbook
from tests.accounts.factories import AccountFactory

from .helpers import published

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def in_threads(*calls):
    """Run each call in its own thread and connection (committing for real), released
    together; returns results and failures in call order."""
    start = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(position, call):
        try:
            start.wait()
            outcomes[position] = call()
        except Exception as exc:  # returned to the test, which decides
            outcomes[position] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def committed(call):
    [result] = in_threads(call)
    if isinstance(result, Exception):
        raise result
    return result


@pytest.fixture
def postgres_only():
    # Evaluators commit in their own connections; the test's transaction reads what they
    # committed (READ COMMITTED) and everything is removed at the end. A transactional
    # test would flush the teams and signal types the migrations seed.
    if connection.vendor != "postgresql":
        pytest.skip("Real concurrent evaluators need PostgreSQL; SQLite serialises writers.")


def test_two_evaluators_at_once_create_no_duplicate_activation(postgres_only):
    # given 60 matching accounts and two playbooks, committed
    ids = committed(lambda: [AccountFactory(employee_count=500).pk for _ in range(60)])
    playbooks = committed(
        lambda: [published("Concurrent A").pk, published("Concurrent B", holdout_percent=30).pk]
    )
    try:
        # when two evaluations run at the same moment
        runs = in_threads(services.evaluation_run, services.evaluation_run)

        # then both finished, and each account has one open activation per playbook
        assert all(isinstance(run, EvaluationRun) for run in runs), runs
        assert sum(run.entered + run.held_out for run in runs) == 120
        opened = Activation.objects.filter(
            playbook_id__in=playbooks, status__in=["active", "holdout"]
        )
        assert opened.count() == 120
        assert opened.values("playbook_id", "account_id").distinct().count() == 120
    finally:
        committed(lambda: Playbook.objects.filter(pk__in=playbooks).delete())
        committed(lambda: Account.objects.filter(pk__in=ids).delete())
        committed(lambda: EvaluationRun.objects.all().delete())


def test_the_database_refuses_a_second_open_activation_from_a_racing_writer(postgres_only):
    [account_id] = committed(lambda: [AccountFactory().pk])
    playbook = committed(lambda: published("Racing"))
    version = playbook.versions.get()

    def insert():
        return Activation.objects.create(
            playbook=playbook,
            version=version,
            account_id=account_id,
            status="active",
            started_at=timezone.now(),
        ).pk

    try:
        outcomes = in_threads(insert, insert)
        assert sum(isinstance(o, int) for o in outcomes) == 1
        assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1
    finally:
        committed(lambda: Playbook.objects.filter(pk=playbook.pk).delete())
        committed(lambda: Account.objects.filter(pk=account_id).delete())


def test_a_playbook_held_past_the_lock_timeout_is_that_playbooks_error(postgres_only):
    # given two playbooks over 5 accounts, committed, and another session holding the
    # first playbook's row (an evaluator stuck on it)
    ids = committed(lambda: [AccountFactory(employee_count=500).pk for _ in range(5)])
    held, free = committed(lambda: [published("Held"), published("Free")])

    def evaluate_with_a_short_lock_timeout():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        return services.evaluation_run()

    other = connection.copy()
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            table = Playbook._meta.db_table
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [held.pk])  # noqa: S608
        # when the evaluation runs
        run = committed(evaluate_with_a_short_lock_timeout)
        other.rollback()

        # then the held playbook is recorded as failed (55P03 is not a lost connection,
        # which would fail the whole run) and the other one did its work
        assert [e["playbook"] for e in run.errors] == [held.pk]
        assert "lock timeout" in run.errors[0]["error"]
        assert (run.playbooks, run.entered) == (2, 5)
        assert set(Activation.objects.values_list("playbook_id", flat=True)) == {free.pk}
    finally:
        other.close()
        committed(lambda: Playbook.objects.filter(pk__in=[held.pk, free.pk]).delete())
        committed(lambda: Account.objects.filter(pk__in=ids).delete())
        committed(lambda: EvaluationRun.objects.all().delete())
