"""Background tasks of the playbook layer (django-q2)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.selectors import account_set
from metrics.services import scores_recompute
from signals.selectors import accounts_with_signals_received

from .choices import RunOrigin
from .evaluation import evaluation_run
from .tier_rules import tier_rules_run

logger = logging.getLogger(__name__)

# Signals received this long before the periodic recompute's interval may still have
# missed it (a recompute of every account takes up to a minute): counted again.
RECOMPUTE_MARGIN = timedelta(minutes=5)


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
    """The evaluation that follows ingest (`receivers.py`): first the scores of the
    accounts that received signals since the last periodic recompute could have counted
    them (DESIGN §5), so that conditions on scores see what just arrived; then the run."""
    since = timezone.now() - timedelta(minutes=settings.ABX_SCORES_MINUTES) - RECOMPUTE_MARGIN
    touched = account_set().filter(pk__in=accounts_with_signals_received(since=since))
    recomputed = scores_recompute(accounts=touched)
    logger.info("Scores recomputed before evaluation: %s account(s).", recomputed.accounts)
    return evaluation_task(RunOrigin.INGEST)


def backtest_task(backtest_id: int) -> int:
    """Run a queued backtest; its result (or error) is stored on the Backtest row."""
    from .analysis import backtest_run

    return backtest_run(backtest_id=backtest_id).pk
