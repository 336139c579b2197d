"""Queries timed on their own: the baselines that other benchmarks are compared with."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from signals.models import Signal

from ..registry import Context, Result, benchmark, median, timed


def evaluation_baseline_sql() -> tuple[str, list]:
    """DESIGN §10's evaluation baseline: one GROUP BY over the last 30 days of signals."""
    since = timezone.now() - timedelta(days=30)
    table = connection.ops.quote_name(Signal._meta.db_table)
    sql = (
        f"SELECT account_id, COUNT(*), SUM(value) FROM {table} "
        "WHERE occurred_at >= %s GROUP BY account_id"
    )
    return sql, [connection.ops.adapt_datetimefield_value(since)]


def run_evaluation_baseline() -> int:
    sql, params = evaluation_baseline_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return len(cursor.fetchall())


@benchmark(
    name="evaluation baseline: GROUP BY signals, 30 days",
    target="baseline for playbook evaluation (its 5x bar)",
)
def evaluation_baseline(ctx: Context) -> Result:
    run_evaluation_baseline()  # warm the cache: every repetition then reads the same pages
    samples = [timed(run_evaluation_baseline) for _ in range(ctx.repeat)]
    return Result(
        median=median(samples),
        unit="s",
        samples=samples,
        notes=f"{run_evaluation_baseline():,} accounts with signals in the window",
    )
