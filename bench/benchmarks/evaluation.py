"""Playbook evaluation (DESIGN §10): every active playbook over every account, beside one
raw GROUP BY over the signals table measured in the same run.

Each repetition starts from a clean slate (no memberships, activations or step runs), so
it measures the heaviest run there is: every matching account enters, its activation,
evidence and step runs are written. A second run follows at once, in which nothing
changes; its time is in the notes (what a scheduled run costs on a quiet day).
"""

from django.db import connection, transaction

from accounts.models import Account
from playbooks.choices import PlaybookStatus
from playbooks.models import (
    AccountExperience,
    Activation,
    CampaignMembership,
    EvaluationRun,
    Playbook,
    PlaybookMembership,
    StepRun,
    Task,
)
from playbooks.services import evaluation_run

from ..registry import Bar, Context, Result, benchmark, median, timed
from .queries import run_evaluation_baseline

TARGET_SECONDS = 10
BASELINE_FACTOR = 5
# Children before parents: what an evaluation writes, cleared between repetitions.
WRITTEN = [
    Task,
    CampaignMembership,
    AccountExperience,
    StepRun,
    Activation,
    PlaybookMembership,
    EvaluationRun,
]


def _clean_slate() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for model in WRITTEN:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


@benchmark(
    name="evaluate all active playbooks",
    target=f"<= {TARGET_SECONDS} s; evaluation baseline within {BASELINE_FACTOR}x",
)
def evaluate(ctx: Context) -> Result:
    playbooks = Playbook.objects.filter(status=PlaybookStatus.ACTIVE).count()
    run_evaluation_baseline()  # warm the cache as the evaluation's own first read would
    full, quiet, baseline, runs = [], [], [], []
    for _ in range(ctx.repeat):
        _clean_slate()
        baseline.append(timed(run_evaluation_baseline))
        full.append(timed(lambda: runs.append(evaluation_run())))
        quiet.append(timed(evaluation_run))
    seconds, base = median(full), median(baseline)
    ratio = seconds / base
    entered = runs[-1].entered + runs[-1].held_out
    errors = sum(len(run.errors) for run in runs)
    if errors:
        raise RuntimeError(f"The evaluation reported errors: {runs[-1].errors[:3]}")
    return Result(
        median=seconds,
        unit="s",
        samples=full,
        baseline_name="one raw GROUP BY over signals, 30 days",
        baseline=base,
        ratio=ratio,
        ratio_text=f"{ratio:.1f}x the GROUP BY",
        bars=[
            Bar(f"<= {TARGET_SECONDS} s", seconds <= TARGET_SECONDS),
            Bar(f"baseline within {BASELINE_FACTOR}x", ratio <= BASELINE_FACTOR),
        ],
        notes=f"{playbooks} active playbooks over {Account.objects.count():,} accounts; "
        f"{entered:,} activations started per run; the next run, with nothing new: "
        f"{median(quiet):.2f} s",
    )
