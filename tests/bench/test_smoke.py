"""The benchmarks at the tiny size, once each, so that they cannot rot (they are not
timed tests: nothing here checks a speed)."""

import pytest

from accounts.dataset import PRESETS
from bench import report, runner
from bench.registry import BENCHMARKS, Context, percentile
from signals.models import Signal

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_every_benchmark_runs_at_the_tiny_size_and_the_table_shows_it():
    # given
    prepared = runner.prepare(size="tiny", seed=1, log=lambda message: None)
    before = Signal.objects.count()
    ctx = Context(size="tiny", repeat=1, log=lambda message: None)

    # when
    results = {name: runner.run(name, ctx) for name in runner.names()}
    table = report.render(
        runs=[
            {
                "label": "SQLite",
                "environment": runner.environment(),
                "prepare": prepared,
                "results": results,
            }
        ],
        size="tiny",
        repeat=1,
    )

    # then
    assert prepared["counts"]["signals"] == PRESETS["tiny"].signals
    ingest = results["ingest: POST /api/v1/signals/"]["result"]
    assert ingest["median"] > 0 and ingest["baseline"] > 0
    assert [bar["text"] for bar in ingest["bars"]] == [
        ">= 30,000/s",
        "raw within 5x",
        ">= 10x naive",
    ]
    # Every way in stored its signals: the warm-up, ours, the raw load and the naive endpoint.
    assert Signal.objects.count() == before + 50 + 2 * 2 * 300 + 300
    assert Signal.objects.filter(external_id__startswith="bench-", account__isnull=False).exists()
    baseline = results["evaluation baseline: GROUP BY signals, 30 days"]["result"]
    assert baseline["median"] > 0
    evaluation = results["evaluate all active playbooks"]["result"]
    assert evaluation["median"] > 0 and evaluation["baseline"] > 0
    assert [bar["text"] for bar in evaluation["bars"]] == ["<= 10 s", "baseline within 5x"]
    assert f"{PRESETS['tiny'].playbooks} active playbooks" in evaluation["notes"]
    for entry in BENCHMARKS:
        assert entry.name in table
        assert "result" in results[entry.name], results[entry.name]
    assert "| ingest: POST /api/v1/signals/" in table


def test_percentile_is_the_nearest_rank():
    samples = [float(n) for n in range(1, 101)]

    assert percentile(samples, 0.99) == 99.0
    assert percentile(samples, 0.5) == 50.0
    assert percentile([3.0], 0.99) == 3.0
