"""A bounded load on real processes: ingest, scoreboards and evaluations at once.

A web server (gunicorn, two workers, production settings) takes client threads that
POST signal batches and others that GET account scoreboards, while a `qcluster` runs the
evaluation over and over (queued every couple of seconds through the ORM broker: the
periodic schedule's shortest interval is a minute). Nothing may fail, every acknowledged
signal must be stored, and the rollups must add up. The figures are printed (`pytest -s`)
and never asserted on beyond sanity bounds: this machine's speed is not the product's.
"""

import random
import statistics
import threading
import time

import pytest
from django.db import connection
from django.db.models import Count
from django_q import models as q
from django_q.tasks import async_task

from abx_site.common.models import ApiKey
from playbooks.models import Activation, EvaluationRun, StepRun
from signals.models import Signal

from . import data
from .processes import qcluster, sleep_until, web_server

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ACCOUNTS = 200
SENDERS, BATCHES, BATCH = 2, 10, 1000  # 20,000 signals
READERS, READS = 2, 100  # each, during the ingest and after it
EVALUATE_EVERY = 2.0  # seconds
DEADLINE = 120.0  # a sanity bound on the whole load, far above what it takes


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def test_ingest_scoreboards_and_evaluations_under_load_lose_nothing():
    # given accounts with domains, three playbooks that follow the signals and the size,
    # and keys for the integrations
    domains = data.accounts_with_domains(ACCOUNTS, prefix="load")
    accounts = list(domains.values())
    signal_count = {"feature": "signal_count", "operator": "gte"}
    data.playbook(
        "Visitors",
        conditions=[
            {**signal_count, "value": 40, "params": {"signal_types": ["web.visit"], "days": 7}}
        ],
        steps=[data.TASK_STEP],
    )
    data.playbook(
        "Clickers",
        conditions=[
            {**signal_count, "value": 40, "params": {"signal_types": ["email.click"], "days": 7}}
        ],
        steps=[data.TASK_STEP],
    )
    data.playbook("Mid-sized", conditions=[data.employees("gte", 100)], steps=[data.TASK_STEP])
    _, ingest_key = ApiKey.objects.create_key(name="load-ingest", scopes=["signals:write"])
    _, read_key = ApiKey.objects.create_key(name="load-read", scopes=["scoreboards:read"])
    batches = [
        data.items(BATCH, prefix="load", domains=list(domains), start=(s * BATCHES + b) * BATCH)
        for s in range(SENDERS)
        for b in range(BATCHES)
    ]

    failures, answers, ingest_ms, read_codes = [], [], [], []
    read_ms = {True: [], False: []}  # during the ingest, after it
    evaluations: list[str] = []
    sending = threading.Event()
    sending.set()
    done = threading.Event()  # every client is done

    def sender(server, mine):
        try:
            for batch in mine:
                started = time.monotonic()
                status, answer = server.request(
                    "POST", "/api/v1/signals/", body={"signals": batch}, key=ingest_key
                )
                ingest_ms.append((time.monotonic() - started) * 1000)
                answers.append((status, answer))
        except Exception as exc:  # reported by the test below
            failures.append(("ingest", exc))

    def reader(server, seed):
        picks = random.Random(seed)
        try:
            for _ in range(READS):
                path = f"/api/v1/accounts/{picks.choice(accounts)}/scoreboard/"
                during, started = sending.is_set(), time.monotonic()
                status, answer = server.request("GET", path, key=read_key)
                read_ms[during and sending.is_set()].append((time.monotonic() - started) * 1000)
                read_codes.append(status)
                if status != 200:
                    failures.append(("scoreboard", status, answer))
        except Exception as exc:  # reported by the test below
            failures.append(("scoreboard", exc))

    def evaluator():
        evaluations.append(async_task("playbooks.tasks.evaluation_task", sync=False))
        while not done.wait(EVALUATE_EVERY):
            evaluations.append(async_task("playbooks.tasks.evaluation_task", sync=False))

    # when the load runs against a real web server and worker
    with web_server(workers=2) as server, qcluster(retry=120) as worker:
        threads = [
            threading.Thread(target=sender, args=(server, batches[s::SENDERS]))
            for s in range(SENDERS)
        ]
        threads += [threading.Thread(target=reader, args=(server, r)) for r in range(READERS)]
        pacer = threading.Thread(target=evaluator)
        started = time.monotonic()
        pacer.start()
        for thread in threads:
            thread.start()
        for thread in threads[:SENDERS]:
            thread.join(timeout=DEADLINE)
        ingest_seconds = time.monotonic() - started
        sending.clear()
        for thread in threads:
            thread.join(timeout=DEADLINE)
        load_seconds = time.monotonic() - started
        done.set()
        pacer.join(timeout=DEADLINE)
        # the last evaluation sees every signal
        evaluations.append(async_task("playbooks.tasks.evaluation_task", sync=False))
        sleep_until(
            lambda: q.Task.objects.filter(id__in=evaluations).count() == len(evaluations),
            timeout=DEADLINE,
            message="the worker did not finish the queued evaluations",
        )
        assert worker.alive() and server.alive()

    # then nothing failed, and every answer was a 200
    assert failures == []
    assert load_seconds < DEADLINE
    assert [status for status, _ in answers] == [200] * SENDERS * BATCHES
    assert read_codes == [200] * READERS * READS
    # every acknowledged signal is stored, once
    accepted = sum(answer["accepted"] for _, answer in answers)
    assert accepted == SENDERS * BATCHES * BATCH
    assert sum(answer["duplicates"] + len(answer["rejected"]) for _, answer in answers) == 0
    assert Signal.objects.filter(external_id__startswith="load-").count() == accepted
    # the rollups hold what the items add up to, and what the signals table recounts
    expected = data.rollups_by_hand([item for batch in batches for item in batch], domains)
    assert data.rollups_stored(accounts) == expected
    assert data.rollups_recounted(accounts) == expected
    # every evaluation succeeded, and between them they opened each activation once
    results = q.Task.objects.filter(id__in=evaluations)
    assert all(task.success for task in results), [t.result for t in results if not t.success]
    runs = EvaluationRun.objects.exclude(finished_at=None)
    assert runs.count() >= len(evaluations)
    assert all(run.errors == [] for run in runs)
    pairs = Activation.objects.values("playbook_id", "account_id")
    assert not pairs.annotate(n=Count("id")).filter(n__gt=1).exists()
    # (every account has 50 visits and 50 clicks by the end: all three playbooks want it)
    assert Activation.objects.filter(status="active").count() == 3 * ACCOUNTS
    assert sum(run.entered for run in runs) == 3 * ACCOUNTS
    assert StepRun.objects.count() == 3 * ACCOUNTS

    during, after = percentiles(read_ms[True]), percentiles(read_ms[False])
    batch_ms = percentiles(ingest_ms)
    print(
        f"\nload ({connection.vendor}): {accepted} signals in {SENDERS * BATCHES} batches of "
        f"{BATCH} from {SENDERS} clients in {ingest_seconds:.1f} s = "
        f"{accepted / ingest_seconds:,.0f} signals/s (batch p50 {batch_ms['p50']:.0f} ms, p95 "
        f"{batch_ms['p95']:.0f} ms); {len(read_codes)} scoreboard reads from {READERS} "
        f"clients: {len(read_ms[True])} during the ingest p50/p95/p99 {during['p50']:.0f}/"
        f"{during['p95']:.0f}/{during['p99']:.0f} ms, {len(read_ms[False])} after it "
        f"{after['p50']:.0f}/{after['p95']:.0f}/{after['p99']:.0f} ms; {runs.count()} "
        f"evaluation runs completed in {load_seconds:.1f} s of load, "
        f"{Activation.objects.count()} activations opened; 0 errors, 0 lost"
    )
