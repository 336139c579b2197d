"""Background tasks of the playbook layer (django-q2)."""

import logging

from .choices import RunOrigin
from .evaluation import evaluation_run
from .tier_rules import tier_rules_run

logger = logging.getLogger(__name__)


def evaluation_task(origin: str = RunOrigin.SCHEDULE) -> int:
    """Apply the tier rules, then evaluate every active playbook; returns the EvaluationRun
    id. Tiers come first so that plays limited to tiers, and conditions on the tier, see
    this run's tiers; a failure of the tier rules is logged and the evaluation still runs."""
    tier_rules_run()
    run = evaluation_run(origin=origin)
    logger.info(
        "Evaluation %s: %s playbook(s), %s entered, %s exited, %s skipped, %s error(s).",
        run.pk,
        run.playbooks,
        run.entered,
        run.exited,
        run.skipped,
        len(run.errors),
    )
    return run.pk


def evaluation_after_ingest_task() -> int:
    return evaluation_task(RunOrigin.INGEST)


def backtest_task(backtest_id: int) -> int:
    """Run a queued backtest; its result (or error) is stored on the Backtest row."""
    from .analysis import backtest_run

    return backtest_run(backtest_id=backtest_id).pk
