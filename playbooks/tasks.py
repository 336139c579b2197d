"""Background tasks of the playbook layer (django-q2)."""

import logging

from .choices import RunOrigin
from .evaluation import evaluation_run

logger = logging.getLogger(__name__)


def evaluation_task(origin: str = RunOrigin.SCHEDULE) -> int:
    """Evaluate every active playbook; returns the EvaluationRun id."""
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
